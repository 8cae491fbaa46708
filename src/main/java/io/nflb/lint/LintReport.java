package io.nflb.lint;

import io.nflb.model.Json;
import io.nflb.plan.Rational;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * What lint found in one dump: every rule read is understood or reported ({@code rules}, {@code notUnderstood},
 * of them {@code refused} by iptables itself, {@code opaque} with conditions lint does not model), findings,
 * balancing groups, notes about the analysis. {@code fatal} is set when the text is no dump at all (nothing
 * else is then reported). {@code artifact} names the dump (a path, "stdin", "iptables-save"), {@code text} is it.
 */
public record LintReport(String artifact, String text, Optional<Fatal> fatal, int rules, int notUnderstood, int refused,
                         int opaque, List<Finding> findings, List<Group> groups, List<String> notes) {

    public static final int CLEAN = 0;
    public static final int ERRORS = 1;
    public static final int UNUSABLE = 2;

    public LintReport {
        findings = List.copyOf(findings);
        groups = List.copyOf(groups);
        notes = List.copyOf(notes);
    }

    /** Why the input is not an iptables-save dump, where. */
    public record Fatal(int line, int column, String message) {
    }

    /**
     * A run of rules that splits new connections between targets: {@code members} (lines), the
     * session-affinity rules before it, the {@code probe} it was evaluated with ("udp/53 to 10.96.0.10"), the exact
     * share each DNAT target gets, what is not balanced (goes on past the group) and dropped, the nth period.
     * {@code evaluated} false: no shares, {@code notes} say why.
     */
    public record Group(int line, String table, String chain, List<Integer> members, List<Integer> affinity, String probe,
                        Map<String, Rational> shares, Rational unbalanced, Rational dropped, int period, boolean exact,
                        boolean evaluated, List<String> notes) {
        public Group {
            members = List.copyOf(members);
            affinity = List.copyOf(affinity);
            notes = List.copyOf(notes);
        }
    }

    static LintReport unusable(String artifact, String text, Fatal fatal) {
        return new LintReport(artifact, text, Optional.of(fatal), 0, 0, 0, 0, List.of(), List.of(), List.of());
    }

    public boolean hasErrors() {
        return findings.stream().anyMatch(f -> f.severity() == Finding.Severity.ERROR);
    }

    /** 0: no error-severity finding; 1: at least one; 2: the input is no dump. */
    public int exitCode() {
        return fatal.isPresent() ? UNUSABLE : hasErrors() ? ERRORS : CLEAN;
    }

    public long count(Finding.Severity severity) {
        return findings.stream().filter(f -> f.severity() == severity).count();
    }

    public String summary() {
        return String.format(Locale.ROOT, "%d rules read, %d not understood%s, %d with conditions lint does not model; %d balancing group%s;"
                        + " %d error%s, %d warning%s%s",
                rules, notUnderstood, refused > 0 ? " (" + refused + " refused by iptables)" : "", opaque, groups.size(),
                groups.size() == 1 ? "" : "s", count(Finding.Severity.ERROR), count(Finding.Severity.ERROR) == 1 ? "" : "s",
                count(Finding.Severity.WARNING), count(Finding.Severity.WARNING) == 1 ? "" : "s",
                count(Finding.Severity.NOTE) > 0 ? ", " + count(Finding.Severity.NOTE) + " note" + (count(Finding.Severity.NOTE) == 1 ? "" : "s") : "");
    }

    public String toText() {
        if (fatal.isPresent()) return where(fatal.get()) + ": error: " + fatal.get().message() + "\n";
        StringBuilder sb = new StringBuilder();
        List<Object> items = new ArrayList<>();
        items.addAll(groups);
        items.addAll(findings);
        items.sort(Comparator.comparingInt((Object o) -> o instanceof Group g ? g.line() : ((Finding) o).line())
                .thenComparingInt(o -> o instanceof Group ? 0 : 1));
        for (Object o : items) {
            if (o instanceof Finding f) {
                sb.append(f).append('\n');
                continue;
            }
            Group g = (Group) o;
            sb.append(String.format(Locale.ROOT, "line %d: balancing group of %d rule%s in %s%s%s:%n", g.line(), g.members().size(),
                    g.members().size() == 1 ? "" : "s", g.chain(), g.probe().isEmpty() ? "" : " (" + g.probe() + ")",
                    g.period() > 1 ? ", a cycle of " + g.period() + " connections" : ""));
            if (g.evaluated()) {
                int shown = 0;
                for (Map.Entry<String, Rational> e : g.shares().entrySet()) {
                    if (shown++ == 20 && g.shares().size() > 24) {
                        sb.append(String.format(Locale.ROOT, "  ... %d more targets%n", g.shares().size() - 20));
                        break;
                    }
                    sb.append(String.format(Locale.ROOT, "  %-28s %8s%n", e.getKey(), percent(e.getValue())));
                }
                sb.append(String.format(Locale.ROOT, "  %-28s %8s%n", "not balanced", percent(g.unbalanced())));
                if (!g.dropped().isZero()) sb.append(String.format(Locale.ROOT, "  %-28s %8s%n", "dropped", percent(g.dropped())));
            }
            for (String n : g.notes()) sb.append("  note: ").append(n).append('\n');
        }
        for (String n : notes) sb.append("note: ").append(n).append('\n');
        sb.append(summary()).append('\n');
        return sb.toString();
    }

    String where(Fatal f) {
        return (artifact.isEmpty() ? "" : artifact + ":") + f.line() + ":" + f.column();
    }

    public String toJson() {
        StringBuilder sb = new StringBuilder("{\"file\":").append(Json.str(artifact));
        if (fatal.isPresent()) {
            Fatal f = fatal.get();
            return sb.append(",\"error\":{\"line\":").append(f.line()).append(",\"column\":").append(f.column())
                    .append(",\"message\":").append(Json.str(f.message())).append("},\"exitCode\":").append(exitCode()).append("}\n").toString();
        }
        sb.append(",\"rules\":").append(rules).append(",\"notUnderstood\":").append(notUnderstood)
                .append(",\"refused\":").append(refused).append(",\"opaque\":").append(opaque).append(",\"findings\":[");
        for (int i = 0; i < findings.size(); i++) {
            if (i > 0) sb.append(',');
            findingJson(sb, findings.get(i));
        }
        sb.append("],\"groups\":[");
        for (int i = 0; i < groups.size(); i++) {
            if (i > 0) sb.append(',');
            groupJson(sb, groups.get(i));
        }
        sb.append("],\"notes\":").append(strings(notes)).append(",\"summary\":").append(Json.str(summary()))
                .append(",\"exitCode\":").append(exitCode());
        return sb.append("}\n").toString();
    }

    private static void findingJson(StringBuilder sb, Finding f) {
        sb.append("{\"line\":").append(f.line()).append(",\"column\":").append(f.column())
                .append(",\"severity\":").append(Json.str(f.severity().keyword())).append(",\"code\":").append(Json.str(f.code()))
                .append(",\"message\":").append(Json.str(f.message())).append(",\"rule\":").append(Json.str(f.snippet()))
                .append(",\"related\":[");
        for (int i = 0; i < f.related().size(); i++) {
            Finding.Related r = f.related().get(i);
            sb.append(i > 0 ? "," : "").append("{\"line\":").append(r.line()).append(",\"role\":").append(Json.str(r.role())).append('}');
        }
        sb.append("],\"victims\":").append(f.victims()).append('}');
    }

    static void groupJson(StringBuilder sb, Group g) {
        sb.append("{\"line\":").append(g.line()).append(",\"table\":").append(Json.str(g.table()))
                .append(",\"chain\":").append(Json.str(g.chain())).append(",\"probe\":").append(Json.str(g.probe()))
                .append(",\"members\":").append(g.members()).append(",\"affinity\":").append(g.affinity())
                .append(",\"evaluated\":").append(g.evaluated());
        if (g.evaluated()) {
            sb.append(",\"shares\":{");
            int j = 0;
            for (Map.Entry<String, Rational> e : g.shares().entrySet()) {
                sb.append(j++ > 0 ? "," : "").append(Json.str(e.getKey())).append(':');
                share(sb, e.getValue());
            }
            sb.append("},\"unbalanced\":");
            share(sb, g.unbalanced());
            sb.append(",\"dropped\":");
            share(sb, g.dropped());
            sb.append(",\"period\":").append(g.period()).append(",\"exact\":").append(g.exact());
        }
        sb.append(",\"notes\":").append(strings(g.notes())).append('}');
    }

    /** A share as a decimal with 12 significant digits and, when short enough to read, the exact fraction. */
    private static void share(StringBuilder sb, Rational r) {
        String decimal = r.isZero() ? "0" : new BigDecimal(r.num()).divide(new BigDecimal(r.den()), new MathContext(12, RoundingMode.HALF_EVEN))
                .stripTrailingZeros().toPlainString();
        String exact = r.num().toString().length() <= 40 && r.den().toString().length() <= 40 ? r.toString()
                : "omitted (" + r.den().bitLength() + "-bit denominator)";
        sb.append("{\"share\":").append(Json.str(decimal)).append(",\"exact\":").append(Json.str(exact)).append('}');
    }

    static String strings(List<String> list) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < list.size(); i++) sb.append(i > 0 ? "," : "").append(Json.str(list.get(i)));
        return sb.append(']').toString();
    }

    static String percent(Rational r) {
        return r.multiply(Rational.of(100)).toDecimal(2) + "%";
    }

    public String toSarif(String toolVersion) {
        return Sarif.write(this, toolVersion);
    }
}
