package io.nflb.plan;

import io.nflb.model.Service;

import java.util.List;

/** Everything the kernel must do for one service, in backend-neutral terms. */
public record ServicePlan(Service service, List<BackendPlan> backends, Selection selection) {

    public ServicePlan {
        backends = List.copyOf(backends);
    }

    public String name() {
        return service.name();
    }
}
