package io.nflb.dataplane.nft;

import io.nflb.model.Backend;
import io.nflb.model.IpAddress;
import io.nflb.model.Listen;
import io.nflb.model.Protocol;
import io.nflb.model.Scheduler;
import io.nflb.model.Service;
import io.nflb.model.Snat;
import io.nflb.plan.BackendPlan;
import io.nflb.plan.MaglevTable;
import io.nflb.plan.Plan;
import io.nflb.plan.Rational;
import io.nflb.plan.Selection;
import io.nflb.plan.ServicePlan;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Hand-built plans for the nft tests: the planner is another package's job, so these stand in for it. */
public final class NftPlans {

    private NftPlans() {
    }

    public static IpAddress ip(String s) {
        return IpAddress.parse(s).orElseThrow();
    }

    public static Listen listen(String address, int port, String iface) {
        return new Listen(port, Optional.ofNullable(address).map(NftPlans::ip), Optional.ofNullable(iface));
    }

    public static List<Backend> backends(String prefix, int port, int... weights) {
        List<Backend> out = new ArrayList<>();
        for (int i = 0; i < weights.length; i++) out.add(new Backend(ip(prefix + (i + 2)), port, weights[i]));
        return out;
    }

    public static ServicePlan service(String name, Protocol proto, Listen listen, Scheduler scheduler, Snat snat,
                                      List<Backend> backends, Duration affinity, int maglevSize) {
        Service s = new Service(name, proto, listen, scheduler, snat, backends, Optional.ofNullable(affinity), maglevSize);
        List<Integer> weights = reduced(backends);
        List<BackendPlan> bps = new ArrayList<>();
        for (int i = 0; i < backends.size(); i++) bps.add(new BackendPlan(backends.get(i), weights.get(i)));
        return new ServicePlan(s, bps, selection(scheduler, backends, weights, maglevSize));
    }

    public static ServicePlan service(String name, Scheduler scheduler, String address, int port, int... weights) {
        return service(name, Protocol.TCP, listen(address, port, null), scheduler, Snat.NONE,
                backends("192.168.2.", 80, weights), null, 0);
    }

    static List<Integer> reduced(List<Backend> backends) {
        int g = 0;
        for (Backend b : backends) g = gcd(g, b.weight());
        int gg = g;
        return backends.stream().map(b -> b.weight() / gg).toList();
    }

    static Selection selection(Scheduler scheduler, List<Backend> backends, List<Integer> weights, int maglevSize) {
        switch (scheduler) {
            case ROUND_ROBIN:
                return new Selection.Cycle(smoothCycle(weights));
            case MAGLEV: {
                int total = weights.stream().mapToInt(Integer::intValue).sum();
                int size = maglevSize > 0 ? maglevSize : MaglevTable.autoSize(total);
                return new Selection.Maglev(MaglevTable.build(backends.stream().map(Backend::endpoint).toList(), weights, size));
            }
            default: {
                List<Rational> cond = new ArrayList<>();
                int rest = weights.stream().mapToInt(Integer::intValue).sum();
                for (int w : weights) {
                    cond.add(Rational.of(w, rest));
                    rest -= w;
                }
                return new Selection.Random(cond);
            }
        }
    }

    /** nginx's smooth weighted round-robin: each backend w times per cycle, spread out. */
    public static List<Integer> smoothCycle(List<Integer> weights) {
        int total = weights.stream().mapToInt(Integer::intValue).sum();
        int[] current = new int[weights.size()];
        List<Integer> out = new ArrayList<>();
        for (int k = 0; k < total; k++) {
            int best = 0;
            for (int i = 0; i < current.length; i++) {
                current[i] += weights.get(i);
                if (current[i] > current[best]) best = i;
            }
            current[best] -= total;
            out.add(best);
        }
        return out;
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    public static Plan plan(ServicePlan... services) {
        return new Plan(List.of(services));
    }
}
