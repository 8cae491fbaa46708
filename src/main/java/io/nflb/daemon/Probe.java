package io.nflb.daemon;

import io.nflb.model.Backend;
import io.nflb.model.HealthCheck;
import io.nflb.model.IpAddress;

/**
 * One health check the daemon runs: an address, a port and how to check them. Backends of many services that
 * share all three share one probe, and its result counts for each of them. Rise and fall are not part of it:
 * each backend counts them itself ({@link BackendState}).
 */
public record Probe(IpAddress address, int port, HealthCheck check) {

    public Probe {
        // Rise and fall decide what a result means to a backend, not how the probe runs.
        check = new HealthCheck(check.type(), check.interval(), check.timeout(), 1, 1, check.method(), check.path(),
                check.expectStatus(), check.body(), check.host(), check.command());
    }

    public static Probe of(Backend backend, HealthCheck check) {
        return new Probe(backend.address(), backend.port(), check);
    }

    /** "ADDRESS:PORT", v6 in brackets, as backends are named everywhere else. */
    public String endpoint() {
        return (address.family() == IpAddress.Family.V6 ? "[" + address + "]" : address.toString()) + ":" + port;
    }

    @Override
    public String toString() {
        return check.type().keyword() + " " + endpoint();
    }
}
