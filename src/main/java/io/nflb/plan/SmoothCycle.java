package io.nflb.plan;

import java.util.ArrayList;
import java.util.List;

/**
 * Expands weights into one round-robin cycle of sum(w) slots, backend i getting exactly w_i of them.
 * Smooth weighted round-robin (nginx) gives the preference order; a feasibility check keeps it from
 * painting itself into a corner, so no backend gets two slots in a row, counting the wrap-around from
 * the last slot to the first, whenever that is possible at all (largest weight at most half the total).
 */
final class SmoothCycle {

    private SmoothCycle() {
    }

    static List<Integer> of(List<Integer> weights) {
        if (weights.isEmpty()) throw new IllegalArgumentException("no weights");
        int n = weights.size();
        long total = 0;
        int biggest = 0;
        for (int i = 0; i < n; i++) {
            int w = weights.get(i);
            if (w < 1) throw new IllegalArgumentException("weight must be positive: " + w);
            total += w;
            if (w > weights.get(biggest)) biggest = i;
        }
        if (total > 10_000_000) throw new IllegalArgumentException("round-robin cycle too long: " + total);
        if (2L * weights.get(biggest) > total) return dominated(weights, biggest);
        return interleaved(weights, (int) total);
    }

    /** Greedy over the smooth-WRR preference order, taking the first candidate that keeps a completion possible. */
    private static List<Integer> interleaved(List<Integer> weights, int total) {
        int n = weights.size();
        long[] current = new long[n];
        int[] left = new int[n];
        for (int i = 0; i < n; i++) left[i] = weights.get(i);
        List<Integer> slots = new ArrayList<>(total);
        Integer[] order = new Integer[n];
        int first = -1;
        int previous = -1;
        for (int pos = 0; pos < total; pos++) {
            for (int i = 0; i < n; i++) current[i] += weights.get(i);
            for (int i = 0; i < n; i++) order[i] = i;
            java.util.Arrays.sort(order, (a, b) -> current[a] != current[b] ? Long.compare(current[b], current[a]) : Integer.compare(a, b));
            int chosen = -1;
            for (int candidate : order) {
                if (left[candidate] == 0 || candidate == previous) continue;
                left[candidate]--;
                boolean ok = completable(left, total - pos - 1, candidate, first < 0 ? candidate : first);
                if (ok) {
                    chosen = candidate;
                    break;
                }
                left[candidate]++;
            }
            if (chosen < 0) throw new IllegalStateException("no adjacency-free cycle found for " + weights);
            current[chosen] -= total;
            if (first < 0) first = chosen;
            previous = chosen;
            slots.add(chosen);
        }
        return slots;
    }

    /**
     * Whether {@code left} can fill the remaining {@code remaining} slots with no two equal neighbours, after
     * a slot holding {@code previous} and before the wrap to the first slot holding {@code first}. A backend
     * that may not stand at one end fits at most floor(R/2) times, at neither end floor((R-1)/2), else ceil(R/2).
     */
    static boolean completable(int[] left, int remaining, int previous, int first) {
        for (int i = 0; i < left.length; i++) {
            if (left[i] == 0) continue;
            int cap;
            if (i == previous && i == first) cap = (remaining - 1) / 2;
            else if (i == previous || i == first) cap = remaining / 2;
            else cap = (remaining + 1) / 2;
            if (left[i] > cap) return false;
        }
        return true;
    }

    /**
     * One backend has more than half the slots, so it must sit next to itself somewhere: every other slot
     * gets its own gap of the big backend, and the gaps differ in length by at most one.
     */
    private static List<Integer> dominated(List<Integer> weights, int big) {
        List<Integer> otherWeights = new ArrayList<>();
        List<Integer> otherIndex = new ArrayList<>();
        for (int i = 0; i < weights.size(); i++) {
            if (i == big) continue;
            otherWeights.add(weights.get(i));
            otherIndex.add(i);
        }
        int bigWeight = weights.get(big);
        List<Integer> slots = new ArrayList<>();
        if (otherWeights.isEmpty()) {
            for (int k = 0; k < bigWeight; k++) slots.add(big);
            return slots;
        }
        List<Integer> others = smoothOrder(otherWeights);
        int gaps = others.size();
        for (int j = 0; j < gaps; j++) {
            long run = (long) (j + 1) * bigWeight / gaps - (long) j * bigWeight / gaps;
            for (long k = 0; k < run; k++) slots.add(big);
            slots.add(otherIndex.get(others.get(j)));
        }
        return slots;
    }

    /** Plain smooth weighted round-robin; used where adjacency cannot matter. */
    private static List<Integer> smoothOrder(List<Integer> weights) {
        int n = weights.size();
        int total = weights.stream().mapToInt(Integer::intValue).sum();
        long[] current = new long[n];
        List<Integer> order = new ArrayList<>(total);
        for (int pos = 0; pos < total; pos++) {
            int best = 0;
            for (int i = 0; i < n; i++) {
                current[i] += weights.get(i);
                if (current[i] > current[best]) best = i;
            }
            current[best] -= total;
            order.add(best);
        }
        return order;
    }
}
