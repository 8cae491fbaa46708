package io.nflb.plan;

import io.nflb.model.Service;

import java.util.List;

/**
 * Everything the kernel must do for one service, in backend-neutral terms. {@code backends} empty: none of
 * the service's backends is usable now (the daemon's health checks); the kernel must refuse its new connections.
 */
public record ServicePlan(Service service, List<BackendPlan> backends, Selection selection) {

    public ServicePlan {
        backends = List.copyOf(backends);
    }

    /** The plan for a service whose backends are all down: new connections are refused at once. */
    public static ServicePlan rejecting(Service service) {
        return new ServicePlan(service, List.of(), new Selection.Cycle(List.of()));
    }

    /** Whether new connections are refused because no backend is usable. */
    public boolean rejects() {
        return backends.isEmpty();
    }

    public String name() {
        return service.name();
    }

    /** The maglev table's {@link MaglevTable#digest}, or empty for the other schedulers. */
    public java.util.Optional<String> maglevDigest() {
        if (!(selection instanceof Selection.Maglev m)) return java.util.Optional.empty();
        return java.util.Optional.of(MaglevTable.digest(m.table().stream().map(i -> backends.get(i).backend().endpoint()).toList()));
    }
}
