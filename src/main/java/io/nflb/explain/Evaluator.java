package io.nflb.explain;


import io.nflb.plan.Rational;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * iptables semantics over rule text, for the first packet of new connections of one kind. Random statistic
 * rules multiply the probability the kernel really stores; nth rules run the kernel's own per-rule counters
 * (xt_statistic: count starts at every-1-packet, a packet reaching the rule sets it to 0 if it was every-1,
 * else adds 1, and matches when it became 0) until every counter is back where it started: one exact period.
 */
public final class Evaluator {

    /** Longest nth period simulated before giving up. */
    public static final int MAX_PERIOD = 1_000_000;
    /** Rule visits allowed per evaluation: a 64000-slot round-robin needs about 2e9. */
    public static final long MAX_STEPS = 4_000_000_000L;
    private static final int MAX_DEPTH = 64;

    private final Map<String, CompiledChain> chains = new HashMap<>();
    private final ConnectionProbe probe;
    private final Set<String> notes = new LinkedHashSet<>();
    private boolean exact = true;
    private int mismatched;
    private long steps;
    private long maxSteps = MAX_STEPS;

    private Evaluator(RuleSet.Table table, ConnectionProbe probe) {
        this.probe = probe;
        for (RuleSet.Chain c : table.chains().values()) chains.put(c.name(), new CompiledChain(c));
        for (CompiledChain c : chains.values()) {
            for (CompiledRule r : c.rules) r.compile(this);
        }
    }

    /** The new-connection distribution for {@code probe} entering nat PREROUTING or OUTPUT. */
    public static Distribution evaluate(RuleSet dump, ConnectionProbe probe) {
        return evaluate(dump, "nat", probe.hook(), probe, MAX_PERIOD);
    }

    public static Distribution evaluate(RuleSet dump, String table, String chain, ConnectionProbe probe, int maxPeriod) {
        return evaluate(dump, table, chain, probe, maxPeriod, MAX_STEPS);
    }

    /** {@code maxPeriod} and {@code maxSteps} bound the work; past either an {@link IllegalStateException} says which. */
    public static Distribution evaluate(RuleSet dump, String table, String chain, ConnectionProbe probe, int maxPeriod,
                                        long maxSteps) {
        RuleSet.Table t = dump.tables().get(table);
        Evaluator e = new Evaluator(t == null ? new RuleSet.Table(table, Map.of()) : t, probe);
        e.maxSteps = maxSteps;
        dump.warnings().forEach(e.notes::add);
        CompiledChain start = e.chains.get(chain);
        List<Map<Outcome, Mass>> perConnection = new ArrayList<>();
        Map<Outcome, Mass> total = new LinkedHashMap<>();
        do {
            if (perConnection.size() >= maxPeriod) {
                throw new IllegalStateException("nth counters do not repeat within " + maxPeriod + " connections");
            }
            Map<Outcome, Mass> acc = new LinkedHashMap<>();
            if (start == null) {
                acc.put(Outcome.NOT_BALANCED, Mass.ONE);
            } else {
                Mass fellOff = e.walk(start, Mass.ONE, acc, 0);
                if (!fellOff.isZero()) acc.merge(policy(start.chain.policy()), fellOff, Mass::add);
            }
            perConnection.add(acc);
            acc.forEach((o, p) -> total.merge(o, p, Mass::add));
        } while (e.mismatched != 0);
        Rational period = Rational.of(perConnection.size());
        Map<Outcome, Rational> shares = new LinkedHashMap<>();
        total.forEach((o, p) -> shares.put(o, perConnection.size() == 1 ? p.toRational() : p.toRational().divide(period)));
        List<Map<Outcome, Rational>> connections = new ArrayList<>(perConnection.size());
        for (Map<Outcome, Mass> c : perConnection) {
            Map<Outcome, Rational> r = new LinkedHashMap<>();
            c.forEach((o, p) -> r.put(o, p.toRational()));
            connections.add(r);
        }
        return new Distribution(shares, perConnection.size(), connections, e.exact, new ArrayList<>(e.notes));
    }

    private static Outcome policy(String policy) {
        return "DROP".equals(policy) ? Outcome.DROPPED : Outcome.NOT_BALANCED;
    }

