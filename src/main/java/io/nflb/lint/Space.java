package io.nflb.lint;

import io.nflb.explain.Cidr;
import io.nflb.explain.Match;
import io.nflb.explain.RuleSet;
import io.nflb.explain.Target;

import io.nflb.model.IpAddress;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * The coordinates of one dump's packet classes. Addresses: the dump's own boundaries (every CIDR's first
 * address and the one after its last, every DNAT range) cut the address space into segments that every rule
 * treats alike, and an address set is a set of segment numbers (the "IP space partition" of Iptables_Semantics).
 * Interfaces: atoms, each named by a witness (the empty name of a hook without that interface, each exact name,
 * "a name starting with stem S and nothing longer the dump names", "a name no pattern of the dump names");
 * a pattern is the set of atoms whose witness it matches, as the kernel matches names. Conntrack: the state
 * times the DNAT and SNAT flags, 20 atoms.
 */
final class Space {

    static final String[] STATES = {"NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED"};
    static final int CT_ATOMS = 20;
    private static final int DNAT_FLAG = 2;
    private static final int SNAT_FLAG = 1;

    final boolean v6;
    private final int bits;
    /** Segment i is [bounds[i], bounds[i+1]-1]; bounds[0] = 0 and the last segment ends at 2^bits - 1. */
    private final BigInteger[] bounds;
    private final double[] segmentSize;
    final List<String> atoms;
    final IntSet[] full = new IntSet[Box.FIELDS];
    final Box all;
    /** How many times a region was simplified because it would have needed more than {@link Region#CAP} boxes. */
    int capped;

    Space(RuleSet dump) {
        this.v6 = dump.v6();
        this.bits = v6 ? 128 : 32;
        TreeSet<BigInteger> cuts = new TreeSet<>();
        cuts.add(BigInteger.ZERO);
        TreeSet<String> exact = new TreeSet<>();
        TreeSet<String> stems = new TreeSet<>();
        for (RuleSet.Table t : dump.tables().values()) {
            for (RuleSet.Chain c : t.chains().values()) {
                for (RuleSet.Rule r : c.rules()) {
                    for (Match m : r.matches()) {
                        if (m instanceof Match.Address a && a.cidr().isV6() == v6) {
                            BigInteger[] lohi = range(a.cidr());
                            cuts.add(lohi[0]);
                            cuts.add(lohi[1].add(BigInteger.ONE));
                        } else if (m instanceof Match.Interface i) {
                            if (i.name().endsWith("+")) stems.add(i.name().substring(0, i.name().length() - 1));
                            else exact.add(i.name());
                        }
                    }
                    if (r.target() instanceof Target.Dnat d && !d.firstAddress().isEmpty()) {
                        cuts.add(value(d.firstAddress()));
                        cuts.add(value(d.lastAddress()).add(BigInteger.ONE));
                    }
                }
            }
        }
        BigInteger end = BigInteger.ONE.shiftLeft(bits);
        cuts.remove(end);
        bounds = cuts.toArray(new BigInteger[0]);
        segmentSize = new double[bounds.length];
        for (int i = 0; i < bounds.length; i++) {
            segmentSize[i] = (i + 1 < bounds.length ? bounds[i + 1] : end).subtract(bounds[i]).doubleValue();
        }
        atoms = interfaceAtoms(exact, stems);
        full[Box.PROTO] = IntSet.range(0, 255);
        full[Box.SRC] = full[Box.DST] = IntSet.range(0, bounds.length - 1);
        full[Box.SPORT] = full[Box.DPORT] = IntSet.range(0, 65535);
        full[Box.IIF] = full[Box.OIF] = IntSet.range(0, atoms.size() - 1);
        full[Box.CT] = IntSet.range(0, CT_ATOMS - 1);
        all = new Box(full.clone());
    }

    // ------------------------------------------------------------------ addresses

    static BigInteger value(String address) {
        return new BigInteger(1, Cidr.address(address).orElseThrow());
    }

    private BigInteger[] range(Cidr c) {
        BigInteger net = new BigInteger(1, c.network());
        int host = bits - c.prefix();
        BigInteger lo = net.shiftRight(host).shiftLeft(host);
        return new BigInteger[] {lo, lo.add(BigInteger.ONE.shiftLeft(host)).subtract(BigInteger.ONE)};
    }

