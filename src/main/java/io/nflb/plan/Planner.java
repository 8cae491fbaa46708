package io.nflb.plan;

import io.nflb.model.Backend;
import io.nflb.model.Config;
import io.nflb.model.Ha;
import io.nflb.model.Service;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Turns a validated config into what must exist in the kernel, independent of the rule language. */
public final class Planner {

    private Planner() {
    }

    public static Plan plan(Config config) {
        List<ServicePlan> services = new ArrayList<>();
        for (Service service : config.services()) services.add(plan(service));
        return assemble(config, services);
    }

    /** The whole plan from the services' plans (e.g. with only the usable backends): the config gives the rest. */
    public static Plan assemble(Config config, List<ServicePlan> services) {
        Optional<HaTraffic> ha = config.ha().map(h -> new HaTraffic(h.iface(), h.peers(),
                h.sync().map(Ha.Sync::iface), h.sync().map(Ha.Sync::peer)));
        return new Plan(services, config.firewall(), Plan.probed(config), Neighbourhood.UNREAD, config.stateless(), ha);
    }

    public static ServicePlan plan(Service service) {
        int gcd = 0;
        for (Backend b : service.backends()) gcd = gcd(gcd, b.weight());
        List<BackendPlan> backends = new ArrayList<>();
        List<Integer> weights = new ArrayList<>();
        for (Backend b : service.backends()) {
            backends.add(new BackendPlan(b, b.weight() / gcd));
            weights.add(b.weight() / gcd);
        }
        return new ServicePlan(service, backends, selection(service, backends, weights));
    }

    private static Selection selection(Service service, List<BackendPlan> backends, List<Integer> weights) {
        switch (service.scheduler()) {
            case RANDOM:
                return new Selection.Random(conditionals(weights));
            case ROUND_ROBIN:
                return new Selection.Cycle(SmoothCycle.of(weights));
            case MAGLEV:
                int total = weights.stream().mapToInt(Integer::intValue).sum();
                int size = service.maglevTableSize() != 0 ? service.maglevTableSize() : MaglevTable.autoSize(total);
                // Canonical order (address, then port): the same backends in any order in the file give the same
                // table, so routers whose files list them differently still agree on every flow.
                List<Integer> order = new ArrayList<>();
                for (int i = 0; i < backends.size(); i++) order.add(i);
                order.sort(java.util.Comparator.comparing((Integer i) -> new java.math.BigInteger(1,
                        backends.get(i).backend().address().inet().getAddress())).thenComparing(i -> backends.get(i).backend().port()));
                List<String> endpoints = order.stream().map(i -> backends.get(i).backend().endpoint()).toList();
                List<Integer> sortedWeights = order.stream().map(weights::get).toList();
                List<Integer> table = new ArrayList<>();
                for (int e : MaglevTable.build(endpoints, sortedWeights, size)) table.add(order.get(e));
                return new Selection.Maglev(table);
            default:
                throw new IllegalArgumentException("unknown scheduler " + service.scheduler());
        }
    }

    /** Rule i takes w_i of what the rules before it left, w_i + ... + w_n: so backend i gets w_i / sum overall. */
    static List<Rational> conditionals(List<Integer> weights) {
        long rest = weights.stream().mapToLong(Integer::longValue).sum();
        List<Rational> conditional = new ArrayList<>();
        for (int w : weights) {
            conditional.add(Rational.of(w, rest));
            rest -= w;
        }
        return conditional;
    }

    private static int gcd(int a, int b) {
        while (b != 0) {
            int t = a % b;
            a = b;
            b = t;
        }
        return a;
    }
}
