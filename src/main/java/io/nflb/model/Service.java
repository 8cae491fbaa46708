package io.nflb.model;

import java.util.List;

/** One balanced service: what it listens on and the backends that share its new connections. */
public record Service(String name, Protocol protocol, Listen listen, Scheduler scheduler, Snat snat,
                      List<Backend> backends) {

    public Service {
        Names.requireService(name);
        if (protocol == null || listen == null || scheduler == null || snat == null) {
            throw new IllegalArgumentException("service " + name + " is incomplete");
        }
        backends = List.copyOf(backends);
        if (backends.isEmpty()) throw new IllegalArgumentException("service " + name + " has no backends");
    }
}