    private int segment(BigInteger v) {
        int i = Arrays.binarySearch(bounds, v);
        return i >= 0 ? i : -i - 2;
    }

    IntSet addresses(Cidr c) {
        BigInteger[] lohi = range(c);
        return IntSet.range(segment(lohi[0]), segment(lohi[1]));
    }

    IntSet addresses(String first, String last) {
        return IntSet.range(segment(value(first)), segment(value(last)));
    }

    /** How many addresses a set of segments holds (a double: IPv6 sets are large). */
    double addressCount(IntSet segments) {
        double n = 0;
        for (int i = 0; i < segments.ranges(); i++) {
            for (int s = segments.lo(i); s <= segments.hi(i); s++) n += segmentSize[s];
        }
        return n;
    }

    /** Documentation addresses (RFC 5737 / 3849) stand for "any address" when the set has them. */
    private static final String[] DOC_V4 = {"203.0.113.10", "198.51.100.10", "192.0.2.10"};
    private static final String[] DOC_V6 = {"2001:db8::10"};

    /** A typical member: a documentation address when the set has one, else the first address of its largest segment. */
    String witnessAddress(IntSet segments) {
        for (String doc : v6 ? DOC_V6 : DOC_V4) {
            if (segments.contains(segment(value(doc)))) return doc;
        }
        int best = segments.first();
        for (int i = 0; i < segments.ranges(); i++) {
            for (int s = segments.lo(i); s <= segments.hi(i) && s - segments.lo(i) < 4096; s++) {
                if (segmentSize[s] > segmentSize[best]) best = s;
            }
        }
        BigInteger v = bounds[best];
        if (segmentSize[best] > 2 && !v6) v = v.add(BigInteger.ONE); // not the network address
        return format(v);
    }

