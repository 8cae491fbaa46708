package io.nflb.dataplane.nft;

import io.nflb.model.Backend;
import io.nflb.model.Protocol;
import io.nflb.model.Scheduler;
import io.nflb.model.Snat;
import io.nflb.plan.BackendPlan;
import io.nflb.plan.Plan;
import io.nflb.plan.Rational;
import io.nflb.plan.Selection;
import io.nflb.plan.ServicePlan;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

import static io.nflb.dataplane.nft.NftPlans.*;
import static org.assertj.core.api.Assertions.assertThat;

class NftExplainerTest {

    static LongStream seeds() {
        SplittableRandom r = new SplittableRandom(0x6e666c62L);
        return LongStream.generate(r::nextLong).limit(40);
    }

    /** Random services of 1..64 backends; the evaluated script must give exactly what the plan says. */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void evaluatedScriptAgreesWithWeights(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<ServicePlan> services = new ArrayList<>();
        int n = 1 + r.nextInt(4);
        for (int s = 0; s < n; s++) {
            int count = 1 + r.nextInt(64);
            Scheduler sch = Scheduler.values()[r.nextInt(3)];
            int maxWeight = sch == Scheduler.MAGLEV ? 8 : 1 + r.nextInt(50);
            List<Backend> bs = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                bs.add(new Backend(ip("10." + (s + 1) + "." + (i / 200) + "." + (i % 200 + 1)), 1000 + i, 1 + r.nextInt(maxWeight)));
            }
            Duration aff = r.nextInt(4) == 0 ? Duration.ofMinutes(1 + r.nextInt(600)) : null;
            services.add(service("s" + s, r.nextBoolean() ? Protocol.TCP : Protocol.UDP, listen("172.16.0." + (s + 1), 80, null),
                    sch, Snat.NONE, bs, aff, 0));
        }
        List<NftServiceShares> explained = NftExplainer.explain(NftRenderer.render(new Plan(services)).text());
        assertThat(explained).hasSize(n);
        for (ServicePlan sp : services) {
            NftServiceShares e = explained.stream().filter(x -> x.service().equals(sp.name())).findFirst().orElseThrow();
            assertThat(e.affinity()).isEqualTo(sp.service().affinity().isPresent());
            assertThat(e.shares()).doesNotContainKey(NftServiceShares.UNMATCHED);
            assertThat(e.shares()).isEqualTo(expectedShares(sp));
            if (sp.selection() instanceof Selection.Cycle c) {
                assertThat(e.method()).isEqualTo(NftServiceShares.Method.ROUND_ROBIN);
                assertThat(e.cycle()).isEqualTo(c.slots().stream().map(i -> sp.backends().get(i).backend().endpoint()).toList());
            } else {
                assertThat(e.cycle()).isEmpty();
            }
        }
    }

    /** Weights for round-robin and random; the table's own counts for maglev (checked against weights in MaglevTableTest). */
    static Map<String, Rational> expectedShares(ServicePlan sp) {
        Map<String, Rational> out = new HashMap<>();
        if (sp.selection() instanceof Selection.Maglev m) {
            for (int b : m.table()) out.merge(sp.backends().get(b).backend().endpoint(), Rational.of(1, m.table().size()), Rational::add);
            return out;
        }
        int total = sp.backends().stream().mapToInt(BackendPlan::weight).sum();
        for (BackendPlan b : sp.backends()) out.merge(b.backend().endpoint(), Rational.of(b.weight(), total), Rational::add);
        return out;
    }

    @Test
    void roundRobinOneTwoThreeIsAnExactCycleOfSix() {
        NftServiceShares e = NftExplainer.explain(NftRenderer.render(NftGoldenCases.all().get("round-robin-1-2-3"))).get(0);
        assertThat(e.service()).isEqualTo("web");
        assertThat(e.dispatch()).containsExactly("svc4 10.0.0.1 . tcp . 80");
        assertThat(e.modulus()).isEqualTo(6);
        assertThat(e.shares()).isEqualTo(Map.of("192.168.2.2:80", Rational.of(1, 6), "192.168.2.3:80", Rational.of(1, 3),
                "192.168.2.4:80", Rational.of(1, 2)));
        assertThat(e.cycle()).hasSize(6);
    }

    @Test
    void explainsEveryGoldenFileFromItsText() throws Exception {
        for (String name : NftGoldenCases.all().keySet()) {
            String text = Files.readString(Path.of("src/test/resources/golden/nft", name + ".nft"));
            List<NftServiceShares> e = NftExplainer.explain(text);
            assertThat(e).as(name).hasSize(NftGoldenCases.all().get(name).services().size());
            for (NftServiceShares s : e) {
                assertThat(s.shares().values().stream().reduce(Rational.ZERO, Rational::add)).as(name).isEqualTo(Rational.ONE);
            }
        }
        NftServiceShares wild = NftExplainer.explain(Files.readString(Path.of("src/test/resources/golden/nft/interface-only.nft")))
                .stream().filter(s -> s.service().equals("lan-web")).findFirst().orElseThrow();
        assertThat(wild.dispatch()).containsExactly("rule fib daddr type local iifname \"lan*\" tcp dport 80");
    }

    @Test
    void aSlotWithoutBackendIsReportedNotHidden() {
        String text = NftRenderer.render(NftGoldenCases.all().get("random")).text()
                .replaceFirst("(, )?10\\.0\\.0\\.1 \\. 80 \\. 5 : 192\\.168\\.2\\.\\d+ \\. 80", "");
        NftServiceShares e = NftExplainer.explain(text).get(0);
        assertThat(e.shares()).containsEntry(NftServiceShares.UNMATCHED, Rational.of(1, 6));
    }
}
