package io.nflb.plan;

import io.nflb.model.Backend;

/** A backend as the kernel will see it; {@code weight} is reduced by the service's gcd. */
public record BackendPlan(Backend backend, int weight) {
}
