package io.nflb.model;

import java.util.List;
import java.util.Optional;

/** A whole, validated nflb.yaml. */
public record Config(BackendKind backend, List<Service> services, Optional<Firewall> firewall) {

    public Config {
        if (backend == null) throw new IllegalArgumentException("backend is null");
        services = List.copyOf(services);
        firewall = firewall == null ? Optional.empty() : firewall;
    }

    /** A config without a firewall: section, where nflb filters nothing but what its services need. */
    public Config(BackendKind backend, List<Service> services) {
        this(backend, services, Optional.empty());
    }
}
