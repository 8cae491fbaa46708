package io.nflb.lint;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A class of packets: one {@link IntSet} per field ({@link #PROTO} ... {@link #CT}); a packet is in the box when
 * each of its fields is in the field's set. Every rule's modelled conditions are exactly one box, negations
 * included (a negation is the complement within one field). Addresses are segment numbers of the dump's own
 * address boundaries ({@link Space}), interfaces and conntrack states atoms. Immutable.
 */
final class Box {

    static final int PROTO = 0;
    static final int SRC = 1;
    static final int DST = 2;
    static final int SPORT = 3;
    static final int DPORT = 4;
    static final int IIF = 5;
    static final int OIF = 6;
    static final int CT = 7;
    static final int FIELDS = 8;
    static final String[] NAMES = {"protocol", "source", "destination", "source port", "destination port",
            "input interface", "output interface", "conntrack state"};

    final IntSet[] f;
    private int hash;

    Box(IntSet[] fields) {
        this.f = fields;
    }

    IntSet get(int field) {
        return f[field];
    }

    Box with(int field, IntSet value) {
        if (value.isEmpty()) return null;
        IntSet[] g = f.clone();
        g[field] = value;
        return new Box(g);
    }

    /** The packets in both, or null when there are none. */
    Box and(Box o) {
        IntSet[] g = null;
        for (int i = 0; i < FIELDS; i++) {
            IntSet a = f[i];
            IntSet b = o.f[i];
            if (a == b) continue;
            IntSet c = a.and(b);
            if (c.isEmpty()) return null;
            if (c.equals(a)) continue;
            if (g == null) g = f.clone();
            g[i] = c.equals(b) ? b : c;
        }
        return g == null ? this : new Box(g);
    }

    boolean intersects(Box o) {
        for (int i = 0; i < FIELDS; i++) {
            if (f[i] != o.f[i] && !f[i].intersects(o.f[i])) return false;
        }
        return true;
    }

    boolean within(Box o) {
        for (int i = 0; i < FIELDS; i++) {
            if (f[i] != o.f[i] && !o.f[i].containsAll(f[i])) return false;
        }
        return true;
    }

    /** The packets of this box not in {@code o}, as disjoint boxes (at most one per field). */
    List<Box> minus(Box o) {
        if (!intersects(o)) return List.of(this);
        List<Box> out = new ArrayList<>(2);
        IntSet[] rest = f.clone();
        for (int i = 0; i < FIELDS; i++) {
            if (rest[i] == o.f[i]) continue;
            IntSet outside = rest[i].minus(o.f[i]);
            if (outside.isEmpty()) continue;
            IntSet[] part = rest.clone();
            part[i] = outside;
            out.add(new Box(part));
            rest[i] = rest[i].and(o.f[i]);
        }
        return out;
    }

    /** Equal to {@code o} in every field but at most one: then the union is one box. */
    int differsOnlyIn(Box o) {
        int field = -1;
        for (int i = 0; i < FIELDS; i++) {
            if (f[i] == o.f[i] || f[i].equals(o.f[i])) continue;
            if (field >= 0) return -2;
            field = i;
        }
        return field;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Box b && (b == this || Arrays.equals(f, b.f));
    }

    @Override
    public int hashCode() {
        int h = hash;
        if (h == 0) hash = h = Arrays.hashCode(f) | 1;
        return h;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("{");
        for (int i = 0; i < FIELDS; i++) sb.append(i > 0 ? " " : "").append(NAMES[i].replace(' ', '-')).append('=').append(f[i]);
        return sb.append('}').toString();
    }
}
