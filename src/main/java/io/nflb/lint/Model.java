package io.nflb.lint;

import io.nflb.explain.Match;
import io.nflb.explain.RuleSet;
import io.nflb.explain.Target;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A dump compiled for analysis: each rule its {@link Box} (the conditions lint models, exactly), its opaque
 * literals (the conditions it does not: a stateless one is identified by its canonical text, so an exact
 * duplicate sees the same value; a stateful one is its own), and what its target does ({@link Kind}).
 */
final class Model {

    enum Kind {
        /** LOG, MARK, no target...: the packet goes on. */
        CONTINUE,
        ACCEPT,
        /** DROP or REJECT. */
        DROP,
        RETURN,
        JUMP,
        GOTO,
        DNAT,
        /** SNAT, MASQUERADE, REDIRECT, NETMAP: the nat table is done with the packet. */
        NAT,
        /** QUEUE, NFQUEUE, TPROXY, SYNPROXY: decided, but not by a verdict lint knows. */
        OTHER_VERDICT,
        /** An extension target lint does not know: it may do anything. */
        UNKNOWN,
        /** A rule lint could not read (or iptables would refuse): it may match anything and do anything. */
        WILDCARD
    }

    /** Targets after which the packet is changed in a way later conditions can see. */
    private static final Set<String> MODIFYING = Set.of("MARK", "CONNMARK", "DSCP", "TOS", "TTL", "HL", "SET", "CT",
            "NOTRACK", "SECMARK", "CONNSECMARK", "HMARK", "ECN", "CLASSIFY", "TCPOPTSTRIP", "IDLETIMER", "RATEEST");
    /** Targets that change addresses in the middle of a table: nothing after them is modelled. */
    private static final Set<String> REWRITING = Set.of("DNPT", "SNPT");

    static final class Table {
        final String name;
        final Map<String, Chain> chains = new LinkedHashMap<>();

        Table(String name) {
            this.name = name;
        }
    }

    static final class Chain {
        final String name;
        final String table;
        final String policy;
        final int line;
        final List<Rule> rules = new ArrayList<>();
        final List<Rule> callers = new ArrayList<>();
        Boolean modifiesDeep;
        /** The fields any rule of this chain or of the chains it reaches tests (bit i: field i); -1 until known. */
        int fieldsDeep = -1;

        Chain(String name, String table, String policy, int line) {
            this.name = name;
            this.table = table;
            this.policy = policy;
            this.line = line;
        }

        boolean builtin() {
            return policy != null;
        }
    }

    static final class Rule {
        final RuleSet.Rule source;
        final Chain chain;
        final int index;
        final Box box;
        final int[] literals;
        final boolean stateful;
        Kind kind;
        Chain target;
        /** For a jump that closes a loop: the chain it names (its target is then null). */
        Chain loopTarget;
        final boolean modifies;

        Rule(RuleSet.Rule source, Chain chain, int index, Box box, int[] literals, boolean stateful, Kind kind, boolean modifies) {
            this.source = source;
            this.chain = chain;
            this.index = index;
            this.box = box;
            this.literals = literals;
            this.stateful = stateful;
            this.kind = kind;
            this.modifies = modifies;
        }

        int line() {
            return source.line();
        }

        String text() {
            return source.text();
        }

        boolean opaque() {
            return literals.length > 0;
        }

        /** Jumps or goes to a chain whose rules (or theirs) change the packet. */
        boolean modifiesDeep() {
            return modifies || ((kind == Kind.JUMP || kind == Kind.GOTO) && target.modifiesDeep);
        }

        @Override
        public String toString() {
            return "line " + line() + " (" + text() + ")";
        }
    }

    final Space space;
    final Map<String, Table> tables = new LinkedHashMap<>();
    /** Per literal id: whether its value can depend on earlier packets. */
    private final List<Boolean> statefulLiteral = new ArrayList<>();
    private final Map<String, Integer> literalIds = new HashMap<>();
    /** Rules with a condition lint does not model or a target it does not know. */
    int opaqueRules;

