package io.nflb.lint;

import java.util.Arrays;

/**
 * A set of ints as sorted, disjoint, non-adjacent inclusive ranges: the values one field of a packet class may
 * take (protocols, ports, address segments, interface and conntrack atoms). Immutable.
 */
final class IntSet {

    static final IntSet EMPTY = new IntSet(new int[0]);

    /** lo0, hi0, lo1, hi1, ... */
    private final int[] r;
    private int hash;

    private IntSet(int[] ranges) {
        this.r = ranges;
    }

    static IntSet range(int lo, int hi) {
        return lo > hi ? EMPTY : new IntSet(new int[] {lo, hi});
    }

    static IntSet of(int value) {
        return range(value, value);
    }

    boolean isEmpty() {
        return r.length == 0;
    }

    int ranges() {
        return r.length / 2;
    }

    int lo(int i) {
        return r[2 * i];
    }

    int hi(int i) {
        return r[2 * i + 1];
    }

    int first() {
        return r[0];
    }

    long count() {
        long n = 0;
        for (int i = 0; i < r.length; i += 2) n += (long) r[i + 1] - r[i] + 1;
        return n;
    }

    boolean contains(int v) {
        int lo = 0;
        int hi = r.length / 2 - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (v < r[2 * mid]) hi = mid - 1;
            else if (v > r[2 * mid + 1]) lo = mid + 1;
            else return true;
        }
        return false;
    }

    boolean intersects(IntSet o) {
        int i = 0;
        int j = 0;
        while (i < r.length && j < o.r.length) {
            if (r[i + 1] < o.r[j]) i += 2;
            else if (o.r[j + 1] < r[i]) j += 2;
            else return true;
        }
        return false;
    }

    boolean containsAll(IntSet o) {
        if (o.r.length == 0) return true;
        if (r.length == 2) return r[0] <= o.r[0] && o.r[o.r.length - 1] <= r[1];
        int i = 0;
        for (int j = 0; j < o.r.length; j += 2) {
            while (i < r.length && r[i + 1] < o.r[j]) i += 2;
            if (i >= r.length || r[i] > o.r[j] || r[i + 1] < o.r[j + 1]) return false;
        }
        return true;
    }

    IntSet and(IntSet o) {
        if (o == this || r.length == 0) return this;
        if (o.r.length == 0) return o;
        // One range holding all of the other set: the other set (the common case of an unconstrained field).
        if (o.r.length == 2 && o.r[0] <= r[0] && r[r.length - 1] <= o.r[1]) return this;
        if (r.length == 2 && r[0] <= o.r[0] && o.r[o.r.length - 1] <= r[1]) return o;
        int[] out = new int[Math.min(r.length + o.r.length, 2 * (r.length + o.r.length))];
        int n = 0;
        int i = 0;
        int j = 0;
        while (i < r.length && j < o.r.length) {
            int lo = Math.max(r[i], o.r[j]);
            int hi = Math.min(r[i + 1], o.r[j + 1]);
            if (lo <= hi) {
                out = grow(out, n);
                out[n++] = lo;
                out[n++] = hi;
            }
            if (r[i + 1] < o.r[j + 1]) i += 2;
            else j += 2;
        }
        return make(out, n);
    }

    IntSet minus(IntSet o) {
        if (o.isEmpty() || isEmpty()) return this;
        if (o.r.length == 2 && o.r[0] <= r[0] && r[r.length - 1] <= o.r[1]) return EMPTY;
        if (o.r[o.r.length - 1] < r[0] || r[r.length - 1] < o.r[0]) return this;
        int[] out = new int[r.length + o.r.length + 2];
        int n = 0;
        int j = 0;
        for (int i = 0; i < r.length; i += 2) {
            long lo = r[i];
            long hi = r[i + 1];
            while (j < o.r.length && o.r[j + 1] < lo) j += 2;
            int k = j;
            while (lo <= hi && k < o.r.length && o.r[k] <= hi) {
                if (o.r[k] > lo) {
                    out = grow(out, n);
                    out[n++] = (int) lo;
                    out[n++] = o.r[k] - 1;
                }
                lo = (long) o.r[k + 1] + 1;
                k += 2;
            }
            if (lo <= hi) {
                out = grow(out, n);
                out[n++] = (int) lo;
                out[n++] = (int) hi;
            }
        }
        if (n == r.length && Arrays.equals(r, 0, n, out, 0, n)) return this;
        return make(out, n);
    }

    IntSet or(IntSet o) {
        if (o.isEmpty()) return this;
        if (isEmpty()) return o;
        int[] out = new int[r.length + o.r.length];
        int n = 0;
        int i = 0;
        int j = 0;
        while (i < r.length || j < o.r.length) {
            int lo;
            int hi;
            if (j >= o.r.length || (i < r.length && r[i] <= o.r[j])) {
                lo = r[i];
                hi = r[i + 1];
                i += 2;
            } else {
                lo = o.r[j];
                hi = o.r[j + 1];
                j += 2;
            }
            if (n > 0 && (long) lo <= (long) out[n - 1] + 1) {
                out[n - 1] = Math.max(out[n - 1], hi);
            } else {
                out[n++] = lo;
                out[n++] = hi;
            }
        }
        return make(out, n);
    }

    private static int[] grow(int[] a, int n) {
        return n + 2 <= a.length ? a : Arrays.copyOf(a, Math.max(4, a.length * 2));
    }

    private static IntSet make(int[] a, int n) {
        return n == 0 ? EMPTY : new IntSet(n == a.length ? a : Arrays.copyOf(a, n));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IntSet s && (s == this || Arrays.equals(r, s.r));
    }

    @Override
    public int hashCode() {
        int h = hash;
        if (h == 0) hash = h = Arrays.hashCode(r) | 1;
        return h;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < r.length; i += 2) {
            if (sb.length() > 0) sb.append(',');
            sb.append(r[i]);
            if (r[i + 1] != r[i]) sb.append(r[i + 1] == r[i] + 1 ? "," : "-").append(r[i + 1]);
        }
        return sb.toString();
    }
}
