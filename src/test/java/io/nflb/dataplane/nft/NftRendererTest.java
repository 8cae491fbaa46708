package io.nflb.dataplane.nft;

import io.nflb.config.ConfigLoader;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import io.nflb.plan.Rational;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

public class NftRendererTest {

    public static final String TWO_SERVICES = """
            backend: nftables
            services:
              - name: web
                listen: {address: 192.168.2.1, port: 80, interface: eth0}
                scheduler: round-robin
                snat: masquerade
                backends: [{address: 192.168.2.2, weight: 1}, {address: 192.168.2.3, weight: 2}, {address: 192.168.2.4, weight: 3}]
              - name: dns-lb
                protocol: udp
                listen: {address: 192.168.2.1, port: 53}
                scheduler: random
                backends: [{address: 192.168.2.5}, {address: 192.168.2.6}]
              - name: shop
                listen: {address: 192.168.2.9, port: 443}
                scheduler: maglev
                maglev: {table_size: 7}
                backends: [{address: 192.168.2.7}, {address: 192.168.2.8}]
            """;

    static Plan plan(String yaml) throws Exception {
        return Planner.plan(ConfigLoader.parse("t.yaml", yaml));
    }

    /** Through the real Planner: every scheduler's shares, evaluated from the script text, are the weights. */
    @Test
    void theScriptsOwnLookupsGiveTheWeights() throws Exception {
        List<NftServiceShares> all = NftExplainer.explain(NftRenderer.render(plan(TWO_SERVICES)));
        NftServiceShares web = byName(all, "web");
        assertThat(web.shares()).containsExactlyInAnyOrderEntriesOf(Map.of(
                "192.168.2.2:80", Rational.of(1, 6), "192.168.2.3:80", Rational.of(1, 3), "192.168.2.4:80", Rational.of(1, 2)));
        assertThat(web.cycle()).containsExactly("192.168.2.4:80", "192.168.2.3:80", "192.168.2.4:80", "192.168.2.2:80",
                "192.168.2.4:80", "192.168.2.3:80");
        assertThat(byName(all, "dns-lb").shares()).containsExactlyInAnyOrderEntriesOf(Map.of(
                "192.168.2.5:53", Rational.of(1, 2), "192.168.2.6:53", Rational.of(1, 2)));
        Map<String, Rational> maglev = byName(all, "shop").shares();
        assertThat(maglev.values().stream().reduce(Rational.ZERO, Rational::add)).isEqualTo(Rational.ONE);
        assertThat(maglev).containsOnlyKeys("192.168.2.7:443", "192.168.2.8:443");
    }

    private static NftServiceShares byName(List<NftServiceShares> all, String name) {
        return all.stream().filter(x -> x.service().equals(name)).findFirst().orElseThrow();
    }

    static LongStream seeds() {
        return LongStream.rangeClosed(1, 60);
    }

