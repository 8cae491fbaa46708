package io.nflb.model;

import java.util.List;

/** A whole, validated nflb.yaml. */
public record Config(BackendKind backend, List<Service> services) {

    public Config {
        if (backend == null) throw new IllegalArgumentException("backend is null");
        services = List.copyOf(services);
    }
}
