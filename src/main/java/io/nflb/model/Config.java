package io.nflb.model;

import java.util.List;
import java.util.Optional;

/** A whole, validated nflb.yaml. {@code daemon}: how {@code nflb run} paces itself. */
public record Config(BackendKind backend, List<Service> services, Optional<Firewall> firewall, DaemonSettings daemon,
                     boolean fastpath) {

    public Config {
        if (backend == null) throw new IllegalArgumentException("backend is null");
        services = List.copyOf(services);
        firewall = firewall == null ? Optional.empty() : firewall;
        daemon = daemon == null ? DaemonSettings.DEFAULTS : daemon;
    }

    /** A config without the fast path. */
    public Config(BackendKind backend, List<Service> services, Optional<Firewall> firewall, DaemonSettings daemon) {
        this(backend, services, firewall, daemon, false);
    }

    /** A config with the daemon's default pacing. */
    public Config(BackendKind backend, List<Service> services, Optional<Firewall> firewall) {
        this(backend, services, firewall, DaemonSettings.DEFAULTS);
    }

    /** A config without a firewall: section, where nflb filters nothing but what its services need. */
    public Config(BackendKind backend, List<Service> services) {
        this(backend, services, Optional.empty());
    }
}
