package io.nflb.plan;

import io.nflb.model.Backend;
import io.nflb.model.Config;
import io.nflb.model.Firewall;
import io.nflb.model.HealthCheck;
import io.nflb.model.Service;

import java.util.List;
import java.util.Optional;

/**
 * What must exist in the kernel for a whole config; {@code firewall} is empty when the config has none.
 * {@code neighbours}: the other rule managers found in the kernel, whose traffic the firewall treats as the
 * config says ({@link Neighbourhood#UNREAD} until the dataplane reads them).
 * {@code probed}: every backend the daemon health-checks over TCP, up or down, which a firewall that drops
 * the router's own output must still let it reach. {@code stateless}: the services with a usable backend are
 * translated without connection state in both directions (ha mode ecmp), by their maglev tables. {@code ha}: what
 * a router of a pair lets through whatever its firewall says.
 */
public record Plan(List<ServicePlan> services, Optional<Firewall> firewall, List<Backend> probed, Neighbourhood neighbours,
                   boolean stateless, Optional<HaTraffic> ha) {

    public Plan {
        services = List.copyOf(services);
        firewall = firewall == null ? Optional.empty() : firewall;
        probed = List.copyOf(probed);
        neighbours = neighbours == null ? Neighbourhood.UNREAD : neighbours;
        ha = ha == null ? Optional.empty() : ha;
    }

    /** A single router's plan. */
    public Plan(List<ServicePlan> services, Optional<Firewall> firewall, List<Backend> probed, Neighbourhood neighbours) {
        this(services, firewall, probed, neighbours, false, Optional.empty());
    }

    /** Before the kernel was read: the dataplane reads the neighbours itself when it renders. */
    public Plan(List<ServicePlan> services, Optional<Firewall> firewall, List<Backend> probed) {
        this(services, firewall, probed, Neighbourhood.UNREAD);
    }

    /** This plan next to what was found in the kernel. */
    public Plan withNeighbours(Neighbourhood found) {
        return new Plan(services, firewall, probed, found, stateless, ha);
    }

    /** The same plan with other services: the daemon's, each sync, around a shape made once per config. */
    public Plan withServices(List<ServicePlan> services) {
        return new Plan(services, firewall, probed, neighbours, stateless, ha);
    }

    /** The neighbours as the firewall's config sees them (its interfaces and networks instead of derived ones). */
    public Neighbourhood effectiveNeighbours() {
        return firewall.map(f -> neighbours.effective(f.neighbours())).orElse(neighbours);
    }

    public Plan(List<ServicePlan> services) {
        this(services, Optional.empty(), List.of());
    }

    /** The backends of {@code config} whose health check connects to them (tcp, http). */
    public static List<Backend> probed(Config config) {
        List<Backend> out = new java.util.ArrayList<>();
        for (Service s : config.services()) {
            for (Backend b : s.backends()) {
                HealthCheck.Type t = s.healthOf(b).type();
                if (t == HealthCheck.Type.TCP || t == HealthCheck.Type.HTTP) out.add(b);
            }
        }
        return out;
    }

    /** {@link #probed()} with one backend per endpoint, in order of first appearance: what a firewall lets through. */
    public List<Backend> probedEndpoints() {
        List<Backend> out = new java.util.ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (Backend b : probed) if (seen.add(b.endpoint())) out.add(b);
        return out;
    }

    /** Whether any service's traffic is routed on to another host, which needs ip_forward. */
    public boolean needsForwarding() {
        return !services.isEmpty();
    }
}
