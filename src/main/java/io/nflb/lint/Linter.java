package io.nflb.lint;

import io.nflb.dataplane.iptables.RuleParser;
import io.nflb.explain.ConnectionProbe;
import io.nflb.explain.Distribution;
import io.nflb.explain.Evaluator;
import io.nflb.explain.Match;
import io.nflb.explain.Outcome;
import io.nflb.explain.RuleSet;
import io.nflb.explain.Target;
import io.nflb.model.IpAddress;
import io.nflb.model.Protocol;
import io.nflb.plan.Rational;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads any iptables-save dump (rules nflb did not write) and reports what it can prove: load-balancing
 * groups and the share each target really gets (the tutorial's two bugs by name), rules that can never match,
 * DNAT with no forwarding path, and state matches that do nothing in the nat table. A match it does not
 * understand is assumed to be able to match, so it never makes a false claim of unreachability.
 */
public final class Linter {

    /** The chain name the linter evaluates a balancing group in; nothing real can be called this. */
    private static final String GROUP_CHAIN = " nflb-lint-group";
    private static final IpAddress ANY_V4 = IpAddress.parse("203.0.113.10").orElseThrow();

    private Linter() {
    }

    public static LintReport lint(String text) {
        RuleSet dump = RuleParser.ruleSet(text);
        List<Finding> findings = new ArrayList<>();
        List<LintReport.Group> groups = new ArrayList<>();
        int rules = 0;
        for (RuleSet.Table table : dump.tables().values()) {
            for (RuleSet.Chain chain : table.chains().values()) {
                rules += chain.rules().size();
                shadowed(chain, findings);
                if (table.name().equals("nat")) {
                    stateInNat(chain, findings);
                    balancingGroups(dump, table, chain, findings, groups);
                }
            }
        }
        dnatWithoutForwardPath(dump, findings);
        findings.sort(Comparator.comparingInt(Finding::line).thenComparing(Finding::code));
        return new LintReport(rules, findings, groups, dump.warnings());
    }

    /** What any iptables-save dump does with new connections like {@code probe}: lint's evaluator, for one packet kind. */
    public static Distribution distribution(String dump, ConnectionProbe probe) {
        return Evaluator.evaluate(RuleParser.ruleSet(dump), probe);
    }

    /** The nat table sees only a connection's first packet, so a NEW state match there is always true. */
    private static void stateInNat(RuleSet.Chain chain, List<Finding> findings) {
        for (RuleSet.Rule r : chain.rules()) {
            for (Match m : r.matches()) {
                if (m instanceof Match.State s && !s.negated() && s.states().contains("NEW")) {
                    findings.add(new Finding(r.line(), Finding.Severity.WARNING, "state-new-in-nat",
                            "--state NEW in the nat table changes nothing: nat only sees the first packet of each connection"));
                }
            }
        }
    }

    /**
     * Consecutive rules that differ only in a statistic match and send traffic to different places form a
     * balancing group; the rule right after them with the same selector and no statistic is its last member.
     * The group is evaluated alone with the real evaluator, so its shares are exact.
     */
    private static void balancingGroups(RuleSet dump, RuleSet.Table table, RuleSet.Chain chain,
                                        List<Finding> findings, List<LintReport.Group> groups) {
        List<RuleSet.Rule> rs = chain.rules();
        int i = 0;
        while (i < rs.size()) {
            if (!isStatistic(rs.get(i))) {
                i++;
                continue;
            }
            String selector = selector(rs.get(i));
            int j = i;
            while (j < rs.size() && isStatistic(rs.get(j)) && selector(rs.get(j)).equals(selector)) j++;
            boolean tail = j < rs.size() && !isStatistic(rs.get(j)) && selector(rs.get(j)).equals(selector)
                    && !(rs.get(j).target() instanceof Target.None);
            List<RuleSet.Rule> members = new ArrayList<>(rs.subList(i, tail ? j + 1 : j));
            if (members.size() >= 2 || !tail) evaluateGroup(dump, table, members, tail, findings, groups);
            i = tail ? j + 1 : j;
        }
    }

    private static void evaluateGroup(RuleSet dump, RuleSet.Table table, List<RuleSet.Rule> members,
                                      boolean unconditionalLast, List<Finding> findings, List<LintReport.Group> groups) {
        // Keep only the statistic matches: the selector is what every member shares, so any connection that
        // reaches the group passes it; evaluating without it needs no made-up packet.
        List<RuleSet.Rule> stripped = new ArrayList<>();
        for (RuleSet.Rule r : members) {
            List<Match> keep = r.matches().stream().filter(m -> m instanceof Match.Random || m instanceof Match.Nth).toList();
            stripped.add(new RuleSet.Rule(r.line(), GROUP_CHAIN, r.text(), keep, r.target()));
        }
        Map<String, RuleSet.Chain> chains = new LinkedHashMap<>(table.chains());
        chains.put(GROUP_CHAIN, new RuleSet.Chain(GROUP_CHAIN, null, stripped));
        RuleSet alone = new RuleSet(Map.of("nat", new RuleSet.Table("nat", chains)), List.of());
        ConnectionProbe probe = new ConnectionProbe(Protocol.TCP, ANY_V4, 1, Optional.of("lint0"), Optional.empty(), false);
        Distribution d = Evaluator.evaluate(alone, "nat", GROUP_CHAIN, probe, Evaluator.MAX_PERIOD);

        Map<String, Rational> shares = new LinkedHashMap<>();
        Rational unbalanced = Rational.ZERO;
        for (Map.Entry<Outcome, Rational> e : d.shares().entrySet()) {
            if (e.getKey().kind() == Outcome.Kind.DNAT) shares.merge(e.getKey().endpoint(), e.getValue(), Rational::add);
            else unbalanced = unbalanced.add(e.getValue());
        }
        int line = members.get(0).line();
        groups.add(new LintReport.Group(line, members.get(0).chain(), members.size(), shares, unbalanced, d.period()));
        if (unbalanced.isZero()) return;
        boolean allNth = members.stream().limit(unconditionalLast ? members.size() - 1 : members.size())
                .allMatch(r -> r.matches().stream().anyMatch(m -> m instanceof Match.Nth));
        String pct = unbalanced.multiply(Rational.of(100)).toDecimal(1) + "%";
        if (allNth) {
            findings.add(new Finding(line, Finding.Severity.ERROR, "nth-per-rule-counters",
                    members.size() + " nth rules leave " + pct + " of new connections unbalanced: each rule counts only the"
                            + " packets that reach it, so they do not share one cycle. For n targets use --every n --packet 0,"
                            + " --every n-1 --packet 0, ..., and make the last rule unconditional"));
        } else {
            findings.add(new Finding(line, Finding.Severity.ERROR, "independent-probabilities",
                    members.size() + " statistic rules leave " + pct + " of new connections unbalanced: rule i only sees what"
                            + " the rules before it left and draws again. For equal shares over n targets use probabilities"
                            + " 1/n, 1/(n-1), ..., 1/2, and make the last rule unconditional"));
        }
    }

    private static boolean isStatistic(RuleSet.Rule r) {
        return r.matches().stream().anyMatch(m -> m instanceof Match.Random || m instanceof Match.Nth);
    }

    /** Everything but statistic, state and comment matches: what decides which connections reach the rule. */
    private static String selector(RuleSet.Rule r) {
        TreeSet<String> keys = new TreeSet<>();
        for (Match m : r.matches()) {
            if (m instanceof Match.Random || m instanceof Match.Nth || m instanceof Match.State) continue;
            if (m instanceof Match.Unknown u && u.module().equals("comment")) continue;
            keys.add(key(m));
        }
        return String.join(" ", keys);
    }

    /**
     * Rule j can never match when an earlier rule i in the same chain ends evaluation and every condition of
     * i is also a condition of j. Rules with conditions the linter cannot compare never shadow anything.
     */
    private static void shadowed(RuleSet.Chain chain, List<Finding> findings) {
        List<RuleSet.Rule> rs = chain.rules();
        List<Integer> shadowers = new ArrayList<>();
        List<Set<String>> shadowerKeys = new ArrayList<>();
        for (int j = 0; j < rs.size(); j++) {
            RuleSet.Rule r = rs.get(j);
            Set<String> keys = comparableKeys(r);
            Set<String> all = allKeys(r);
            for (int k = 0; k < shadowers.size(); k++) {
                if (all.containsAll(shadowerKeys.get(k))) {
                    RuleSet.Rule earlier = rs.get(shadowers.get(k));
                    findings.add(new Finding(r.line(), Finding.Severity.WARNING, "unreachable",
                            "this rule can never match: line " + earlier.line() + " (" + earlier.text() + ") catches every packet it would"));
                    break;
                }
            }
            if (keys != null && terminates(r.target())) {
                shadowers.add(j);
                shadowerKeys.add(keys);
            }
        }
    }

    /** The rule's conditions as comparable keys, or null when one of them cannot be compared. */
    private static Set<String> comparableKeys(RuleSet.Rule r) {
        Set<String> keys = new TreeSet<>();
        for (Match m : r.matches()) {
            if (m instanceof Match.Unknown u && u.module().equals("comment")) continue;
            String k = key(m);
            if (k == null) return null;
            keys.add(k);
        }
        return keys;
    }

    private static Set<String> allKeys(RuleSet.Rule r) {
        Set<String> keys = new TreeSet<>();
        for (Match m : r.matches()) {
            String k = key(m);
            if (k != null) keys.add(k);
        }
        return keys;
    }

    /** A canonical text for conditions whose meaning is certain; null for probabilistic or unknown ones. */
    private static String key(Match m) {
        String neg = m.negated() ? "!" : "";
        if (m instanceof Match.Protocol p) return neg + "p:" + p.name();
        if (m instanceof Match.Address a) return neg + (a.source() ? "s:" : "d:") + a.text();
        if (m instanceof Match.Interface f) return neg + (f.input() ? "i:" : "o:") + f.name();
        if (m instanceof Match.Ports p) {
            StringBuilder sb = new StringBuilder(neg + (p.destination() ? "dport:" : "sport:"));
            p.ranges().forEach(x -> sb.append(x[0]).append('-').append(x[1]).append(','));
            return sb.toString();
        }
        if (m instanceof Match.State s) return neg + "state:" + new TreeSet<>(s.states());
        if (m instanceof Match.AddrType t) return neg + (t.source() ? "srctype:" : "dsttype:") + new TreeSet<>(t.types());
        return null;
    }

    private static boolean terminates(Target t) {
        return t instanceof Target.Dnat || (t instanceof Target.Verdict v && v.terminating())
                || (t instanceof Target.Jump j && j.goTo());
    }

    /**
     * With FORWARD dropping by default, a DNAT to another host needs a FORWARD rule that accepts the new
     * connection; without one the balancing works on paper and every connection is dropped.
     */
    private static void dnatWithoutForwardPath(RuleSet dump, List<Finding> findings) {
        RuleSet.Table nat = dump.tables().get("nat");
        RuleSet.Table filter = dump.tables().get("filter");
        if (nat == null || filter == null) return;
        RuleSet.Chain forward = filter.chains().get("FORWARD");
        if (forward == null || !"DROP".equals(forward.policy())) return;
        for (RuleSet.Chain c : nat.chains().values()) {
            for (RuleSet.Rule r : c.rules()) {
                if (!(r.target() instanceof Target.Dnat dnat)) continue;
                Optional<IpAddress> to = IpAddress.parse(host(dnat.destination()));
                if (to.isEmpty()) continue;
                if (!accepts(filter, forward, to.get(), port(dnat.destination()), 0)) {
                    findings.add(new Finding(r.line(), Finding.Severity.WARNING, "dnat-without-forward",
                            "DNAT to " + dnat.destination() + " but FORWARD drops by default and no rule accepts new connections to it"));
                }
            }
        }
    }

    private static boolean accepts(RuleSet.Table filter, RuleSet.Chain chain, IpAddress to, int port, int depth) {
        for (RuleSet.Rule r : chain.rules()) {
            if (!mayMatchNew(r, to, port)) continue;
            if (r.target() instanceof Target.Verdict v && v.name().equals("ACCEPT")) return true;
            if (r.target() instanceof Target.Jump j && depth < 8) {
                RuleSet.Chain next = filter.chains().get(j.chain());
                if (next != null && accepts(filter, next, to, port, depth + 1)) return true;
            }
        }
        return false;
    }

    /** Whether a new connection's first packet to {@code to}:{@code port} could match every condition of r. */
    private static boolean mayMatchNew(RuleSet.Rule r, IpAddress to, int port) {
        for (Match m : r.matches()) {
            boolean ok = true;
            if (m instanceof Match.Address a && !a.source()) {
                ok = a.negated() != containsText(a.text(), to);
            } else if (m instanceof Match.Ports p && p.destination() && port > 0) {
                ok = p.negated() != p.contains(port);
            } else if (m instanceof Match.State s) {
                boolean hit = s.states().contains("NEW") || s.states().contains("DNAT");
                ok = s.negated() != hit;
            }
            if (!ok) return false;
        }
        return true;
    }

    private static boolean containsText(String cidr, IpAddress to) {
        try {
            return io.nflb.explain.Cidr.parse(cidr).contains(to);
        } catch (IllegalArgumentException e) {
            return true;
        }
    }

    private static String host(String endpoint) {
        if (endpoint.startsWith("[")) return endpoint.substring(1, endpoint.indexOf(']'));
        int colon = endpoint.indexOf(':');
        String h = colon < 0 ? endpoint : endpoint.substring(0, colon);
        int dash = h.indexOf('-');
        return dash < 0 ? h : h.substring(0, dash);
    }

    private static int port(String endpoint) {
        int colon = endpoint.lastIndexOf(':');
        if (colon < 0 || endpoint.endsWith("]")) return 0;
        String p = endpoint.substring(colon + 1);
        int dash = p.indexOf('-');
        try {
            return Integer.parseInt(dash < 0 ? p : p.substring(0, dash));
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
