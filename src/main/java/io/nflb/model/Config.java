package io.nflb.model;

import java.util.List;
import java.util.Optional;

/** A whole, validated nflb.yaml. {@code ha}: this router's part in a pair of routers, when it has one. */
public record Config(BackendKind backend, List<Service> services, Optional<Firewall> firewall, Optional<Ha> ha) {

    public Config {
        if (backend == null) throw new IllegalArgumentException("backend is null");
        services = List.copyOf(services);
        firewall = firewall == null ? Optional.empty() : firewall;
        ha = ha == null ? Optional.empty() : ha;
    }

    /** A config of a single router. */
    public Config(BackendKind backend, List<Service> services, Optional<Firewall> firewall) {
        this(backend, services, firewall, Optional.empty());
    }

    /** A config without a firewall: section, where nflb filters nothing but what its services need. */
    public Config(BackendKind backend, List<Service> services) {
        this(backend, services, Optional.empty());
    }

    /** Whether services are translated without state on every router of an ECMP group. */
    public boolean stateless() {
        return ha.filter(h -> h.mode() == Ha.Mode.ECMP).isPresent();
    }
}
