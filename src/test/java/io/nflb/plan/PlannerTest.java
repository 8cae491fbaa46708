package io.nflb.plan;

import io.nflb.model.Backend;
import io.nflb.model.BackendKind;
import io.nflb.model.Config;
import io.nflb.model.IpAddress;
import io.nflb.model.Listen;
import io.nflb.model.Protocol;
import io.nflb.model.Scheduler;
import io.nflb.model.Service;
import io.nflb.model.Snat;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

class PlannerTest {

    static Service service(Scheduler scheduler, int... weights) {
        List<Backend> backends = new ArrayList<>();
        for (int i = 0; i < weights.length; i++) {
            backends.add(new Backend(IpAddress.parse("192.168.2." + (i + 2)).orElseThrow(), 80, weights[i]));
        }
        return new Service("web", Protocol.TCP, new Listen(80, Optional.empty(), Optional.empty()), scheduler, Snat.NONE, backends);
    }

    static ServicePlan plan(Scheduler scheduler, int... weights) {
        return Planner.plan(new Config(BackendKind.IPTABLES, List.of(service(scheduler, weights)))).services().get(0);
    }

    @Test
    void weightsAreReducedByTheirGcd() {
        ServicePlan p = plan(Scheduler.RANDOM, 10, 20, 30);
        assertThat(p.backends()).extracting(BackendPlan::weight).containsExactly(1, 2, 3);
        assertThat(plan(Scheduler.RANDOM, 7).backends().get(0).weight()).isEqualTo(1);
    }

    @Test
    void randomTakesEachBackendsShareOfWhatIsLeft() {
        Selection.Random r = (Selection.Random) plan(Scheduler.RANDOM, 1, 2, 3).selection();
        assertThat(r.conditional()).containsExactly(Rational.of(1, 6), Rational.of(2, 5), Rational.ONE);
        Selection.Random equal = (Selection.Random) plan(Scheduler.RANDOM, 5, 5, 5, 5).selection();
        assertThat(equal.conditional()).containsExactly(Rational.of(1, 4), Rational.of(1, 3), Rational.of(1, 2), Rational.ONE);
    }

    @Test
    void roundRobinOneTwoThreeInterleavesAcrossTheWrap() {
        Selection.Cycle c = (Selection.Cycle) plan(Scheduler.ROUND_ROBIN, 1, 2, 3).selection();
        assertThat(c.slots()).containsExactly(2, 1, 2, 0, 2, 1);
    }

    @Test
    void roundRobinDominatedSpreadsTheOthers() {
        Selection.Cycle c = (Selection.Cycle) plan(Scheduler.ROUND_ROBIN, 7, 1, 1).selection();
        assertThat(c.slots()).hasSize(9);
        assertThat(c.slots()).containsExactly(0, 0, 0, 1, 0, 0, 0, 0, 2);
        assertThat(((Selection.Cycle) plan(Scheduler.ROUND_ROBIN, 4).selection()).slots()).containsExactly(0);
    }

    @Test
    void maglevUsesTheAutomaticOrGivenTableSize() {
        Selection.Maglev m = (Selection.Maglev) plan(Scheduler.MAGLEV, 2, 4).selection();
        assertThat(m.table()).hasSize(MaglevTable.autoSize(3)).containsOnly(0, 1);
        Service s = service(Scheduler.MAGLEV, 1, 1);
        Service sized = new Service(s.name(), s.protocol(), s.listen(), s.scheduler(), s.snat(), s.backends(), Optional.empty(), 509);
        assertThat(((Selection.Maglev) Planner.plan(sized).selection()).table()).hasSize(509);
    }

    static Stream<Arguments> weightVectors() {
        return IntStream.range(0, 300).mapToObj(i -> {
            long seed = 0x5eed0000L + i;
            SplittableRandom rnd = new SplittableRandom(seed);
            int n = 1 + rnd.nextInt(rnd.nextBoolean() ? 6 : 64);
            int max = rnd.nextBoolean() ? 5 : 1000;
            int[] w = new int[n];
            for (int k = 0; k < n; k++) w[k] = 1 + rnd.nextInt(max);
            if (rnd.nextInt(5) == 0) w[0] = 1 + rnd.nextInt(max * n); // sometimes one dominates
            w[0] = Math.min(w[0], 1000);
            return Arguments.of(seed, w);
        });
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("weightVectors")
    void cycleHasExactCountsAndNoAvoidableAdjacency(long seed, int[] weights) {
        List<Integer> list = IntStream.of(weights).boxed().toList();
        List<Integer> slots = SmoothCycle.of(list);
        long total = IntStream.of(weights).asLongStream().sum();
        assertThat(slots).hasSize((int) total);
        for (int i = 0; i < weights.length; i++) {
            final int b = i;
            assertThat(slots.stream().filter(s -> s == b).count()).as("slots of backend %d", i).isEqualTo(weights[i]);
        }
        int max = IntStream.of(weights).max().orElseThrow();
        long adjacent = IntStream.range(0, slots.size())
                .filter(k -> slots.get(k).equals(slots.get((k + 1) % slots.size()))).count();
        if (2L * max <= total) {
            assertThat(adjacent).as("adjacent equal slots, counting the wrap").isZero();
        } else {
            // The big one must touch itself max - (total - max) times, no more; the others never touch themselves.
            assertThat(adjacent).isEqualTo(Math.min(total, 2L * max - total));
            int big = IntStream.range(0, weights.length).filter(k -> weights[k] == max).findFirst().orElseThrow();
            List<Integer> runs = new ArrayList<>();
            int run = 0;
            for (int s : slots) {
                if (s == big) run++;
                else { runs.add(run); run = 0; }
            }
            if (!runs.isEmpty()) {
                runs.set(0, runs.get(0) + run); // the wrap joins the last run to the first
                assertThat(runs.stream().mapToInt(Integer::intValue).max().orElseThrow()
                        - runs.stream().mapToInt(Integer::intValue).min().orElseThrow()).as("gap lengths").isLessThanOrEqualTo(1);
            }
        }
    }
}
