package io.nflb.lab;

import io.nflb.plan.Rational;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/** Prints lab runs as tables with bars, then all runs side by side. */
final class LabReport {

    private static final int BAR = 30;
    private static final String[] EIGHTHS = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};

    private LabReport() {
    }

    static void print(PrintStream out, LabOptions options, List<LabRun> runs) {
        for (LabRun run : runs) {
            out.println();
            out.println("== " + run.title() + " ==");
            out.println(indent(run.rulesText().strip()));
            out.println();
            out.printf(Locale.ROOT, "  %-8s %-17s %6s %9s %11s %9s %7s  %s%n", "backend", "address", "weight", "wanted",
                    "rules give", "observed", "share", "");
            for (LabRun.Row r : run.rows()) {
                out.printf(Locale.ROOT, "  %-8s %-17s %6d %9s %11s %9d %7s  %s%n", r.name(), r.endpoint(), r.weight(),
                        pct(r.wanted()), pct(r.predicted()), r.observed(), Lab.pct(r.observed(), run.connections()),
                        bar(r.observed(), run.connections()));
            }
            out.printf(Locale.ROOT, "  %-8s %-17s %6s %9s %11s %9d %7s  %s%n", "none", "not balanced", "", "0%",
                    pct(run.predictedNotBalanced()), run.notBalanced(), Lab.pct(run.notBalanced(), run.connections()),
                    bar(run.notBalanced(), run.connections()));
            out.println("  " + run.verdict());
        }
        if (runs.size() > 1) {
            out.println();
            out.println("== side by side: " + options.connections() + " new connections each ==");
            StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "  %-44s", "rules"));
            for (LabRun.Row r : runs.get(0).rows()) head.append(String.format(Locale.ROOT, "%9s", r.name()));
            head.append(String.format(Locale.ROOT, "%14s", "not balanced"));
            out.println(head);
            for (LabRun run : runs) {
                String title = run.title().length() > 43 ? run.title().substring(0, 43) : run.title();
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "  %-44s", title));
                for (LabRun.Row r : run.rows()) line.append(String.format(Locale.ROOT, "%9d", r.observed()));
                line.append(String.format(Locale.ROOT, "%14d", run.notBalanced()));
                out.println(line);
            }
        }
    }

    private static String indent(String text) {
        return "  " + text.replace("\n", "\n  ");
    }

    private static String pct(Rational r) {
        return String.format(Locale.ROOT, "%.2f%%", 100 * r.toDouble());
    }

    static String bar(long part, long whole) {
        if (whole <= 0) return "";
        long eighths = Math.round(8.0 * BAR * part / whole);
        return "█".repeat((int) (eighths / 8)) + EIGHTHS[(int) (eighths % 8)];
    }
}