    /** An address set as CIDRs and ranges, for messages: "10.0.0.0/8", "192.0.2.1-192.0.2.9", "any". */
    String describeAddresses(IntSet segments) {
        if (segments.equals(full[Box.SRC])) return "any address";
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < segments.ranges() && parts.size() < 4; i++) {
            BigInteger lo = bounds[segments.lo(i)];
            int h = segments.hi(i);
            BigInteger hi = (h + 1 < bounds.length ? bounds[h + 1] : BigInteger.ONE.shiftLeft(bits)).subtract(BigInteger.ONE);
            parts.add(describe(lo, hi));
        }
        if (segments.ranges() > 4) parts.add("...");
        return String.join(", ", parts);
    }

    private String describe(BigInteger lo, BigInteger hi) {
        BigInteger size = hi.subtract(lo).add(BigInteger.ONE);
        boolean aligned = lo.signum() == 0 || lo.getLowestSetBit() >= size.getLowestSetBit();
        if (size.bitCount() == 1 && aligned) { // a CIDR block
            int prefix = bits - size.getLowestSetBit();
            return format(lo) + (prefix == bits ? "" : "/" + prefix);
        }
        return format(lo) + "-" + format(hi);
    }

    String format(BigInteger v) {
        byte[] raw = v.toByteArray();
        byte[] b = new byte[bits / 8];
        System.arraycopy(raw, Math.max(0, raw.length - b.length), b, Math.max(0, b.length - raw.length), Math.min(raw.length, b.length));
        boolean mapped = v6 && v.shiftRight(32).equals(BigInteger.valueOf(0xffff));
        try {
            // InetAddress makes an IPv4-mapped IPv6 address IPv4: the dump wrote it as IPv6, so do messages.
            String text = new IpAddress(InetAddress.getByAddress(b)).toString();
            return mapped ? "::ffff:" + text : text;
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------ interfaces

    private static List<String> interfaceAtoms(Set<String> exact, Set<String> stems) {
        List<String> atoms = new ArrayList<>();
        atoms.add("");
        atoms.addAll(exact);
        for (String s : stems) {
            if (s.isEmpty()) continue;
            String w = witness(s, exact, stems);
            if (w != null && !atoms.contains(w)) atoms.add(w);
        }
        String none = witness("", exact, stems);
        if (none != null && !atoms.contains(none)) atoms.add(none);
        return List.copyOf(atoms);
    }

    /** A name starting with {@code stem} that no exact name equals and no longer stem of the dump starts. */
    private static String witness(String stem, Set<String> exact, Set<String> stems) {
        String[] suffixes = {"z9", "zz9", "q7", "x0", "_9", "zzz9", ".9"};
        for (String suffix : suffixes) {
            String w = stem + suffix;
            if (exact.contains(w)) continue;
            boolean clash = false;
            for (String t : stems) {
                if (t.length() > stem.length() && w.startsWith(t)) clash = true;
                if (stem.isEmpty() && !t.isEmpty() && w.startsWith(t)) clash = true;
            }
            if (!clash) return w;
        }
        return null;
    }

    IntSet iface(String pattern) {
        boolean wildcard = pattern.endsWith("+");
        String stem = wildcard ? pattern.substring(0, pattern.length() - 1) : pattern;
        IntSet out = IntSet.EMPTY;
        for (int i = 0; i < atoms.size(); i++) {
            String a = atoms.get(i);
            if (wildcard ? a.startsWith(stem) : a.equals(stem)) out = out.or(IntSet.of(i));
        }
        return out;
    }

    IntSet noInterface() {
        return IntSet.of(0);
    }

    IntSet someInterface() {
        return IntSet.range(1, atoms.size() - 1);
    }

    String describeInterfaces(IntSet set) {
        if (set.equals(full[Box.IIF])) return "any interface";
        List<String> names = new ArrayList<>();
        for (int i = 0; i < set.ranges(); i++) {
            for (int a = set.lo(i); a <= set.hi(i); a++) names.add(atoms.get(a).isEmpty() ? "(none)" : atoms.get(a));
        }
        return String.join(", ", names);
    }

    // ------------------------------------------------------------------ conntrack

    /** --state (states only) or --ctstate (states and the SNAT/DNAT flags): atoms any listed word applies to. */
    IntSet ct(Set<String> words) {
        IntSet out = IntSet.EMPTY;
        for (int atom = 0; atom < CT_ATOMS; atom++) {
            String state = STATES[atom / 4];
            boolean hit = words.contains(state) || (words.contains("DNAT") && (atom & DNAT_FLAG) != 0)
                    || (words.contains("SNAT") && (atom & SNAT_FLAG) != 0);
            if (hit) out = out.or(IntSet.of(atom));
        }
        return out;
    }

    /** The first packet of a new connection; {@code dnat}: after a DNAT (its flag set). */
    IntSet ctNew(boolean dnat) {
        return dnat ? IntSet.range(DNAT_FLAG, DNAT_FLAG + SNAT_FLAG) : IntSet.range(0, 3);
    }

    // ------------------------------------------------------------------ boxes

    /** The packets a built-in chain sees: which interfaces exist at its hook, and nat's first packets only. */
    Box hook(String table, String chain) {
        Box b = all;
        switch (chain) {
            case "PREROUTING", "INPUT" -> b = b.with(Box.OIF, noInterface()).with(Box.IIF, someInterface());
            case "OUTPUT", "POSTROUTING" -> b = b.with(Box.IIF, noInterface()).with(Box.OIF, someInterface());
            case "FORWARD" -> b = b.with(Box.IIF, someInterface()).with(Box.OIF, someInterface());
            default -> {
            }
        }
        if (table.equals("nat")) b = b.with(Box.CT, ctNew(false).or(ctNew(true)));
        return b;
    }

    /** The number of packets a box stands for, counting interface and conntrack atoms as one each. */
    double volume(Box b) {
        double v = addressCount(b.f[Box.SRC]) * addressCount(b.f[Box.DST]);
        v *= b.f[Box.PROTO].count() * (double) b.f[Box.SPORT].count() * b.f[Box.DPORT].count();
        return v * b.f[Box.IIF].count() * b.f[Box.OIF].count() * b.f[Box.CT].count();
    }

    double volume(Region r) {
        double v = 0;
        for (Box b : r.boxes) v += volume(b);
        return v;
    }

    static String ports(IntSet set) {
        if (set.equals(IntSet.range(0, 65535))) return "any port";
        return set.toString().toLowerCase(Locale.ROOT);
    }
}
