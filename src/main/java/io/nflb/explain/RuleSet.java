package io.nflb.explain;

import java.util.List;
import java.util.Map;

/**
 * Rules as the {@link Evaluator} and lint read them: tables of chains of rules, each rule its conditions and
 * target. {@code warnings} say what the reader left out or did not understand, with the line it was on;
 * {@code problems} are the same for the lines that are no rule (a rule's own are on the rule), and
 * {@code v6} whether the dump's addresses are IPv6 (ip6tables-save).
 */
public record RuleSet(Map<String, Table> tables, List<String> warnings, List<Problem> problems, boolean v6) {

    public RuleSet(Map<String, Table> tables, List<String> warnings) {
        this(tables, warnings, List.of(), false);
    }

    public record Table(String name, Map<String, Chain> chains) {
    }

    /** {@code policy} is null for a user chain; {@code line} declares the chain (0: nothing does). */
    public record Chain(String name, String policy, List<Rule> rules, int line) {
        public Chain(String name, String policy, List<Rule> rules) {
            this(name, policy, rules, 0);
        }
    }

    /**
     * {@code line} is the 1-based line number in the text, {@code column} where the rule's "-A" starts;
     * {@code problems} what the reader could not take from it. A rule with a problem is not understood: the
     * evaluator skips it, lint treats it as one that may match anything and do anything.
     */
    public record Rule(int line, String chain, String text, List<Match> matches, Target target, int column,
                       List<Problem> problems) {
        public Rule(int line, String chain, String text, List<Match> matches, Target target) {
            this(line, chain, text, matches, target, 1, List.of());
        }

        public boolean understood() {
            return problems.isEmpty();
        }
    }

    /**
     * A part of the text the reader did not take: at {@code line} and {@code column}, the {@code word} (may be
     * empty) and why. {@link Kind#REFUSED}: iptables-restore itself refuses it; {@link Kind#STRUCTURE}: the text
     * is not a whole dump.
     */
    public record Problem(int line, int column, Kind kind, String word, String message) {
        public enum Kind { STRUCTURE, REFUSED, NOT_UNDERSTOOD }
    }

    public Chain chain(String table, String chain) {
        Table t = tables.get(table);
        return t == null ? null : t.chains().get(chain);
    }
}
