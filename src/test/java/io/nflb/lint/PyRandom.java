package io.nflb.lint;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * CPython's random.Random (MT19937, seeded from an int as CPython seeds it), for the few methods the large
 * dump's generator uses, so {@link LargeDump} writes byte for byte what gen-large.py writes for the same seed.
 */
final class PyRandom {

    private final int[] mt = new int[624];
    private int index = 625;

    PyRandom(long seed) {
        long s = Math.abs(seed);
        List<Integer> key = new ArrayList<>();
        do {
            key.add((int) s);
            s >>>= 32;
        } while (s != 0);
        initByArray(key.stream().mapToInt(Integer::intValue).toArray());
    }

    private void initGenrand(int s) {
        mt[0] = s;
        for (int i = 1; i < 624; i++) mt[i] = 1812433253 * (mt[i - 1] ^ (mt[i - 1] >>> 30)) + i;
        index = 624;
    }

    private void initByArray(int[] key) {
        initGenrand(19650218);
        int i = 1;
        int j = 0;
        for (int k = Math.max(624, key.length); k > 0; k--) {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >>> 30)) * 1664525)) + key[j] + j;
            i++;
            j++;
            if (i >= 624) {
                mt[0] = mt[623];
                i = 1;
            }
            if (j >= key.length) j = 0;
        }
        for (int k = 623; k > 0; k--) {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >>> 30)) * 1566083941)) - i;
            i++;
            if (i >= 624) {
                mt[0] = mt[623];
                i = 1;
            }
        }
        mt[0] = 0x80000000;
    }

    private int next32() {
        if (index >= 624) {
            for (int k = 0; k < 624; k++) {
                int y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
                mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ ((y & 1) != 0 ? 0x9908b0df : 0);
            }
            index = 0;
        }
        int y = mt[index++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >>> 18;
        return y;
    }

    double random() {
        long a = (next32() & 0xffffffffL) >>> 5;
        long b = (next32() & 0xffffffffL) >>> 6;
        return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
    }

    private long bits(int k) {
        return (next32() & 0xffffffffL) >>> (32 - k);
    }

    int below(int n) {
        int k = 32 - Integer.numberOfLeadingZeros(n);
        long r = bits(k);
        while (r >= n) r = bits(k);
        return (int) r;
    }

    int randint(int a, int b) {
        return a + below(b - a + 1);
    }

    <T> T choice(List<T> seq) {
        return seq.get(below(seq.size()));
    }

    double expovariate(double lambd) {
        return -Math.log(1.0 - random()) / lambd;
    }

    /** random.sample as CPython 3.11 does it: a pool for small populations, a set of picks for large ones. */
    <T> List<T> sample(List<T> population, int k) {
        int n = population.size();
        List<T> result = new ArrayList<>(k);
        int setsize = 21;
        if (k > 5) setsize += (int) Math.pow(4, Math.ceil(Math.log(k * 3) / Math.log(4)));
        if (n <= setsize) {
            List<T> pool = new ArrayList<>(population);
            for (int i = 0; i < k; i++) {
                int j = below(n - i);
                result.add(pool.get(j));
                pool.set(j, pool.get(n - i - 1));
            }
        } else {
            Set<Integer> selected = new HashSet<>();
            for (int i = 0; i < k; i++) {
                int j = below(n);
                while (selected.contains(j)) j = below(n);
                selected.add(j);
                result.add(population.get(j));
            }
        }
        return result;
    }
}
