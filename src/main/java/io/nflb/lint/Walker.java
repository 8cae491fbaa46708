package io.nflb.lint;

import io.nflb.lint.Model.Chain;
import io.nflb.lint.Model.Kind;
import io.nflb.lint.Model.Rule;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Follows packet classes through chains with iptables' semantics, as Iptables_Semantics' big-step semantics
 * does for single packets: a jump walks the callee with the packets that match and takes back what falls off
 * its end or hits RETURN; a goto does not come back (what its chain returns goes to our caller); a terminating
 * target decides; the policy decides what falls off a built-in chain. Regions are "may" sets: a rule with a
 * condition lint does not model (an opaque literal) may match, so it never removes packets from the walk, only
 * adds to what may be decided; each call site walks its callee with its own packets (context-sensitive, what
 * unfolding calls means), and every rule visit counts against one budget (one unit per box of the packets
 * it looks at), so any input finishes.
 */
final class Walker {

    /** Thrown when the budget of rule visits is spent. */
    static final class Exhausted extends RuntimeException {
        Exhausted() {
            super("analysis budget spent", null, false, false);
        }
    }

    /**
     * Receives what a walk decides: a part of the packets, how, whether for sure (false: a rule with a condition
     * lint does not model, which may match), by which rule (null: the chain's policy), through which jumps.
     */
    interface Sink {
        void decide(Region part, Kind how, boolean sure, Rule decider, Chain chain, List<Rule> trail);
    }

    /**
     * What a walk leaves: {@code left} the packets at the stopping point (past the last rule: those that fell
     * off), {@code returned} those sent back to the caller by RETURN or by a goto'd chain, {@code emptiers} the
     * rule that took the last packets (and, when it was a jump, the callee's rule that did), {@code changed} the
     * rules that took any packets (victim walks only).
     */
    record Walk(Region left, Region returned, List<Rule> emptiers, List<Integer> changed) {
    }

    /**
     * The rule whose reachability is asked (per-victim walks): in its own chain, an earlier rule whose opaque
     * literals are all stateless and all among the victim's (same text) takes what it matches for sure,
     * provided nothing between them ({@code notBefore} and earlier) can change what those literals test.
     */
    record Victim(Chain chain, int[] literals, int notBefore) {
    }

    /** Deeper chains than this are not followed (what they do is unknown): iptables has no such limit, Java's stack has. */
    static final int MAX_DEPTH = 200;

    final Model model;
    final Space space;
    long budget;
    private final Map<Chain, Map<Box, Region>> entries = new HashMap<>();
    private final Set<Chain> entering = new HashSet<>();
    /** Callee walks by chain and by the entering box cut down to the fields the chain tests. */
    private final Map<Chain, Map<Box, Memo>> callees = new HashMap<>();

    /** One decision of a memoised walk, to be replayed for every box that shares its projection. */
    private record Decision(Region part, Kind how, boolean sure, Rule decider, Chain chain, List<Rule> trail) {
    }

    private record Memo(Walk walk, List<Decision> decisions) {
    }

    Walker(Model model, long budget) {
        this.model = model;
        this.space = model.space;
        this.budget = budget;
    }

    /** The packets of {@code restrict} that may enter {@code chain} at its first rule. */
    Region entry(Chain chain, Box restrict) {
        if (restrict == null) return Region.EMPTY;
        Map<Box, Region> memo = entries.computeIfAbsent(chain, c -> new HashMap<>());
        Region known = memo.get(restrict);
        if (known != null) return known;
        Region out;
        if (chain.builtin()) {
            out = Region.of(restrict.and(space.hook(chain.table, chain.name)));
        } else if (entering.size() > MAX_DEPTH) {
            out = Region.of(restrict); // too deep to follow: anything may enter
        } else if (!entering.add(chain)) {
            return Region.EMPTY; // a jump loop: reported as refused by iptables
        } else {
            out = Region.EMPTY;
            try {
                for (Rule j : chain.callers) {
                    Box b = j.kind == Kind.WILDCARD ? restrict : j.box == null ? null : restrict.and(j.box);
                    if (b == null) continue;
                    out = out.or(arriveAt(j.chain, j.index, b), space);
                }
            } finally {
                entering.remove(chain);
            }
        }
        memo.put(restrict, out);
        return out;
    }

