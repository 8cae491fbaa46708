package io.nflb.dataplane;

import io.nflb.model.Backend;
import io.nflb.model.IpAddress;
import io.nflb.model.Protocol;

import java.util.List;

/**
 * A router's hold (keepalived issue 2254): while it is not a primary that has committed the peer's
 * connection state, packets of the services' flows are dropped before conntrack sees them, so that no entry
 * is made that would shadow a committed one; TCP retransmits, so a flow only waits. Its own rules, apart
 * from the services': installing or removing it never touches them.
 */
public interface HaHold {

    /**
     * What is held: packets to the service addresses, and the backends' replies forwarded through this router
     * (a reply to the router itself, a health check's, passes).
     */
    record Spec(List<IpAddress> serviceAddresses, List<Endpoint> backends) {
        public Spec {
            serviceAddresses = List.copyOf(serviceAddresses);
            backends = List.copyOf(backends);
        }
    }

    record Endpoint(Protocol protocol, Backend backend) {
    }

    /** Installs (or replaces) the hold; one transaction. */
    void hold(Spec spec);

    /** Removes the hold; a no-op without one. */
    void release();

    /** Whether the hold is installed. */
    boolean held();
}