    Model(RuleSet dump) {
        this.space = new Space(dump);
        for (RuleSet.Table t : dump.tables().values()) {
            Table table = new Table(t.name());
            tables.put(t.name(), table);
            for (RuleSet.Chain c : t.chains().values()) table.chains.put(c.name(), new Chain(c.name(), t.name(), c.policy(), c.line()));
            for (RuleSet.Chain c : t.chains().values()) {
                Chain chain = table.chains.get(c.name());
                for (RuleSet.Rule r : c.rules()) chain.rules.add(compile(table, chain, r));
            }
            breakLoops(table);
            for (Chain c : table.chains.values()) {
                for (Rule r : c.rules) {
                    if (r.target != null) r.target.callers.add(r);
                }
            }
            for (Chain c : table.chains.values()) modifies(c, new java.util.HashSet<>());
        }
    }

    /** Jumps that close a loop (iptables refuses them): each becomes a rule that may do anything. */
    final List<Rule> loops = new ArrayList<>();

    private void breakLoops(Table table) {
        Map<Chain, Integer> state = new HashMap<>(); // 1: on the path, 2: done
        List<Chain> order = new ArrayList<>();
        for (Chain c : table.chains.values()) if (c.builtin()) order.add(c);
        for (Chain c : table.chains.values()) if (!c.builtin()) order.add(c);
        for (Chain c : order) visit(c, state);
    }

    private void visit(Chain c, Map<Chain, Integer> state) {
        if (state.containsKey(c)) return;
        state.put(c, 1);
        for (Rule r : c.rules) {
            if (r.target == null) continue;
            Integer s = state.get(r.target);
            if (s != null && s == 1) {
                loops.add(r);
                r.loopTarget = r.target;
                r.target = null;
                if (r.kind != Kind.WILDCARD) r.kind = Kind.UNKNOWN;
            } else {
                visit(r.target, state);
            }
        }
        state.put(c, 2);
    }

    /** Which fields the rules of {@code c} and of every chain it reaches test: a walk of c depends only on these. */
    int fields(Chain c) {
        if (c.fieldsDeep >= 0) return c.fieldsDeep;
        c.fieldsDeep = 0; // a loop contributes nothing more
        int mask = 0;
        for (Rule r : c.rules) {
            if (r.box != null) {
                for (int i = 0; i < Box.FIELDS; i++) {
                    if (r.box.f[i] != space.full[i] && !r.box.f[i].equals(space.full[i])) mask |= 1 << i;
                }
            }
            if (r.target != null && r.kind != Kind.WILDCARD) mask |= fields(r.target);
        }
        c.fieldsDeep = mask;
        return mask;
    }

    boolean stateful(int literal) {
        return statefulLiteral.get(literal);
    }

    private static boolean modifies(Chain c, java.util.Set<Chain> seen) {
        if (c.modifiesDeep != null) return c.modifiesDeep;
        if (!seen.add(c)) return false;
        boolean m = false;
        for (Rule r : c.rules) {
            if (r.modifies || r.kind == Kind.WILDCARD || r.kind == Kind.UNKNOWN) m = true;
            if (r.target != null && modifies(r.target, seen)) m = true;
        }
        c.modifiesDeep = m;
        return m;
    }

