package io.nflb.model;

import java.util.Optional;

/**
 * Something a rule language would refuse in a config that is otherwise valid (two names that would become
 * one chain): said by the dataplane, placed by the config loader at the service ({@code service}) or backend
 * ({@code endpoint} of that service) it names, so validate reports it at FILE:LINE:COL like any other mistake.
 */
public record Refusal(Optional<String> service, Optional<String> endpoint, String message) {

    public Refusal {
        service = service == null ? Optional.empty() : service;
        endpoint = endpoint == null ? Optional.empty() : endpoint;
        if (endpoint.isPresent() && service.isEmpty()) throw new IllegalArgumentException("a backend belongs to a service");
    }

    public static Refusal ofService(String service, String message) {
        return new Refusal(Optional.of(service), Optional.empty(), message);
    }

    public static Refusal ofBackend(String service, String endpoint, String message) {
        return new Refusal(Optional.of(service), Optional.of(endpoint), message);
    }
}
