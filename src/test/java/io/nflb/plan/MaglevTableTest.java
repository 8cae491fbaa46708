package io.nflb.plan;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/** Properties of the Maglev population the nft maglev scheduler relies on. */
class MaglevTableTest {

    static final int SIZE = 65537;

    static LongStream seeds() {
        SplittableRandom r = new SplittableRandom(0x4d41474cL);
        return LongStream.generate(r::nextLong).limit(6);
    }

    static List<String> endpoints(SplittableRandom r, int n) {
        List<String> out = new ArrayList<>();
        int base = r.nextInt(200);
        for (int i = 0; i < n; i++) out.add("10." + base + "." + (i / 250) + "." + (i % 250 + 1) + ":" + (80 + r.nextInt(3)));
        return out;
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void sharesAreWithinOnePercentOfWeights(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int n = 2 + r.nextInt(30);
        List<String> eps = endpoints(r, n);
        List<Integer> weights = new ArrayList<>();
        for (int i = 0; i < n; i++) weights.add(1 + r.nextInt(5));
        List<Integer> table = MaglevTable.build(eps, weights, SIZE);
        assertThat(table).hasSize(SIZE);
        int total = weights.stream().mapToInt(Integer::intValue).sum();
        int[] count = new int[n];
        for (int b : table) count[b]++;
        for (int i = 0; i < n; i++) {
            double want = (double) weights.get(i) / total;
            double got = (double) count[i] / SIZE;
            assertThat(Math.abs(got - want)).as("backend %d of %d, weight %d", i, n, weights.get(i)).isLessThanOrEqualTo(0.01 * want);
        }
        assertThat(MaglevTable.build(eps, weights, SIZE)).as("deterministic").isEqualTo(table);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void removingOrAddingOneBackendMovesLittleMoreThanItsShare(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int n = 3 + r.nextInt(30);
        List<String> eps = endpoints(r, n);
        List<Integer> ones = new ArrayList<>();
        for (int i = 0; i < n; i++) ones.add(1);
        List<Integer> before = MaglevTable.build(eps, ones, SIZE);
        int gone = r.nextInt(n);
        List<String> fewer = new ArrayList<>(eps);
        fewer.remove(gone);
        List<Integer> after = MaglevTable.build(fewer, ones.subList(1, n), SIZE);
        int moved = 0;
        for (int i = 0; i < SIZE; i++) {
            String was = eps.get(before.get(i));
            String now = fewer.get(after.get(i));
            if (!was.equals(now)) moved++;
        }
        // Entries of the removed backend must move (1/N); others move only by Maglev's small disruption.
        double share = 1.0 / n;
        assertThat((double) moved / SIZE).as("removed %d of %d", gone, n).isGreaterThanOrEqualTo(share * 0.99)
                .isLessThanOrEqualTo(share + 0.02 + share * 0.5);
        // Adding it back is the reverse transition.
        assertThat(MaglevTable.build(eps, ones, SIZE)).isEqualTo(before);
        int movedBack = 0;
        for (int i = 0; i < SIZE; i++) if (!fewer.get(after.get(i)).equals(eps.get(before.get(i)))) movedBack++;
        assertThat(movedBack).isEqualTo(moved);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void addingANewBackendMovesAboutItsShare(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int n = 3 + r.nextInt(30);
        List<String> eps = endpoints(r, n + 1);
        List<Integer> ones = new ArrayList<>();
        for (int i = 0; i <= n; i++) ones.add(1);
        List<Integer> before = MaglevTable.build(eps.subList(0, n), ones.subList(0, n), SIZE);
        List<Integer> after = MaglevTable.build(eps, ones, SIZE);
        int moved = 0, toNew = 0;
        for (int i = 0; i < SIZE; i++) {
            if (!eps.get(before.get(i)).equals(eps.get(after.get(i)))) moved++;
            if (after.get(i) == n) toNew++;
        }
        double share = 1.0 / (n + 1);
        assertThat((double) toNew / SIZE).isCloseTo(share, org.assertj.core.data.Offset.offset(0.01 * share + 1e-4));
        assertThat((double) moved / SIZE).isLessThanOrEqualTo(share + 0.02 + share * 0.5);
    }
}
