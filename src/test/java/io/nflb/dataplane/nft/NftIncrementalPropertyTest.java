package io.nflb.dataplane.nft;

import io.nflb.dataplane.Dataplane;
import io.nflb.model.Backend;
import io.nflb.model.Firewall;
import io.nflb.model.Limits;
import io.nflb.model.Listen;
import io.nflb.model.PortRange;
import io.nflb.model.Protocol;
import io.nflb.model.Rate;
import io.nflb.model.Scheduler;
import io.nflb.model.Service;
import io.nflb.model.Snat;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import io.nflb.plan.ServicePlan;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The incremental path (NftRenderCache's transaction from the changed services' fragments, its lazy table, the
 * partial sync through either writer) against the full one (render everything, NftDiff of the two whole tables),
 * over random sequences of plan changes as a daemon and an operator make them: backends failing and coming back,
 * services added, removed and renamed, reweights, other schedulers, listen and snat changes, affinity and limits,
 * a firewall coming and going. Each step: the same transaction text, the same lazily built table, and the fake's
 * (or the kernel's) table equal to a full render.
 */
class NftIncrementalPropertyTest {

    static LongStream seeds() {
        SplittableRandom seeds = new SplittableRandom(20261130L);
        return LongStream.generate(seeds::nextLong).limit(150);
    }

    static LongStream kernelSeeds() {
        return seeds().limit(3);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void everyStepEqualsTheFullPath(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        World world = World.random(rnd);
        FakeNftTool nft = new FakeNftTool();
        NftDataplane dp = new NftDataplane(nft);
        NftRenderCache cache = new NftRenderCache();
        Plan previous = world.plan(rnd);
        NftScript last = cache.render(previous);
        dp.apply(previous);
        assertThat(parse(nft)).isEqualTo(NftRenderer.render(previous).state());
        for (int step = 0; step < 14; step++) {
            String what = world.change(rnd);
            Plan plan = world.plan(rnd);
            String as = "seed " + seed + " step " + step + ": " + what;
            NftChange full = NftDiff.transaction(NftRenderer.render(previous).state(), NftRenderer.render(plan).state());

            NftScript script = cache.render(plan);
            if (script != last) {
                NftChange change = script.changeFrom(last);
                assertThat(change).as(as).isNotNull();
                assertThat(change.replaceWhole()).as(as).isEqualTo(full.replaceWhole());
                if (!full.replaceWhole()) assertThat(change.text()).as(as).isEqualTo(full.text());
            } else {
                assertThat(full.isEmpty()).as(as + ": the same script for an unchanged plan").isTrue();
            }
            assertThat(script.text()).as(as).isEqualTo(NftRenderer.render(plan).text());

            Dataplane.Outcome o = dp.apply(plan);
            if (full.replaceWhole()) {
                assertThat(o.summary()).as(as).contains("table replaced (declarations changed)");
            } else {
                assertThat(o.sent()).as(as).isEqualTo(full.text());
                assertThat(o.changed()).as(as).isEqualTo(!full.isEmpty());
            }
            assertThat(parse(nft)).as(as).isEqualTo(NftRenderer.render(plan).state());
            previous = plan;
            last = script;
        }
        dp.close();
    }

    /** The same against the real nft and kernel (partial syncs over netlink), for a few seeds. */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("kernelSeeds")
    void theRealKernelAgrees(long seed) {
        KernelTests.require("nft", "ip");
        SplittableRandom rnd = new SplittableRandom(seed);
        World world = World.random(rnd);
        try (Netns ns = Netns.create("nftinc")) {
            NftDataplane dp = new NftDataplane(ns.exec());
            NftKernel reader = new NftKernel(ns.exec());
            for (int step = 0; step < 6; step++) {
                String what = step == 0 ? "start" : world.change(rnd);
                Plan plan = world.plan(rnd);
                dp.apply(plan);
                assertThat(reader.read()).as("seed " + seed + " step " + step + ": " + what).contains(NftRenderer.render(plan).state());
            }
            dp.close();
        }
    }

    private static NftState parse(FakeNftTool nft) {
        return NftState.parse(nft.listTable().orElseThrow());
    }

    /** What the services are (the config) and which backends are down (the health checks), changed step by step. */
    static final class World {
        private final List<Spec> specs = new ArrayList<>();
        private Optional<Firewall> firewall = Optional.empty();
        private int next;
        /** The plan objects of the last step, reused for unchanged specs as the Reconciler does. */
        private Map<Spec, ServicePlan> lastPlans = new HashMap<>();

        static World random(SplittableRandom rnd) {
            World w = new World();
            int n = 2 + rnd.nextInt(9);
            for (int i = 0; i < n; i++) w.specs.add(w.newSpec(rnd));
            if (rnd.nextInt(4) == 0) w.firewall = Optional.of(firewall(rnd));
            return w;
        }

        Plan plan(SplittableRandom rnd) {
            // Now and then every plan object is new (equal, not identical), now and then the order changes.
            boolean fresh = rnd.nextInt(6) == 0;
            Map<Spec, ServicePlan> plans = new HashMap<>();
            List<ServicePlan> services = new ArrayList<>();
            for (Spec s : specs) {
                ServicePlan sp = fresh ? null : lastPlans.get(s);
                if (sp == null) sp = s.plan();
                plans.put(s, sp);
                services.add(sp);
            }
            if (rnd.nextInt(8) == 0) Collections.shuffle(services, new java.util.Random(rnd.nextLong()));
            lastPlans = plans;
            List<Backend> probed = new ArrayList<>();
            for (Spec s : specs) probed.addAll(s.backends);
            return new Plan(services, firewall, probed);
        }

        /** One random change; returns what it was. */
        String change(SplittableRandom rnd) {
            int pick = rnd.nextInt(100);
            if (specs.isEmpty() || pick < 8) {
                Spec s = newSpec(rnd);
                specs.add(rnd.nextInt(specs.size() + 1), s);
                return "added " + s.name;
            }
            int i = rnd.nextInt(specs.size());
            Spec s = specs.get(i);
            if (pick < 35) {
                int b = rnd.nextInt(s.backends.size());
                TreeSet<Integer> down = new TreeSet<>(s.down);
                if (!down.remove(b)) down.add(b);
                specs.set(i, s.withDown(down));
                return s.name + " backend " + b + (down.contains(b) ? " down" : " up");
            }
            if (pick < 40) {
                TreeSet<Integer> down = new TreeSet<>();
                if (s.down.size() < s.backends.size()) for (int b = 0; b < s.backends.size(); b++) down.add(b);
                specs.set(i, s.withDown(down));
                return s.name + (down.isEmpty() ? " all up" : " all down");
            }
            if (pick < 50) {
                List<Backend> bs = new ArrayList<>(s.backends);
                int b = rnd.nextInt(bs.size());
                Backend old = bs.get(b);
                bs.set(b, new Backend(old.address(), old.port(), 1 + rnd.nextInt(4)));
                specs.set(i, s.withBackends(bs, s.down));
                return s.name + " backend " + b + " reweighted";
            }
            if (pick < 58) {
                List<Backend> bs = new ArrayList<>(s.backends);
                Backend extra = s.backend(rnd, bs);
                if (extra == null) return "nothing";
                bs.add(rnd.nextInt(bs.size() + 1), extra);
                specs.set(i, s.withBackends(bs, new TreeSet<>()));
                return s.name + " backend added";
            }
            if (pick < 64 && s.backends.size() > 1) {
                List<Backend> bs = new ArrayList<>(s.backends);
                bs.remove(rnd.nextInt(bs.size()));
                specs.set(i, s.withBackends(bs, new TreeSet<>()));
                return s.name + " backend removed";
            }
            if (pick < 70) {
                specs.remove(i);
                return "removed " + s.name;
            }
            if (pick < 74) {
                // A rename: the same service under another name (its id, chains and comments change).
                specs.set(i, s.renamed("svc-" + (next++)));
                return "renamed " + s.name;
            }
            if (pick < 80) {
                specs.set(i, s.withScheduler(Scheduler.values()[rnd.nextInt(Scheduler.values().length)], rnd));
                return s.name + " scheduler " + specs.get(i).scheduler;
            }
            if (pick < 84) {
                specs.set(i, s.with(s.snat == Snat.NONE ? Snat.MASQUERADE : Snat.NONE, s.affinity, s.limits, s.listen));
                return s.name + " snat";
            }
            if (pick < 87) {
                Optional<Duration> a = s.affinity.isPresent() && rnd.nextBoolean() ? Optional.empty() : Optional.of(Duration.ofMinutes(1 + rnd.nextInt(3)));
                specs.set(i, s.with(s.snat, a, s.limits, s.listen));
                return s.name + " affinity " + a;
            }
            if (pick < 90) {
                Optional<Limits> l = s.limits.isPresent() ? Optional.empty() : Optional.of(limits(rnd));
                specs.set(i, s.with(s.snat, s.affinity, l, s.listen));
                return s.name + " limits " + l.isPresent();
            }
            if (pick < 93) {
                Listen l = s.listen;
                specs.set(i, s.with(s.snat, s.affinity, s.limits, new Listen(l.port() + 1000, l.address(), l.iface())));
                return s.name + " listens elsewhere";
            }
            if (pick < 97) {
                firewall = firewall.isPresent() && rnd.nextBoolean() ? Optional.empty() : Optional.of(firewall(rnd));
                return "firewall " + firewall.isPresent();
            }
            return "nothing";
        }

        private Spec newSpec(SplittableRandom rnd) {
            int k = next++;
            boolean v6 = rnd.nextInt(4) == 0;
            Protocol proto = rnd.nextInt(3) == 0 ? Protocol.UDP : Protocol.TCP;
            int port = 1000 + k;
            String addr = v6 ? "fd00:1::" + Integer.toHexString(k + 1) : "10.1." + (k / 250) + "." + (k % 250 + 1);
            Listen listen = switch (rnd.nextInt(6)) {
                case 0 -> new Listen(port, Optional.empty(), Optional.of("eth" + k % 3));
                case 1 -> new Listen(port, Optional.empty(), Optional.of("veth+"));
                case 2 -> new Listen(port, Optional.empty(), Optional.empty());
                case 3 -> new Listen(rnd.nextBoolean() ? 80 : 443, Optional.of(NftPlans.ip(addr)), Optional.of("eth1"));
                default -> new Listen(rnd.nextBoolean() ? 80 : 443, Optional.of(NftPlans.ip(addr)), Optional.empty());
            };
            Spec s = new Spec("svc-" + k, k, v6, proto, listen, Scheduler.RANDOM, 0, Snat.NONE, List.of(), Optional.empty(),
                    Optional.empty(), new TreeSet<>());
            List<Backend> bs = new ArrayList<>();
            int n = 1 + rnd.nextInt(5);
            for (int b = 0; b < n; b++) {
                Backend x = s.backend(rnd, bs);
                if (x != null) bs.add(x);
            }
            s = s.withBackends(bs, new TreeSet<>());
            s = s.withScheduler(Scheduler.values()[rnd.nextInt(Scheduler.values().length)], rnd);
            Snat snat = rnd.nextBoolean() ? Snat.MASQUERADE : Snat.NONE;
            Optional<Duration> affinity = rnd.nextInt(7) == 0 ? Optional.of(Duration.ofMinutes(5)) : Optional.empty();
            Optional<Limits> limits = rnd.nextInt(7) == 0 ? Optional.of(limits(rnd)) : Optional.empty();
            return s.with(snat, affinity, limits, listen);
        }

        private static Limits limits(SplittableRandom rnd) {
            return new Limits(Optional.of(new Rate(10 + rnd.nextInt(5), Rate.Unit.SECOND)), rnd.nextBoolean() ? 5 : 20,
                    rnd.nextBoolean() ? 0 : 10, rnd.nextBoolean() ? Limits.Action.DROP : Limits.Action.REJECT);
        }

        private static Firewall firewall(SplittableRandom rnd) {
            List<Firewall.Rule> allow = new ArrayList<>();
            int n = rnd.nextInt(3);
            for (int i = 0; i < n; i++) {
                allow.add(new Firewall.Rule("allow " + (i + 1), rnd.nextBoolean() ? Protocol.TCP : Protocol.UDP,
                        List.of(PortRange.of(22 + i)), List.of(), List.of(), Optional.empty()));
            }
            Firewall.Policy output = rnd.nextBoolean() ? Firewall.Policy.DROP : Firewall.Policy.ACCEPT;
            return new Firewall(Firewall.Policy.DROP, rnd.nextBoolean() ? Firewall.Policy.DROP : Firewall.Policy.ACCEPT, output,
                    rnd.nextBoolean(), allow, List.of(), Optional.empty());
        }
    }

    /** One service of the config and its down backends (by index). Equal specs plan to equal plans. */
    record Spec(String name, int k, boolean v6, Protocol proto, Listen listen, Scheduler scheduler, int maglev, Snat snat,
                List<Backend> backends, Optional<Duration> affinity, Optional<Limits> limits, TreeSet<Integer> down) {

        Service service() {
            return new Service(name, proto, listen, scheduler, snat, backends, affinity, maglev, io.nflb.model.HealthCheck.NONE, limits);
        }

        /** As the Reconciler plans it: the usable backends only, or a rejecting plan. */
        ServicePlan plan() {
            Service s = service();
            List<Backend> usable = new ArrayList<>();
            for (int i = 0; i < backends.size(); i++) if (!down.contains(i)) usable.add(backends.get(i));
            return usable.isEmpty() ? ServicePlan.rejecting(s) : Planner.plan(s.withBackends(usable));
        }

        /** A backend not in {@code taken}: the service's own or from a pool shared with other services (shared masquerade). */
        Backend backend(SplittableRandom rnd, List<Backend> taken) {
            for (int tries = 0; tries < 10; tries++) {
                boolean shared = rnd.nextInt(3) == 0;
                int host = 2 + rnd.nextInt(6);
                String a = v6 ? "fd00:2:" + (shared ? "ffff" : Integer.toHexString(k)) + "::" + Integer.toHexString(host)
                        : "192.168." + (shared ? 250 : k % 250) + "." + host;
                Backend b = new Backend(NftPlans.ip(a), rnd.nextBoolean() ? 80 : 8080, 1 + rnd.nextInt(3));
                if (taken.stream().noneMatch(t -> t.endpoint().equals(b.endpoint()))) return b;
            }
            return null;
        }

        Spec withDown(TreeSet<Integer> d) {
            return new Spec(name, k, v6, proto, listen, scheduler, maglev, snat, backends, affinity, limits, d);
        }

        Spec withBackends(List<Backend> bs, TreeSet<Integer> d) {
            return new Spec(name, k, v6, proto, listen, scheduler, maglev, snat, List.copyOf(bs), affinity, limits, d);
        }

        Spec withScheduler(Scheduler s, SplittableRandom rnd) {
            int m = s == Scheduler.MAGLEV ? new int[] {0, 31, 61}[rnd.nextInt(3)] : 0;
            return new Spec(name, k, v6, proto, listen, s, m, snat, backends, affinity, limits, down);
        }

        Spec with(Snat sn, Optional<Duration> a, Optional<Limits> l, Listen li) {
            return new Spec(name, k, v6, proto, li, scheduler, maglev, sn, backends, a, l, down);
        }

        Spec renamed(String other) {
            return new Spec(other, k, v6, proto, listen, scheduler, maglev, snat, backends, affinity, limits, down);
        }
    }
}
