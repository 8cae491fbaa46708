package io.nflb.plan;

import io.nflb.model.Service;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Maglev lookup-table population (Eisenbud et al., NSDI 2016). Weights are honoured by giving a backend of
 * weight w that many virtual entries, each with its own preference permutation, so every virtual entry ends
 * up with floor or ceil of size/V slots and removing one backend moves little more than its own share.
 * Permutations come from SHA-256 of the backend's endpoint: stable across JVMs, routers and runs.
 */
public final class MaglevTable {

    /** Primes offered for the table size; each is a valid nft map size and far below the kernel's limits. */
    public static final List<Integer> SIZES = List.of(251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 65537, Service.MAX_MAGLEV_TABLE_SIZE);

    private MaglevTable() {
    }

    /** The smallest offered prime with at least 100 slots per virtual entry (the paper's rule of thumb). */
    public static int autoSize(int virtualEntries) {
        for (int size : SIZES) {
            if (size >= 100L * virtualEntries) return size;
        }
        return SIZES.get(SIZES.size() - 1);
    }

    /**
     * Fills a table of {@code size} entries (a prime larger than the sum of weights) with indexes into
     * {@code endpoints}. {@code weights} are parallel to {@code endpoints}.
     */
    public static List<Integer> build(List<String> endpoints, List<Integer> weights, int size) {
        if (endpoints.size() != weights.size() || endpoints.isEmpty()) {
            throw new IllegalArgumentException("need one weight per endpoint");
        }
        if (!Service.isPrime(size)) throw new IllegalArgumentException("maglev table size must be prime: " + size);
        int virtualCount = weights.stream().mapToInt(Integer::intValue).sum();
        if (virtualCount >= size) {
            throw new IllegalArgumentException("maglev table size " + size + " must exceed the sum of weights " + virtualCount);
        }
        int[] owner = new int[virtualCount];
        long[] offset = new long[virtualCount];
        long[] skip = new long[virtualCount];
        int v = 0;
        for (int b = 0; b < endpoints.size(); b++) {
            for (int k = 0; k < weights.get(b); k++, v++) {
                byte[] h = sha256(endpoints.get(b) + "#" + k);
                owner[v] = b;
                offset[v] = Long.remainderUnsigned(toLong(h, 0), size);
                skip[v] = Long.remainderUnsigned(toLong(h, 8), size - 1) + 1;
            }
        }
        int[] entry = new int[size];
        Arrays.fill(entry, -1);
        long[] next = new long[virtualCount];
        int filled = 0;
        while (true) {
            for (int i = 0; i < virtualCount; i++) {
                long c = (offset[i] + next[i] * skip[i]) % size;
                while (entry[(int) c] >= 0) {
                    next[i]++;
                    c = (offset[i] + next[i] * skip[i]) % size;
                }
                entry[(int) c] = owner[i];
                next[i]++;
                if (++filled == size) {
                    List<Integer> table = new ArrayList<>(size);
                    for (int e : entry) table.add(e);
                    return table;
                }
            }
        }
    }

    /**
     * A short fingerprint of a table: the endpoint of each slot, in slot order. Two routers whose tables have
     * the same digest send every flow to the same backend; computed alike from a plan and from the kernel's maps.
     */
    public static String digest(List<String> endpointPerSlot) {
        byte[] h = sha256(endpointPerSlot.size() + "\n" + String.join("\n", endpointPerSlot));
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) sb.append(String.format("%02x", h[i] & 0xff));
        return sb.toString();
    }

    private static long toLong(byte[] h, int from) {
        long x = 0;
        for (int i = from; i < from + 8; i++) x = (x << 8) | (h[i] & 0xff);
        return x;
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