    /** The packets of {@code restrict} that may reach rule {@code index} of {@code chain}. */
    Region arriveAt(Chain chain, int index, Box restrict) {
        Region e = entry(chain, restrict);
        if (e.isEmpty() || index == 0) return e;
        return range(chain, 0, index, null, e, null, null).left();
    }

    /** A built-in chain walked whole, its policy deciding what falls off. */
    void whole(Chain chain, Region r, Sink sink) {
        Walk w = range(chain, 0, chain.rules.size(), null, r, null, sink);
        Region rest = w.left().or(w.returned(), space);
        if (!rest.isEmpty()) {
            Kind how = chain.policy == null || !chain.policy.equals("DROP") ? Kind.ACCEPT : Kind.DROP;
            sink.decide(rest, how, true, null, chain, List.of());
        }
    }

    /** Rules {@code from} (inclusive) to {@code to} (exclusive) of a chain entered at the top; {@code only}, if given, the indices to apply. */
    Walk range(Chain chain, int from, int to, int[] only, Region r, Victim victim, Sink sink) {
        ArrayDeque<Rule> stack = new ArrayDeque<>();
        Set<Chain> active = new HashSet<>();
        active.add(chain);
        return range(chain, from, to, only, r, victim, sink, stack, active, false);
    }

    /** {@code uncertain}: the chain was entered through a jump that may not match, so nothing in it decides for sure. */
    private Walk range(Chain chain, int from, int to, int[] only, Region r, Victim victim, Sink sink,
                       ArrayDeque<Rule> stack, Set<Chain> active, boolean uncertain) {
        Region returned = Region.EMPTY;
        List<Rule> emptiers = null;
        List<Integer> changed = victim != null ? new ArrayList<>() : null;
        int n = only != null ? only.length : to - from;
        for (int step = 0; step < n && !r.isEmpty(); step++) {
            int i = only != null ? only[step] : from + step;
            budget -= r.boxes.size(); // a visit costs what it touches: at most CAP boxes
            if (budget < 0) throw new Exhausted();
            Rule rule = chain.rules.get(i);
            if (rule.kind == Kind.WILDCARD) {
                if (sink != null) sink.decide(r, Kind.UNKNOWN, false, rule, chain, List.copyOf(stack));
                continue;
            }
            if (rule.box == null || !r.intersects(rule.box)) continue;
            Region m = r.and(rule.box);
            boolean sure = !rule.opaque() || assumable(rule, victim);
            Region before = r;
            List<Rule> deeper = List.of();
            switch (rule.kind) {
                case CONTINUE -> {
                }
                case ACCEPT, DROP, DNAT, NAT, OTHER_VERDICT -> {
                    if (sink != null) sink.decide(m, rule.kind, sure && !uncertain, rule, chain, List.copyOf(stack));
                    if (sure) r = r.minus(rule.box, space);
                }
                case UNKNOWN -> {
                    if (sink != null) sink.decide(m, Kind.UNKNOWN, false, rule, chain, List.copyOf(stack));
                }
                case RETURN -> {
                    returned = returned.or(m, space);
                    if (sure) r = r.minus(rule.box, space);
                }
                case JUMP, GOTO -> {
                    if (active.contains(rule.target) || stack.size() >= MAX_DEPTH) {
                        if (sink != null) sink.decide(m, Kind.UNKNOWN, false, rule, chain, List.copyOf(stack));
                        continue;
                    }
                    stack.push(rule);
                    active.add(rule.target);
                    Walk sub;
                    try {
                        sub = callee(rule.target, m, sink, stack, active, uncertain || !sure);
                    } finally {
                        active.remove(rule.target);
                        stack.pop();
                    }
                    Region back = sub.left().or(sub.returned(), space);
                    if (rule.kind == Kind.JUMP) {
                        if (sure) r = r.minus(rule.box, space).or(back, space);
                    } else {
                        returned = returned.or(back, space);
                        if (sure) r = r.minus(rule.box, space);
                    }
                    deeper = sub.emptiers();
                }
                default -> throw new IllegalStateException(rule.kind.name());
            }
            if (r.isEmpty() && emptiers == null) {
                emptiers = new ArrayList<>();
                emptiers.add(rule);
                if (rule.kind == Kind.JUMP) emptiers.addAll(deeper);
            }
            if (changed != null && r != before) changed.add(i);
        }
        return new Walk(r, returned, emptiers == null ? List.of() : emptiers, changed == null ? List.of() : changed);
    }

