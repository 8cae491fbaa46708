package io.nflb.dataplane;

import io.nflb.host.Exec;
import io.nflb.host.Routes;
import io.nflb.model.NeighbourKind;
import io.nflb.plan.Neighbour;
import io.nflb.plan.Neighbourhood;

import java.time.Duration;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Reads what one rule language shows of the neighbours. Each dataplane reads its own language and is given
 * the other's by {@link Dataplanes}, so a Docker that writes iptables is seen by the nftables backend too.
 */
@FunctionalInterface
public interface NeighbourReader {

    Neighbourhood read();

    /** Sees nothing (a dataplane over in-memory tools that were given nothing else). */
    NeighbourReader NONE = Neighbourhood::empty;

    /** How long a read neighbourhood serves a daemon's syncs: bursts of health flips do not re-read the kernel. */
    Duration FRESH_FOR = Duration.ofSeconds(5);

    /**
     * kube-proxy does not always show its cluster CIDR in its rules; then the pod networks are the prefixes
     * routed through the network plugin's interfaces (cni0, flannel.1, cali*, cilium_*, ...). Says where they
     * came from, or that nothing showed them.
     */
    public static Neighbourhood podNetworksFromRoutes(Neighbourhood n, Exec exec) {
        if (!n.has(NeighbourKind.KUBE_PROXY) || !n.find(NeighbourKind.KUBE_PROXY).get().networks().isEmpty()) return n;
        return podNetworks(n, exec == null ? List.of() : Routes.read(exec));
    }

    /** {@link #podNetworksFromRoutes} over given routes. */
    public static Neighbourhood podNetworks(Neighbourhood n, List<Routes.Route> routes) {
        if (!n.has(NeighbourKind.KUBE_PROXY) || !n.find(NeighbourKind.KUBE_PROXY).get().networks().isEmpty()) return n;
        Neighbour.Builder b = Neighbour.facts(NeighbourKind.KUBE_PROXY);
        for (Routes.Route r : routes) {
            if (Routes.CNI_INTERFACES.matcher(r.device()).matches()) b.network(r.prefix(), "the route via " + r.device());
        }
        if (!b.hasNetworks()) {
            b.note("no pod network: kube-proxy's rules do not show its cluster CIDR and no route goes through a network plugin's"
                    + " interface; set " + NeighbourKind.KUBE_PROXY.configKey() + ".networks");
        }
        return n.merge(Neighbourhood.of(List.of(b.build()), List.of(), java.util.Set.of(), List.of()));
    }

    /** This reader, read again only when its last read is older than {@link #FRESH_FOR}. */
    default NeighbourReader cached(LongSupplier nanoTime) {
        NeighbourReader self = this;
        return new NeighbourReader() {
            private Neighbourhood last;
            private long at;

            @Override
            public synchronized Neighbourhood read() {
                long now = nanoTime.getAsLong();
                if (last == null || now - at > FRESH_FOR.toNanos()) {
                    last = self.read();
                    at = now;
                }
                return last;
            }
        };
    }
}
