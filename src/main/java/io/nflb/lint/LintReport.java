package io.nflb.lint;

import io.nflb.model.Json;
import io.nflb.plan.Rational;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/** What lint found in one dump. */
public record LintReport(int rules, List<Finding> findings, List<Group> groups, List<String> parseNotes) {

    public LintReport {
        findings = List.copyOf(findings);
        groups = List.copyOf(groups);
        parseNotes = List.copyOf(parseNotes);
    }

    /** A run of rules that splits connections between targets, with the exact share each target gets. */
    public record Group(int line, String chain, int rules, Map<String, Rational> shares, Rational unbalanced, int period) {
    }

    public boolean hasErrors() {
        return findings.stream().anyMatch(f -> f.severity() == Finding.Severity.ERROR);
    }

    public String toText() {
        StringBuilder sb = new StringBuilder();
        for (Group g : groups) {
            sb.append(String.format(Locale.ROOT, "line %d: balancing group of %d rules in %s%s:%n", g.line(), g.rules(), g.chain(),
                    g.period() > 1 ? ", a cycle of " + g.period() + " connections" : ""));
            g.shares().forEach((target, share) -> sb.append(String.format(Locale.ROOT, "  %-28s %8s%n", target, percent(share))));
            sb.append(String.format(Locale.ROOT, "  %-28s %8s%n", "not balanced", percent(g.unbalanced())));
        }
        findings.forEach(f -> sb.append(f).append('\n'));
        long errors = findings.stream().filter(f -> f.severity() == Finding.Severity.ERROR).count();
        sb.append(String.format(Locale.ROOT, "%d rules read, %d balancing groups, %d errors, %d warnings%n", rules, groups.size(),
                errors, findings.size() - errors));
        return sb.toString();
    }

    public String toJson() {
        StringBuilder sb = new StringBuilder("{\"rules\":").append(rules).append(",\"findings\":[");
        for (int i = 0; i < findings.size(); i++) {
            Finding f = findings.get(i);
            sb.append(i > 0 ? "," : "").append("{\"line\":").append(f.line()).append(",\"severity\":")
                    .append(Json.str(f.severity().name().toLowerCase(Locale.ROOT))).append(",\"code\":").append(Json.str(f.code()))
                    .append(",\"message\":").append(Json.str(f.message())).append('}');
        }
        sb.append("],\"groups\":[");
        for (int i = 0; i < groups.size(); i++) {
            Group g = groups.get(i);
            sb.append(i > 0 ? "," : "").append("{\"line\":").append(g.line()).append(",\"chain\":").append(Json.str(g.chain()))
                    .append(",\"shares\":{");
            int j = 0;
            for (Map.Entry<String, Rational> e : g.shares().entrySet()) {
                sb.append(j++ > 0 ? "," : "").append(Json.str(e.getKey())).append(':').append(Json.str(e.getValue().toString()));
            }
            sb.append("},\"unbalanced\":").append(Json.str(g.unbalanced().toString())).append('}');
        }
        return sb.append("]}\n").toString();
    }

    private static String percent(Rational r) {
        return r.multiply(Rational.of(100)).toDecimal(2) + "%";
    }
}
