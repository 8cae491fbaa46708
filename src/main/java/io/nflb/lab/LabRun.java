package io.nflb.lab;

import io.nflb.plan.Rational;

import java.util.List;

/**
 * The result of one set of rules in the lab: per backend what the config asked for, what nflb's evaluator
 * says the rules give, and what the real connections did.
 */
public record LabRun(String title, String rulesText, List<Row> rows, int connections, int notBalanced,
                     Rational predictedNotBalanced, boolean pass, String verdict) {

    public LabRun {
        rows = List.copyOf(rows);
    }

    /** {@code wanted}: the weight's share; {@code predicted}: from evaluating the rules; {@code observed}: count. */
    public record Row(String name, String endpoint, int weight, Rational wanted, Rational predicted, int observed) {
    }

    public int observed(String name) {
        return rows.stream().filter(r -> r.name().equals(name)).mapToInt(Row::observed).sum();
    }
}
