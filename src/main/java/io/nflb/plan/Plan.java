package io.nflb.plan;

import java.util.List;

/** What must exist in the kernel for a whole config. */
public record Plan(List<ServicePlan> services) {

    public Plan {
        services = List.copyOf(services);
    }

    /** Whether any service's traffic is routed on to another host, which needs ip_forward. */
    public boolean needsForwarding() {
        return !services.isEmpty();
    }
}