    private Rule compile(Table table, Chain chain, RuleSet.Rule r) {
        int index = chain.rules.size();
        if (!r.understood()) {
            // It may match anything and do anything, including jump to the chain it names.
            Rule wild = new Rule(r, chain, index, space.all, new int[0], false, Kind.WILDCARD, true);
            String[] w = r.text().split("\\s+");
            for (int i = 0; i + 1 < w.length; i++) {
                if (w[i].equals("-j") || w[i].equals("-g") || w[i].equals("--jump") || w[i].equals("--goto")) {
                    wild.target = table.chains.get(w[i + 1]);
                }
            }
            opaqueRules++;
            return wild;
        }
        Box box = space.all;
        List<Integer> literals = new ArrayList<>();
        boolean stateful = false;
        boolean modifies = false;
        for (Match m : r.matches()) {
            if (box == null) break;
            if (m instanceof Match.Protocol p) {
                IntSet s = p.number() == 0 ? space.full[Box.PROTO] : IntSet.of(p.number());
                box = restrict(box, Box.PROTO, s, p.negated());
            } else if (m instanceof Match.Address a) {
                box = restrict(box, a.source() ? Box.SRC : Box.DST, space.addresses(a.cidr()), a.negated());
            } else if (m instanceof Match.Interface i) {
                box = restrict(box, i.input() ? Box.IIF : Box.OIF, space.iface(i.name()), i.negated());
            } else if (m instanceof Match.Ports p) {
                IntSet s = IntSet.EMPTY;
                for (int[] x : p.ranges()) s = s.or(IntSet.range(x[0], x[1]));
                box = restrict(box, p.destination() ? Box.DPORT : Box.SPORT, s, p.negated());
            } else if (m instanceof Match.State s) {
                box = restrict(box, Box.CT, space.ct(s.states()), s.negated());
            } else if (m instanceof Match.Recent rc && !rc.check()) {
                modifies = true; // --set / --remove always match, and change what --rcheck sees later
            } else {
                boolean st = m instanceof Match.Random || m instanceof Match.Nth || m instanceof Match.Recent
                        || (m instanceof Match.Unknown u && u.stateful());
                literals.add(literal(canonical(m), st));
                stateful |= st;
            }
        }
        Target t = r.target();
        Kind kind;
        Chain target = null;
        if (t instanceof Target.None) {
            kind = Kind.CONTINUE;
        } else if (t instanceof Target.Dnat) {
            kind = Kind.DNAT;
        } else if (t instanceof Target.Verdict v) {
            kind = switch (v.name()) {
                case "ACCEPT" -> Kind.ACCEPT;
                case "DROP", "REJECT" -> Kind.DROP;
                case "RETURN" -> Kind.RETURN;
                case "SNAT", "MASQUERADE", "REDIRECT", "NETMAP", "DNAT" -> Kind.NAT;
                case "QUEUE", "NFQUEUE", "TPROXY", "SYNPROXY" -> Kind.OTHER_VERDICT;
                default -> v.terminating() ? Kind.OTHER_VERDICT : REWRITING.contains(v.name()) ? Kind.UNKNOWN : Kind.CONTINUE;
            };
            modifies |= MODIFYING.contains(v.name());
        } else {
            Target.Jump j = (Target.Jump) t;
            target = table.chains.get(j.chain());
            kind = target == null ? Kind.UNKNOWN : j.goTo() ? Kind.GOTO : Kind.JUMP;
        }
        if (kind == Kind.UNKNOWN || !literals.isEmpty()) opaqueRules++;
        int[] ids = literals.stream().mapToInt(Integer::intValue).sorted().distinct().toArray();
        Rule rule = new Rule(r, chain, index, box, ids, stateful, kind, modifies);
        rule.target = target;
        return rule;
    }

    private Box restrict(Box box, int field, IntSet set, boolean negated) {
        IntSet s = negated ? space.full[field].minus(set) : set;
        IntSet now = box.get(field).and(s);
        if (now.isEmpty()) return null;
        if (now.equals(space.full[field])) return box;
        return box.with(field, now);
    }

    /** A stateless literal gets one id per canonical text (so duplicates share it), a stateful one its own. */
    private int literal(String text, boolean stateful) {
        if (!stateful) {
            Integer id = literalIds.get(text);
            if (id != null) return id;
        }
        int id = statefulLiteral.size();
        statefulLiteral.add(stateful);
        if (!stateful) literalIds.put(text, id);
        return id;
    }

    private static String canonical(Match m) {
        if (m instanceof Match.Unknown u) return u.text();
        if (m instanceof Match.AddrType a) {
            return "-m addrtype " + (a.negated() ? "! " : "") + (a.source() ? "--src-type " : "--dst-type ")
                    + String.join(",", new java.util.TreeSet<>(a.types()));
        }
        if (m instanceof Match.Recent r) return r.text();
        return m.toString();
    }

    /** Whether rule literals {@code sub} are all in {@code of} (both sorted). */
    static boolean subset(int[] sub, int[] of) {
        for (int x : sub) {
            if (Arrays.binarySearch(of, x) < 0) return false;
        }
        return true;
    }
}
