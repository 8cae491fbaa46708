package io.nflb.explain;

import java.util.List;
import java.util.Map;

/**
 * Rules as the {@link Evaluator} reads them: tables of chains of rules, each rule its conditions and target.
 * {@code warnings} say what the reader left out or did not understand, with the line it was on.
 */
public record RuleSet(Map<String, Table> tables, List<String> warnings) {

    public record Table(String name, Map<String, Chain> chains) {
    }

    /** {@code policy} is null for a user chain. */
    public record Chain(String name, String policy, List<Rule> rules) {
    }

    /** {@code line} is the 1-based line number in the text. */
    public record Rule(int line, String chain, String text, List<Match> matches, Target target) {
    }

    public Chain chain(String table, String chain) {
        Table t = tables.get(table);
        return t == null ? null : t.chains().get(chain);
    }
}
