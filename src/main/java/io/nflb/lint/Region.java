package io.nflb.lint;

import java.util.ArrayList;
import java.util.List;

/**
 * A union of {@link Box}es: the packets that may be at some point of a walk. Always an over-approximation
 * of the real set ("may"): when an operation would need more than {@link #CAP} boxes, a subtraction is not
 * done and a union becomes the hull of its boxes, so precision is lost but no claim becomes false. Immutable.
 */
final class Region {

    static final int CAP = 256;
    static final Region EMPTY = new Region(List.of());

    final List<Box> boxes;

    private Region(List<Box> boxes) {
        this.boxes = boxes;
    }

    static Region of(Box b) {
        return b == null ? EMPTY : new Region(List.of(b));
    }

    boolean isEmpty() {
        return boxes.isEmpty();
    }

    Region and(Box b) {
        if (b == null) return EMPTY;
        List<Box> out = null;
        for (int i = 0; i < boxes.size(); i++) {
            Box x = boxes.get(i);
            Box y = x.and(b);
            if (y == x && out == null) continue;
            if (out == null) out = new ArrayList<>(boxes.subList(0, i));
            if (y != null) out.add(y);
        }
        return out == null ? this : out.isEmpty() ? EMPTY : new Region(out);
    }

    boolean intersects(Box b) {
        if (b == null) return false;
        for (Box x : boxes) {
            if (x.intersects(b)) return true;
        }
        return false;
    }

    /** This region without the packets of {@code b}; unchanged (still sound) when that needs too many boxes. */
    Region minus(Box b, Space space) {
        if (b == null) return this;
        List<Box> out = null;
        for (int i = 0; i < boxes.size(); i++) {
            Box x = boxes.get(i);
            if (!x.intersects(b)) {
                if (out != null) out.add(x);
                continue;
            }
            if (out == null) out = new ArrayList<>(boxes.subList(0, i));
            out.addAll(x.minus(b));
        }
        if (out == null) return this;
        if (out.size() > CAP) {
            space.capped++;
            return this;
        }
        return out.isEmpty() ? EMPTY : new Region(merge(out));
    }

    Region or(Region o, Space space) {
        if (o.isEmpty()) return this;
        if (isEmpty()) return o;
        List<Box> out = new ArrayList<>(boxes.size() + o.boxes.size());
        out.addAll(boxes);
        for (Box b : o.boxes) {
            if (!out.contains(b)) out.add(b);
        }
        out = merge(out);
        if (out.size() > CAP) {
            space.capped++;
            return of(hull(out));
        }
        return new Region(out);
    }

    /** The smallest box holding every box of the region (null when empty). */
    Box hull() {
        return boxes.isEmpty() ? null : hull(boxes);
    }

    private static Box hull(List<Box> boxes) {
        IntSet[] f = boxes.get(0).f.clone();
        for (Box b : boxes) {
            for (int i = 0; i < Box.FIELDS; i++) {
                if (f[i] != b.f[i]) f[i] = f[i].or(b.f[i]);
            }
        }
        return new Box(f);
    }

    /** The union of one field's sets over all boxes. */
    IntSet project(int field) {
        IntSet out = IntSet.EMPTY;
        for (Box b : boxes) out = out.or(b.f[field]);
        return out;
    }

    /**
     * Boxes equal in all fields but one become one box (their union in that field): cheap, exact, and it keeps
     * regions from splitting needlessly. Each box is merged into an earlier one where it can be.
     */
    private static List<Box> merge(List<Box> in) {
        if (in.size() < 2 || in.size() > 64) return in;
        List<Box> out = new ArrayList<>(in.size());
        for (Box b : in) {
            Box cur = b;
            boolean merged = true;
            while (merged) {
                merged = false;
                for (int i = 0; i < out.size(); i++) {
                    Box a = out.get(i);
                    int field = a.differsOnlyIn(cur);
                    if (field == -1) {
                        out.remove(i);
                        merged = true;
                        break;
                    }
                    if (field >= 0) {
                        cur = a.with(field, a.f[field].or(cur.f[field]));
                        out.remove(i);
                        merged = true;
                        break;
                    }
                }
            }
            out.add(cur);
        }
        return out;
    }

    @Override
    public String toString() {
        return boxes.toString();
    }
}
