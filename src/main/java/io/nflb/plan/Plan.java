package io.nflb.plan;

import io.nflb.model.Firewall;

import java.util.List;
import java.util.Optional;

/** What must exist in the kernel for a whole config; {@code firewall} is empty when the config has none. */
public record Plan(List<ServicePlan> services, Optional<Firewall> firewall) {

    public Plan {
        services = List.copyOf(services);
        firewall = firewall == null ? Optional.empty() : firewall;
    }

    public Plan(List<ServicePlan> services) {
        this(services, Optional.empty());
    }

    /** Whether any service's traffic is routed on to another host, which needs ip_forward. */
    public boolean needsForwarding() {
        return !services.isEmpty();
    }
}
