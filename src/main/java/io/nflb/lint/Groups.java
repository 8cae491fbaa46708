package io.nflb.lint;

import io.nflb.explain.ConnectionProbe;
import io.nflb.explain.Distribution;
import io.nflb.explain.Evaluator;
import io.nflb.explain.Match;
import io.nflb.explain.Outcome;
import io.nflb.explain.RuleSet;
import io.nflb.lint.Model.Chain;
import io.nflb.lint.Model.Kind;
import io.nflb.lint.Model.Rule;
import io.nflb.model.IpAddress;
import io.nflb.model.Protocol;
import io.nflb.plan.Rational;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Balancing groups in the nat table: a run of consecutive rules with a statistic match and the same other
 * conditions, DNATing or jumping to endpoint chains, maybe closed by one unconditional rule. Each is evaluated
 * with its own traffic: the packets that may reach its first member (from the hook, through the callers'
 * conditions, e.g. kube-proxy's "-d VIP -p udp --dport 53 -j KUBE-SVC-..."), one probe per protocol, run by
 * {@link Evaluator} from the first member through the endpoint chains, with the kernel's exact probabilities
 * and nth counters. Session-affinity rules (recent --rcheck) before the group are noted, not counted as members.
 */
final class Groups {

    private static final String GROUP_CHAIN = " nflb-lint-group";
    /** nth counters are simulated for at most this many connections, with at most this many rule visits. */
    private static final int MAX_PERIOD = 1_000_000;
    private static final long MAX_STEPS = 20_000_000L;

    private Groups() {
    }

    static void run(Model model, Walker walker, RuleSet dump, List<Finding> findings, List<LintReport.Group> out, List<String> notes) {
        Model.Table nat = model.tables.get("nat");
        if (nat == null) return;
        try {
            for (Chain chain : nat.chains.values()) {
                List<Rule> rs = chain.rules;
                int i = 0;
                while (i < rs.size()) {
                    if (!statistic(rs.get(i))) {
                        i++;
                        continue;
                    }
                    List<String> selector = selector(rs.get(i));
                    int j = i + 1;
                    while (j < rs.size() && statistic(rs.get(j)) && same(selector(rs.get(j)), selector)) j++;
                    boolean tail = j < rs.size() && !statistic(rs.get(j)) && rs.get(j).kind != Kind.WILDCARD
                            && selector != null && selector.equals(selector(rs.get(j))) && member(rs.get(j));
                    List<Rule> members = new ArrayList<>(rs.subList(i, tail ? j + 1 : j));
                    if (members.stream().allMatch(r -> r.kind == Kind.WILDCARD || member(r))) {
                        evaluate(model, walker, dump, chain, members, tail, findings, out);
                    }
                    i = tail ? j + 1 : j;
                }
            }
        } catch (Walker.Exhausted e) {
            notes.add("the analysis budget of rule visits was spent while evaluating balancing groups: later groups were not evaluated");
        }
    }

    private static boolean statistic(Rule r) {
        if (r.kind == Kind.WILDCARD) return r.text().contains("-m statistic") || r.text().contains("--match statistic");
        return r.source.matches().stream().anyMatch(m -> m instanceof Match.Random || m instanceof Match.Nth);
    }

    private static boolean member(Rule r) {
        return r.kind == Kind.DNAT || r.kind == Kind.JUMP || r.kind == Kind.GOTO;
    }

    /** A rule not understood may belong to any group. */
    private static boolean same(List<String> a, List<String> b) {
        return a == null || b == null || a.equals(b);
    }

    /** The conditions other than statistic ones, canonical: what decides which connections reach the rule. */
    private static List<String> selector(Rule r) {
        if (r.kind == Kind.WILDCARD) return null;
        TreeSet<String> keys = new TreeSet<>();
        for (Match m : r.source.matches()) {
            if (m instanceof Match.Random || m instanceof Match.Nth) continue;
            if (m instanceof Match.Address a) keys.add((a.negated() ? "!" : "") + (a.source() ? "s " : "d ") + a.text());
            else if (m instanceof Match.Ports p) {
                StringBuilder sb = new StringBuilder((p.negated() ? "!" : "") + (p.destination() ? "dport" : "sport"));
                p.ranges().forEach(x -> sb.append(' ').append(x[0]).append(':').append(x[1]));
                keys.add(sb.toString());
            } else if (m instanceof Match.State s) {
                keys.add((s.negated() ? "!" : "") + "state " + new TreeSet<>(s.states()));
            } else if (m instanceof Match.AddrType t) {
                keys.add((t.negated() ? "!" : "") + (t.source() ? "srctype " : "dsttype ") + new TreeSet<>(t.types()));
            } else {
                keys.add(m.toString());
            }
        }
        return List.copyOf(keys);
    }

    private static void evaluate(Model model, Walker walker, RuleSet dump, Chain chain, List<Rule> members, boolean tail,
                                 List<Finding> findings, List<LintReport.Group> out) {
        Rule first = members.get(0);
        int line = first.line();
        List<Integer> memberLines = members.stream().map(Rule::line).toList();
        List<Rule> affinity = affinity(chain, members);
        List<Integer> affinityLines = affinity.stream().map(Rule::line).toList();
        List<String> notes = new ArrayList<>();
        if (!affinity.isEmpty()) notes.add(affinityNote(affinity));
        Optional<Rule> unread = unread(members);
        if (unread.isPresent()) {
            notes.add("not evaluated: line " + unread.get().line() + (unread.get().chain == chain ? "" : " (in " + unread.get().chain.name + ")")
                    + " is not understood; no shares are printed rather than wrong ones");
            out.add(new LintReport.Group(line, chain.table, chain.name, memberLines, affinityLines, "", Map.of(), Rational.ZERO,
                    Rational.ZERO, 0, false, false, notes));
            return;
        }
        Box firstBox = first.box;
        Region g = firstBox == null ? Region.EMPTY : walker.arriveAt(chain, first.index, firstBox);
        if (g.isEmpty()) return; // no connection reaches it: reported as unreachable
        IntSet protocols = g.project(Box.PROTO);
        boolean any = false;
        for (Protocol protocol : Protocol.values()) {
            int number = protocol == Protocol.TCP ? 6 : 17;
            if (!protocols.contains(number)) continue;
            any = true;
            Region gp = g.and(model.space.all.with(Box.PROTO, IntSet.of(number)));
            evaluateFor(model, walker, dump, chain, members, tail, protocol, gp, new ArrayList<>(notes), affinityLines, findings, out);
        }
        if (!any) {
            notes.add("not evaluated: its connections are neither tcp nor udp (protocols " + protocols + ")");
            out.add(new LintReport.Group(line, chain.table, chain.name, memberLines, affinityLines, "", Map.of(), Rational.ZERO,
                    Rational.ZERO, 0, false, false, notes));
        }
    }

    private static void evaluateFor(Model model, Walker walker, RuleSet dump, Chain chain, List<Rule> members, boolean tail,
                                    Protocol protocol, Region gp, List<String> notes, List<Integer> affinityLines,
                                    List<Finding> findings, List<LintReport.Group> out) {
        Space space = model.space;
        // The most specific destination (a service address rather than "any" of a NodePort-like path), then the most packets.
        Box b = gp.boxes.get(0);
        for (Box x : gp.boxes) {
            double dx = space.addressCount(x.get(Box.DST));
            double db = space.addressCount(b.get(Box.DST));
            if (dx < db || (dx == db && space.volume(x) > space.volume(b))) b = x;
        }
        Rule first = members.get(0);
        List<Integer> memberLines = members.stream().map(Rule::line).toList();
        Probe main = probe(space, protocol, b);
        if (main == null) {
            notes.add("not evaluated: no probe packet could be made for it");
            out.add(new LintReport.Group(first.line(), chain.table, chain.name, memberLines, affinityLines, "", Map.of(),
                    Rational.ZERO, Rational.ZERO, 0, false, false, notes));
            return;
        }
        String probeText = main.text();
        Map<String, RuleSet.Chain> chains = new LinkedHashMap<>(dump.tables().get("nat").chains());
        chains.put(GROUP_CHAIN, new RuleSet.Chain(GROUP_CHAIN, null, members.stream().map(r -> r.source).toList()));
        RuleSet alone = new RuleSet(Map.of("nat", new RuleSet.Table("nat", chains)), List.of());
        Distribution d;
        try {
            d = evaluate(walker, alone, main.probe(), members);
            // Connections that reach the group another way (another caller, another source) may be shared otherwise.
            int others = 0;
            for (Box x : gp.boxes) {
                if (x == b || others == 3) continue;
                Probe other = probe(space, protocol, x);
                if (other == null || other.text().equals(probeText)) continue;
                others++;
                Distribution od = evaluate(walker, alone, other.probe(), members);
                if (!od.shares().equals(d.shares())) {
                    StringBuilder sb = new StringBuilder("connections like " + other.text() + " (another way into the group) are shared otherwise:");
                    od.shares().forEach((o, r) -> sb.append(' ').append(o).append(' ').append(LintReport.percent(r)).append(','));
                    sb.setLength(sb.length() - 1);
                    notes.add(sb.append("; the shares above are for ").append(probeText).toString());
                }
            }
        } catch (IllegalStateException e) {
            notes.add("not evaluated: " + e.getMessage() + "; no shares are printed rather than wrong ones");
            out.add(new LintReport.Group(first.line(), chain.table, chain.name, memberLines, affinityLines, probeText, Map.of(),
                    Rational.ZERO, Rational.ZERO, 0, false, false, notes));
            findings.add(new Finding(first.line(), first.source.column(), Finding.Severity.WARNING, "group-not-evaluated",
                    "balancing group of " + members.size() + " rules not evaluated: " + e.getMessage(), first.text(), List.of(), memberLines));
            return;
        }
        Map<String, Rational> shares = new LinkedHashMap<>();
        Rational unbalanced = Rational.ZERO;
        Rational dropped = Rational.ZERO;
        for (Map.Entry<Outcome, Rational> e : d.shares().entrySet()) {
            switch (e.getKey().kind()) {
                case DNAT -> shares.merge(e.getKey().endpoint(), e.getValue(), Rational::add);
                case DROPPED -> dropped = dropped.add(e.getValue());
                default -> unbalanced = unbalanced.add(e.getValue());
            }
        }
        Set<Integer> involved = involvedLines(members);
        for (String n : d.notes()) {
            java.util.regex.Matcher at = java.util.regex.Pattern.compile("^line (\\d+): ").matcher(n);
            if (at.find() && !involved.contains(Integer.parseInt(at.group(1)))) continue;
            if (!notes.contains(n)) notes.add(n);
        }
        boolean random = members.stream().anyMatch(r -> r.source.matches().stream().anyMatch(m -> m instanceof Match.Random));
        if (!unbalanced.isZero()) {
            Rule later = laterDnat(walker, chain, members.get(members.size() - 1).index + 1, gp, 0, new HashSet<>());
            String part = LintReport.percent(unbalanced);
            if (later != null) {
                notes.add(part + " of new connections go on past the group to line " + later.line() + " (" + later.text()
                        + "), which lint does not model in full: not reported as 'not balanced' because they may be DNATed there");
            } else {
                String msg = random
                        ? members.size() + " statistic rules leave " + part + " of new connections unbalanced: rule i only sees what"
                        + " the rules before it left and draws again. For equal shares over n targets use probabilities"
                        + " 1/n, 1/(n-1), ..., 1/2, and make the last rule unconditional"
                        : members.size() + " nth rules leave " + part + " of new connections unbalanced: each rule counts only the"
                        + " packets that reach it, so they do not share one cycle. For n targets use --every n --packet 0,"
                        + " --every n-1 --packet 0, ..., and make the last rule unconditional";
                findings.add(new Finding(first.line(), first.source.column(), Finding.Severity.ERROR,
                        random ? "independent-probabilities" : "nth-per-rule-counters", msg + " (" + probeText + ")", first.text(),
                        List.of(), memberLines));
            }
        }
        out.add(new LintReport.Group(first.line(), chain.table, chain.name, memberLines, affinityLines, probeText, shares,
                unbalanced, dropped, d.period(), d.exact(), true, notes));
    }

    /** A connection the group sees, and how it is written in messages ("udp/53 to 10.96.0.10"). */
    private record Probe(ConnectionProbe probe, String text) {
    }

    /** A new connection of {@code protocol} in box {@code b}: its most typical destination, port, source and input interface. */
    private static Probe probe(Space space, Protocol protocol, Box b) {
        IntSet dports = b.get(Box.DPORT);
        int port = dports.first() > 0 ? dports.first() : dports.contains(1) ? 1 : dports.ranges() > 1 ? dports.lo(1) : 0;
        String dst = space.witnessAddress(b.get(Box.DST));
        String iface = space.atoms.get(b.get(Box.IIF).first());
        Optional<IpAddress> destination = IpAddress.parse(dst);
        if (port == 0 || destination.isEmpty()) return null;
        Optional<IpAddress> source = IpAddress.parse(space.witnessAddress(b.get(Box.SRC)));
        return new Probe(new ConnectionProbe(protocol, destination.get(), port, iface.isEmpty() ? Optional.empty() : Optional.of(iface),
                source, iface.isEmpty()), protocol.keyword() + "/" + port + " to " + dst);
    }

    /** The group evaluated for one probe, within lint's bounds; the dump's budget pays what it may have cost. */
    private static Distribution evaluate(Walker walker, RuleSet alone, ConnectionProbe probe, List<Rule> members) {
        long steps = Math.max(1, Math.min(MAX_STEPS, walker.budget));
        Distribution d = Evaluator.evaluate(alone, "nat", GROUP_CHAIN, probe, MAX_PERIOD, steps);
        walker.budget -= (long) d.period() * involvedLines(members).size();
        if (walker.budget < 0) throw new Walker.Exhausted();
        return d;
    }

    /** recent --rcheck/--update rules right before the group that send clients back to one of its targets. */
    private static List<Rule> affinity(Chain chain, List<Rule> members) {
        Set<Chain> targets = new HashSet<>();
        for (Rule m : members) {
            if (m.target != null) targets.add(m.target);
        }
        List<Rule> out = new ArrayList<>();
        for (int i = members.get(0).index - 1; i >= 0; i--) {
            Rule r = chain.rules.get(i);
            boolean recent = r.source.matches().stream().anyMatch(m -> m instanceof Match.Recent rc && rc.check());
            if (!recent || r.target == null || !targets.contains(r.target)) break;
            out.add(0, r);
        }
        return out;
    }

    private static String affinityNote(List<Rule> affinity) {
        long seconds = -1;
        String text = "";
        for (Match m : affinity.get(0).source.matches()) {
            if (m instanceof Match.Recent r) {
                seconds = r.seconds();
                text = "-m recent --rcheck" + (seconds >= 0 ? " --seconds " + seconds : "");
            }
        }
        return Linter.lines(affinity.stream().map(Rule::line).toList()) + ": " + affinity.size() + " session-affinity rule"
                + (affinity.size() == 1 ? "" : "s") + " (" + text + ") before the group: a client seen "
                + (seconds >= 0 ? "in the last " + seconds + " s " : "before ")
                + "goes back to its endpoint without drawing; shares are for new clients";
    }

    /** The lines of the members and of every rule in the chains they reach. */
    private static Set<Integer> involvedLines(List<Rule> members) {
        Set<Integer> lines = new HashSet<>();
        Set<Chain> seen = new HashSet<>();
        List<Rule> todo = new ArrayList<>(members);
        while (!todo.isEmpty()) {
            Rule r = todo.remove(todo.size() - 1);
            lines.add(r.line());
            if (r.target != null && seen.add(r.target)) todo.addAll(r.target.rules);
        }
        return lines;
    }

    /** A rule of a member or of a chain the members reach that lint could not read. */
    private static Optional<Rule> unread(List<Rule> members) {
        Set<Chain> seen = new HashSet<>();
        List<Rule> todo = new ArrayList<>(members);
        while (!todo.isEmpty()) {
            Rule r = todo.remove(todo.size() - 1);
            if (r.kind == Kind.WILDCARD) return Optional.of(r);
            if (r.target != null && seen.add(r.target)) todo.addAll(r.target.rules);
        }
        return Optional.empty();
    }

    /**
     * The first rule that may still DNAT (or NAT, or do anything with) the group's packets after it: the rest of
     * its chain, then, when they fall off a user chain, the rest of every caller. Null when none can.
     */
    private static Rule laterDnat(Walker walker, Chain chain, int from, Region r, int depth, Set<Chain> seen) {
        if (depth > 16 || !seen.add(chain)) return chain.rules.isEmpty() ? null : chain.rules.get(Math.min(from, chain.rules.size() - 1));
        Rule[] found = new Rule[1];
        Walker.Walk walk = walker.range(chain, from, chain.rules.size(), null, r, null, (part, how, sure, decider, c, trail) -> {
            if (found[0] == null && how != Kind.ACCEPT && how != Kind.DROP) found[0] = decider;
        });
        if (found[0] != null) return found[0];
        Region back = walk.left().or(walk.returned(), walker.space);
        if (back.isEmpty() || chain.builtin()) return null;
        for (Rule j : chain.callers) {
            if (j.kind != Kind.JUMP) return j;
            Region rj = back.and(j.box);
            if (rj.isEmpty()) continue;
            Rule later = laterDnat(walker, j.chain, j.index + 1, rj, depth + 1, seen);
            if (later != null) return later;
        }
        return null;
    }
}