    /** For random weight vectors of 1..64 backends, evaluating the script gives exactly w_i / sum(w). */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void sharesAreExactlyTheWeights(long seed) throws Exception {
        SplittableRandom rnd = new SplittableRandom(seed);
        int n = 1 + rnd.nextInt(64);
        String scheduler = rnd.nextBoolean() ? "round-robin" : "random";
        StringBuilder y = new StringBuilder("services:\n  - name: s\n    listen: {address: 10.0.0.1, port: 80}\n    scheduler: ")
                .append(scheduler).append("\n    backends:\n");
        List<Integer> weights = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int w = 1 + rnd.nextInt(rnd.nextBoolean() ? 5 : 200);
            weights.add(w);
            y.append("      - {address: 10.1.").append(i / 250).append('.').append(i % 250 + 1).append(", weight: ").append(w).append("}\n");
        }
        int total = weights.stream().mapToInt(Integer::intValue).sum();
        Map<String, Rational> shares = byName(NftExplainer.explain(NftRenderer.render(plan(y.toString()))), "s").shares();
        for (int i = 0; i < n; i++) {
            assertThat(shares.get("10.1." + i / 250 + "." + (i % 250 + 1) + ":80")).as("backend %d", i).isEqualTo(Rational.of(weights.get(i), total));
        }
    }

    /** A long-lived renderer (cached fragments, order, ids) must write exactly what a fresh one writes. */
    @org.junit.jupiter.api.Test
    void cachedRenderEqualsAFreshOneThroughChangesReordersAndRenames() {
        NftRenderCache cached = new NftRenderCache();
        java.util.List<io.nflb.plan.Plan> plans = new java.util.ArrayList<>(NftGoldenCases.all().values());
        io.nflb.plan.Plan two = NftGoldenCases.all().get("two-services");
        java.util.List<io.nflb.plan.ServicePlan> reversed = new java.util.ArrayList<>(two.services());
        java.util.Collections.reverse(reversed);
        plans.add(two);
        plans.add(new io.nflb.plan.Plan(reversed));
        plans.add(two);
        plans.add(NftGoldenCases.all().get("random"));
        plans.add(NftGoldenCases.all().get("random"));
        for (io.nflb.plan.Plan p : plans) {
            org.assertj.core.api.Assertions.assertThat(cached.render(p).text()).isEqualTo(NftRenderer.render(p).text());
        }
        // An unchanged plan gives back the very same script: nothing to compare, nothing to send.
        org.assertj.core.api.Assertions.assertThat(cached.render(two)).isNotSameAs(cached.render(plans.get(0)));
        NftScript a = cached.render(two);
        org.assertj.core.api.Assertions.assertThat(cached.render(two)).isSameAs(a);
    }
    /**
     * Two names with the same CRC-32 ("o16ztj0g" and "yd5cous7": 2922472563): the later one in name order probes to
     * the next id. Adding or removing the first moves the second's id; the incremental render must follow, as a
     * render from scratch does (the ids are in the by-id maps' keys and the service chains).
     */
    @org.junit.jupiter.api.Test
    void idCollisionsRenumberIncrementallyAsFromScratch() {
        org.assertj.core.api.Assertions.assertThat(NftRenderer.idWish("o16ztj0g")).isEqualTo(NftRenderer.idWish("yd5cous7"));
        io.nflb.plan.ServicePlan first = NftPlans.service("o16ztj0g", io.nflb.model.Protocol.TCP, NftPlans.listen(null, 8080, null),
                io.nflb.model.Scheduler.ROUND_ROBIN, io.nflb.model.Snat.NONE, NftPlans.backends("192.168.2.", 80, 1, 1), null, 0);
        io.nflb.plan.ServicePlan second = NftPlans.service("yd5cous7", io.nflb.model.Protocol.TCP, NftPlans.listen(null, 8081, null),
                io.nflb.model.Scheduler.ROUND_ROBIN, io.nflb.model.Snat.NONE, NftPlans.backends("192.168.3.", 80, 1, 1), null, 0);
        io.nflb.plan.ServicePlan other = NftPlans.service("web", io.nflb.model.Scheduler.RANDOM, "10.0.0.1", 80, 1, 1);
        java.util.List<io.nflb.plan.Plan> steps = java.util.List.of(
                NftPlans.plan(second, other), NftPlans.plan(first, second, other), NftPlans.plan(second, other),
                NftPlans.plan(first, other), NftPlans.plan(first, second, other), NftPlans.plan(first, other));
        NftRenderCache cached = new NftRenderCache();
        NftScript last = cached.render(steps.get(0));
        for (int i = 1; i < steps.size(); i++) {
            io.nflb.plan.Plan p = steps.get(i);
            NftScript s = cached.render(p);
            NftChange full = NftDiff.transaction(NftRenderer.render(steps.get(i - 1)).state(), NftRenderer.render(p).state());
            org.assertj.core.api.Assertions.assertThat(s.changeFrom(last).text()).as("step %d", i).isEqualTo(full.text()).isNotEmpty();
            org.assertj.core.api.Assertions.assertThat(s.text()).as("step %d", i).isEqualTo(NftRenderer.render(p).text());
            last = s;
        }
    }
}
