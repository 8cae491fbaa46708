package io.nflb.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * bench/datapath's report: reads its raw TSV (path, mode, round, req_s, p50_ms, p99_ms, errors), takes the
 * median of the rounds for each path and mode, and prints a table, writes it as Markdown and draws an SVG bar
 * chart of requests/s (keep-alive and new connection per request side by side, each bar labelled with its
 * share of the direct path). No plotting library: the SVG is written by hand.
 * Usage: DatapathReport RAW.tsv OUT.md OUT.svg TITLE
 */
public final class DatapathReport {

    static final Map<String, String> LABELS = new LinkedHashMap<>();

    static {
        LABELS.put("direct", "direct (routed, no NAT)");
        LABELS.put("iptables", "nflb, iptables");
        LABELS.put("nftables", "nflb, nftables");
        LABELS.put("haproxy", "HAProxy, TCP mode");
        LABELS.put("nginx", "nginx stream");
    }

    record Row(String path, String mode, double reqs, double p50, double p99, long errors, int runs) {
    }

    private DatapathReport() {
    }

    public static void main(String[] args) throws IOException {
        List<Row> rows = medians(Files.readAllLines(Path.of(args[0])));
        String md = markdown(rows, args[3]);
        Files.writeString(Path.of(args[1]), md);
        Files.writeString(Path.of(args[2]), svg(rows, args[3]));
        System.out.print(md);
    }

    static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    /** One row per (path, mode), in first-seen order; medians over the rounds, errors summed. */
    static List<Row> medians(List<String> lines) {
        Map<String, List<String[]>> by = new LinkedHashMap<>();
        for (String line : lines) {
            if (line.isBlank() || line.startsWith("path\t")) continue;
            String[] f = line.split("\t");
            by.computeIfAbsent(f[0] + "\t" + f[1], k -> new ArrayList<>()).add(f);
        }
        List<Row> rows = new ArrayList<>();
        for (List<String[]> runs : by.values()) {
            List<Double> r = new ArrayList<>(), p50 = new ArrayList<>(), p99 = new ArrayList<>();
            long errors = 0;
            for (String[] f : runs) {
                r.add(num(f[3]));
                p50.add(num(f[4]));
                p99.add(num(f[5]));
                errors += (long) num(f[6]);
            }
            rows.add(new Row(runs.get(0)[0], runs.get(0)[1], median(r), median(p50), median(p99), errors, runs.size()));
        }
        return rows;
    }

    private static double num(String s) {
        return s == null || s.isBlank() ? 0 : Double.parseDouble(s.strip());
    }

    static Row find(List<Row> rows, String path, String mode) {
        for (Row r : rows) if (r.path.equals(path) && r.mode.equals(mode)) return r;
        return null;
    }

    static String label(String path) {
        return LABELS.getOrDefault(path, path);
    }

    static String markdown(List<Row> rows, String title) {
        StringBuilder b = new StringBuilder();
        b.append("<!-- ").append(title).append(" -->\n");
        b.append("| path | keep-alive req/s | p50 | p99 | new conn. req/s | p50 | p99 | new conn. vs direct |\n");
        b.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        Row directClose = find(rows, "direct", "close");
        List<String> paths = new ArrayList<>();
        for (Row r : rows) if (!paths.contains(r.path)) paths.add(r.path);
        for (String p : paths) {
            Row ka = find(rows, p, "ka"), cl = find(rows, p, "close");
            b.append("| ").append(label(p));
            cells(b, ka);
            cells(b, cl);
            b.append(" | ").append(cl != null && directClose != null && directClose.reqs > 0
                    ? String.format(Locale.ROOT, "%.0f%%", 100 * cl.reqs / directClose.reqs) : "-");
            b.append(" |\n");
        }
        long errors = rows.stream().mapToLong(Row::errors).sum();
        if (errors > 0) {
            b.append("\nwrk errors (socket errors + non-2xx), summed over the rounds: ");
            List<String> e = new ArrayList<>();
            for (Row r : rows) if (r.errors > 0) e.add(label(r.path) + " " + r.mode + " " + r.errors);
            b.append(String.join(", ", e)).append('\n');
        }
        return b.toString();
    }

    private static void cells(StringBuilder b, Row r) {
        if (r == null) {
            b.append(" | - | - | -");
            return;
        }
        b.append(String.format(Locale.ROOT, " | %,.0f | %s | %s", r.reqs, ms(r.p50), ms(r.p99)));
    }

    static String ms(double ms) {
        if (ms < 1) return String.format(Locale.ROOT, "%.0f us", ms * 1000);
        if (ms < 10) return String.format(Locale.ROOT, "%.2f ms", ms);
        return String.format(Locale.ROOT, "%.1f ms", ms);
    }

    static String svg(List<Row> rows, String title) {
        List<String> paths = new ArrayList<>();
        for (Row r : rows) if (!paths.contains(r.path)) paths.add(r.path);
        String[] modes = {"ka", "close"};
        String[] modeLabels = {"keep-alive", "new connection per request"};
        String[] colours = {"#4878a8", "#e08a3c"};
        double max = rows.stream().mapToDouble(Row::reqs).max().orElse(1);
        double scaleMax = niceCeil(max);
        int left = 70, top = 80, plotH = 300, groupW = 150, barW = 48, width = left + groupW * paths.size() + 30;
        int height = top + plotH + 90;
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
                width, height, width, height));
        s.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"20\" font-size=\"14\" font-weight=\"bold\">Requests/s through the router (%s)</text>\n",
                left, esc(title)));
        for (int m = 0; m < modes.length; m++) {
            int x = left + m * 230;
            s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"30\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%d\" y=\"40\">%s</text>\n",
                    x, colours[m], x + 16, modeLabels[m]));
        }
        for (int t = 0; t <= 5; t++) {
            double v = scaleMax * t / 5;
            double y = top + plotH - plotH * v / scaleMax;
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>", left, y, width - 20, y));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%,.0f</text>\n", left - 6, y + 4, v));
        }
        for (int g = 0; g < paths.size(); g++) {
            String p = paths.get(g);
            int gx = left + g * groupW + 15;
            for (int m = 0; m < modes.length; m++) {
                Row r = find(rows, p, modes[m]);
                if (r == null) continue;
                Row direct = find(rows, "direct", modes[m]);
                double h = plotH * r.reqs / scaleMax;
                double x = gx + m * (barW + 4), y = top + plotH - h;
                s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\"><title>%s %s: %,.0f req/s</title></rect>\n",
                        x, y, barW, h, colours[m], esc(label(p)), modeLabels[m], r.reqs));
                s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\">%,.0f</text>\n",
                        x + barW / 2.0, y - 14, r.reqs));
                if (direct != null && direct.reqs > 0) {
                    s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\" fill=\"#555\">%.0f%%</text>\n",
                            x + barW / 2.0, y - 3, 100 * r.reqs / direct.reqs));
                }
            }
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\">%s</text>\n",
                    gx + barW + 2, top + plotH + 18, esc(label(p))));
        }
        s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", left, top + plotH, width - 20, top + plotH));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"#555\">%% = share of the direct path in the same mode. Medians; shared 2-core machine, noisy.</text>\n",
                left, top + plotH + 45));
        s.append("</svg>\n");
        return s.toString();
    }

    static double niceCeil(double v) {
        if (v <= 0) return 1;
        double mag = Math.pow(10, Math.floor(Math.log10(v)));
        for (double f : new double[]{1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10}) if (f * mag >= v) return f * mag;
        return 10 * mag;
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
