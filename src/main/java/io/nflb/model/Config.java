package io.nflb.model;

import java.util.List;
import java.util.Optional;

/**
 * A whole, validated nflb.yaml. {@code daemon}: how {@code nflb run} paces itself. {@code ha}: this router's part
 * in a pair of routers, when it has one. {@code fastpath}: established connections through a flowtable.
 */
public record Config(BackendKind backend, List<Service> services, Optional<Firewall> firewall, DaemonSettings daemon,
                     Optional<Ha> ha, boolean fastpath) {

    public Config {
        if (backend == null) throw new IllegalArgumentException("backend is null");
        services = List.copyOf(services);
        firewall = firewall == null ? Optional.empty() : firewall;
        daemon = daemon == null ? DaemonSettings.DEFAULTS : daemon;
        ha = ha == null ? Optional.empty() : ha;
    }

    /** A config without the fast path. */
    public Config(BackendKind backend, List<Service> services, Optional<Firewall> firewall, DaemonSettings daemon,
                  Optional<Ha> ha) {
        this(backend, services, firewall, daemon, ha, false);
    }

    /** A single router's config. */
    public Config(BackendKind backend, List<Service> services, Optional<Firewall> firewall, DaemonSettings daemon) {
        this(backend, services, firewall, daemon, Optional.empty());
    }

    /** A config with the daemon's default pacing. */
    public Config(BackendKind backend, List<Service> services, Optional<Firewall> firewall) {
        this(backend, services, firewall, DaemonSettings.DEFAULTS);
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