    /** Sends {@code entry} (an absolute probability) through {@code chain}; returns what comes back out of it. */
    private Mass walk(CompiledChain chain, Mass entry, Map<Outcome, Mass> acc, int depth) {
        if (depth > MAX_DEPTH) throw new IllegalStateException("chains nest deeper than " + MAX_DEPTH + " (a loop?) at " + chain.chain.name());
        Mass rem = entry;
        Mass returned = Mass.ZERO;
        for (CompiledRule r : chain.rules) {
            if (rem.isZero()) break;
            if (++steps > maxSteps) throw new IllegalStateException("evaluation needs more than " + maxSteps + " rule visits");
            if (!r.staticMatch) continue;
            Mass matched = rem;
            for (Match m : r.dynamic) {
                if (matched.isZero()) break;
                if (m instanceof Match.Random random) {
                    Mass p = r.probability(random);
                    matched = matched.multiply(p);
                } else if (m instanceof Match.Nth nth) {
                    if (matched.isOne()) {
                        if (!r.advance(this)) matched = Mass.ZERO;
                    } else {
                        exact = false;
                        notes.add("line " + r.rule.line() + ": nth rule reached by a random fraction of connections;"
                                + " its long-run rate 1/" + nth.every() + " was used, per-connection order is not exact");
                        Rational rate = Rational.of(1, nth.every());
                        matched = matched.multiply(Mass.of(nth.negated() ? Rational.ONE.subtract(rate) : rate));
                    }
                }
            }
            if (matched.isZero()) continue;
            rem = rem.subtract(matched);
            Target t = r.rule.target();
            if (t instanceof Target.None) {
                rem = rem.add(matched);
            } else if (t instanceof Target.Dnat dnat) {
                acc.merge(Outcome.dnat(dnat.destination()), matched, Mass::add);
            } else if (t instanceof Target.Verdict v) {
                if (!v.terminating()) {
                    rem = rem.add(matched);
                } else if (v.name().equals("RETURN")) {
                    returned = returned.add(matched);
                } else {
                    acc.merge(v.name().equals("DROP") || v.name().equals("REJECT") ? Outcome.DROPPED : Outcome.NOT_BALANCED,
                            matched, Mass::add);
                }
            } else if (t instanceof Target.Jump j) {
                CompiledChain next = chains.get(j.chain());
                if (next == null) {
                    notes.add("line " + r.rule.line() + ": target " + j.chain() + " not understood, counted as not balanced");
                    acc.merge(Outcome.NOT_BALANCED, matched, Mass::add);
                } else {
                    Mass back = walk(next, matched, acc, depth + 1);
                    if (j.goTo()) returned = returned.add(back);
                    else rem = rem.add(back);
                }
            }
        }
        return returned.add(rem);
    }

    /** Whether a static match holds for the probe; unknowns are assumed to hold and noted. */
    private boolean holds(RuleSet.Rule rule, Match m) {
        Boolean result = test(rule, m);
        if (result == null) return true;
        return result != m.negated();
    }

    private Boolean test(RuleSet.Rule rule, Match m) {
        if (m instanceof Match.Protocol p) {
            return p.number() == 0 || p.number() == (probe.protocol() == io.nflb.model.Protocol.TCP ? 6 : 17);
        }
        if (m instanceof Match.Address a) {
            if (!a.source()) return a.cidr().contains(probe.destination());
            if (probe.source().isPresent()) return a.cidr().contains(probe.source().get());
            if (a.cidr().prefix() == 0) return true;
            return maybe(rule, "source " + a.text() + " depends on the client");
        }
        if (m instanceof Match.Interface i) {
            if (!i.input()) return maybe(rule, "output interface " + i.name() + " depends on routing");
            if (probe.local()) return i.name().equals("+");
            if (probe.inIface().isEmpty()) return maybe(rule, "input interface " + i.name() + " not given");
            return i.matches(probe.inIface().get());
        }
        if (m instanceof Match.Ports p) {
            if (p.destination()) return p.contains(probe.port());
            return maybe(rule, "source port depends on the client");
        }
        if (m instanceof Match.State s) {
            return s.states().contains("NEW"); // the nat table sees only a connection's first packet
        }
        if (m instanceof Match.AddrType a) {
            if (a.source()) return a.types().contains(probe.local() ? "LOCAL" : "UNICAST");
            return maybe(rule, "destination address type not known");
        }
        if (m instanceof Match.Recent r) {
            if (r.check()) {
                notes.add("line " + rule.line() + ": -m recent check assumed not to match: a client not seen before");
                return false;
            }
            return true;
        }
        if (m instanceof Match.Unknown u) {
            return maybe(rule, "match not understood: " + u.text());
        }
        throw new IllegalStateException("unhandled match " + m);
    }

    private Boolean maybe(RuleSet.Rule rule, String why) {
        notes.add("line " + rule.line() + ": " + why + "; assumed to match");
        return null;
    }

    private static final class CompiledChain {
        final RuleSet.Chain chain;
        final CompiledRule[] rules;

        CompiledChain(RuleSet.Chain chain) {
            this.chain = chain;
            this.rules = chain.rules().stream().map(CompiledRule::new).toArray(CompiledRule[]::new);
        }
    }

    private static final class CompiledRule {
        final RuleSet.Rule rule;
        final List<Match> dynamic = new ArrayList<>();
        boolean staticMatch = true;
        long every = -1; // kernel form: --every n is stored as n-1
        long initial;
        long count;
        boolean nthNegated;
        Mass probability;

        CompiledRule(RuleSet.Rule rule) {
            this.rule = rule;
        }

        /** The share of connections reaching the rule that it takes, k / 2^31 (or 1 - that when negated). */
        Mass probability(Match.Random random) {
            if (probability == null) {
                long k = random.stored();
                probability = Mass.dyadic(java.math.BigInteger.valueOf(random.negated() ? (1L << 31) - k : k), 31);
            }
            return probability;
        }

        void compile(Evaluator e) {
            if (!rule.understood()) {
                // Left out, as the reader reports it; explain never guesses what an unread rule does.
                staticMatch = false;
                return;
            }
            for (Match m : rule.matches()) {
                if (m instanceof Match.Random || m instanceof Match.Nth) {
                    dynamic.add(m);
                    if (m instanceof Match.Nth nth) {
                        every = nth.every() - 1;
                        initial = every - nth.packet();
                        count = initial;
                        nthNegated = nth.negated();
                    }
                } else if (staticMatch && !e.holds(rule, m)) {
                    staticMatch = false;
                }
            }
        }

        /** One packet reaches the nth match: statistic_mt's update, and whether it matched. */
        boolean advance(Evaluator e) {
            long old = count;
            count = old == every ? 0 : old + 1;
            if (old == initial) e.mismatched++;
            if (count == initial) e.mismatched--;
            return (count == 0) != nthNegated;
        }
    }
}