    /**
     * A callee walked whole, box by box. A chain's walk changes only the fields its rules (and its callees')
     * test, so the walk of a box is the walk of its projection on those fields, with the other fields put
     * back: one walk of a chain like a 300-address blocklist serves every victim whose packets pass it.
     */
    private Walk callee(Chain chain, Region r, Sink sink, ArrayDeque<Rule> stack, Set<Chain> active, boolean uncertain) {
        int fields = model.fields(chain);
        Map<Box, Memo> memo = callees.computeIfAbsent(chain, c -> new HashMap<>());
        Region left = Region.EMPTY;
        Region returned = Region.EMPTY;
        List<Rule> emptiers = List.of();
        boolean allEmptied = true;
        int lastEmptied = -1;
        for (Box b : r.boxes) {
            IntSet[] key = space.full.clone();
            for (int i = 0; i < Box.FIELDS; i++) {
                if ((fields & 1 << i) != 0) key[i] = b.f[i];
            }
            Box k = new Box(key);
            Memo m = memo.get(k);
            if (m == null) {
                List<Decision> decisions = new ArrayList<>();
                Walk w = range(chain, 0, chain.rules.size(), null, Region.of(k), null,
                        (part, how, sure, decider, c, trail) -> decisions.add(new Decision(part, how, sure, decider, c, trail)),
                        new ArrayDeque<>(), new HashSet<>(active), false);
                m = new Memo(w, decisions);
                memo.put(k, m);
            }
            Walk w = m.walk();
            left = left.or(attach(w.left(), b), space);
            returned = returned.or(attach(w.returned(), b), space);
            if (sink != null) {
                for (Decision d : m.decisions()) {
                    Region part = attach(d.part(), b);
                    if (part.isEmpty()) continue;
                    List<Rule> trail = new ArrayList<>(d.trail());
                    trail.addAll(stack);
                    sink.decide(part, d.how(), d.sure() && !uncertain, d.decider(), d.chain(), trail);
                }
            }
            if (w.emptiers().isEmpty()) {
                allEmptied = false;
            } else if (w.emptiers().get(0).index > lastEmptied) {
                lastEmptied = w.emptiers().get(0).index;
                emptiers = w.emptiers();
            }
        }
        return new Walk(left, returned, allEmptied ? emptiers : List.of(), List.of());
    }

    /** A projected result with the fields the chain does not test put back from {@code b}. */
    private Region attach(Region projected, Box b) {
        if (projected.isEmpty()) return projected;
        Region out = Region.EMPTY;
        for (Box x : projected.boxes) out = out.or(Region.of(x.and(b)), space);
        return out;
    }

    private boolean assumable(Rule rule, Victim victim) {
        if (victim == null || rule.chain != victim.chain() || rule.index <= victim.notBefore()) return false;
        for (int l : rule.literals) {
            if (model.stateful(l)) return false;
        }
        return Model.subset(rule.literals, victim.literals());
    }
}
