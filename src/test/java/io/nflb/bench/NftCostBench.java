package io.nflb.bench;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.nft.NftDataplane;
import io.nflb.dataplane.nft.NftRenderer;
import io.nflb.host.Exec;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import io.nflb.testing.Netns;
import io.nflb.testing.Routed;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Cost against size for the nftables backend: N services x 10 backends (a scheduler for all of them), and
 * per N the time from YAML to script in process, a full apply into an empty kernel, an unchanged re-apply,
 * one backend added, removed and reweighted (each a partial sync of a long-lived dataplane, as the daemon
 * does), and new connections per second through a router namespace (nginx behind, wrk in front) with 1 vs N
 * services installed. Every kernel step runs in throw-away namespaces nflb-t-*. Times are medians.
 * Usage: NftCostBench SCHEDULER OUT_PREFIX N [N...]: prints a Markdown table, writes OUT_PREFIX.md and .svg.
 */
public final class NftCostBench {

    private static final int BACKENDS = 10;

    private NftCostBench() {
    }

    /** One row of results; times in milliseconds, {@code connPerSec} NaN when not measured. */
    record Row(int services, double yamlParse, double configToScript, double fullApply, double unchanged,
               double added, double removed, double reweighted, double connPerSec) {
        double oneBackend() {
            double[] xs = {added, removed, reweighted};
            Arrays.sort(xs);
            return xs[1];
        }
    }

    /** N services on distinct VIPs 10.(100+i/65536).x.y:80; service N/2 varies: 0 base, 1 an 11th backend, 2 no 10th, 3 reweighted. */
    public static String config(String scheduler, int services, int variant, boolean withWeb) {
        StringBuilder y = new StringBuilder(services * 420);
        y.append("backend: nftables\nservices:\n");
        for (int i = 0; i < services; i++) {
            y.append("  - name: svc").append(i).append("\n    listen: {address: ").append(ScaleBench.vip(i)).append(", port: 80}\n")
                    .append("    scheduler: ").append(scheduler).append("\n    backends:\n");
            boolean changed = i == services / 2;
            int count = changed && variant == 1 ? BACKENDS + 1 : changed && variant == 2 ? BACKENDS - 1 : BACKENDS;
            for (int b = 0; b < count; b++) {
                int weight = changed && variant == 3 && b == 0 ? 2 : 1;
                int k = i * (BACKENDS + 1) + b;
                y.append("      - {address: 10.").append(200 + k / 62500 % 50).append('.').append(k / 250 % 250).append('.').append(k % 250 + 1)
                        .append(weight == 1 ? "" : ", weight: " + weight).append("}\n");
            }
        }
        if (withWeb) {
            // The measured service, last: the worst case for anything that scans.
            y.append("  - name: web\n    listen: {address: 10.0.0.1, port: 80}\n    scheduler: ").append(scheduler)
                    .append("\n    backends: [{address: 192.168.2.2}, {address: 192.168.2.3}]\n");
        }
        return y.toString();
    }

    static Plan plan(String yaml) {
        try {
            return Planner.plan(ConfigLoader.parse("bench.yaml", yaml));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public static void main(String[] args) throws Exception {
        String scheduler = args[0];
        Path out = Path.of(args[1]);
        List<Integer> sizes = new ArrayList<>();
        for (int i = 2; i < args.length; i++) sizes.add(Integer.parseInt(args[i]));
        double baseline = connPerSec(scheduler, 0);
        List<Row> rows = new ArrayList<>();
        for (int n : sizes) {
            Row r = row(scheduler, n);
            rows.add(r);
            System.err.printf(Locale.ROOT, "%s%n", r);
        }
        String table = table(scheduler, baseline, rows);
        System.out.print(table);
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(Path.of(out + ".md"), table);
        Files.writeString(Path.of(out + ".svg"), svg(scheduler, baseline, rows));
    }

    /** Above this many services the plans are built from model records: SnakeYAML needs more than 2 GB there (issue 14, phase B). */
    static final int YAML_UP_TO = 30_000;

    static Row row(String scheduler, int n) throws Exception {
        if (n > YAML_UP_TO) return rowWithoutYaml(scheduler, n);
        String yaml = config(scheduler, n, 0, false);
        List<Double> y2s = new ArrayList<>();
        List<Double> ro = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            long t0 = System.nanoTime();
            io.nflb.model.Config config = ConfigLoader.parse("bench.yaml", yaml);
            long t1 = System.nanoTime();
            int len = NftRenderer.render(Planner.plan(config)).text().length();
            long t2 = System.nanoTime();
            if (len == 0) throw new IllegalStateException("empty script");
            // The first two runs warm the JIT, as a long-running daemon's would be.
            if (i >= 2) {
                y2s.add((t1 - t0) / 1e6);
                ro.add((t2 - t1) / 1e6);
            }
        }
        Plan base = plan(yaml);
        // The daemon's Reconciler hands the dataplane the same plan object for every service whose usable
        // backends did not change; so do these: only service N/2's plan is new.
        Plan added = sharing(base, plan(config(scheduler, n, 1, false)), n / 2);
        Plan removed = sharing(base, plan(config(scheduler, n, 2, false)), n / 2);
        Plan reweighted = sharing(base, plan(config(scheduler, n, 3, false)), n / 2);
        return kernelRow(scheduler, n, median(y2s), median(ro), base, added, removed, reweighted);
    }

    /** The same row from plans built without YAML (no YAML column), the services as NftSyncBench makes them. */
    private static Row rowWithoutYaml(String scheduler, int n) throws Exception {
        io.nflb.model.Scheduler s = io.nflb.model.Scheduler.valueOf(scheduler.toUpperCase(Locale.ROOT).replace('-', '_'));
        long t0 = System.nanoTime();
        Plan base = io.nflb.dataplane.nft.NftSyncBench.plan(s, n, n / 2, 0);
        long t1 = System.nanoTime();
        NftRenderer.render(base).text();
        double render = (System.nanoTime() - t1) / 1e6;
        System.err.printf(Locale.ROOT, "%,d services planned from records in %.0f ms%n", n, (t1 - t0) / 1e6);
        Plan added = io.nflb.dataplane.nft.NftSyncBench.sharing(base, io.nflb.dataplane.nft.NftSyncBench.plan(s, n, n / 2, 1), n / 2);
        Plan removed = io.nflb.dataplane.nft.NftSyncBench.sharing(base, io.nflb.dataplane.nft.NftSyncBench.plan(s, n, n / 2, 2), n / 2);
        Plan reweighted = io.nflb.dataplane.nft.NftSyncBench.sharing(base, io.nflb.dataplane.nft.NftSyncBench.plan(s, n, n / 2, 3), n / 2);
        return kernelRow(scheduler, n, Double.NaN, render, base, added, removed, reweighted);
    }

    private static Row kernelRow(String scheduler, int n, double yamlParse, double configToScript, Plan base, Plan added,
                                 Plan removed, Plan reweighted) throws Exception {
        if (n >= 10_000) System.gc();
        List<Double> full = new ArrayList<>();
        List<Double> same = new ArrayList<>();
        List<Double> add = new ArrayList<>();
        List<Double> rem = new ArrayList<>();
        List<Double> rew = new ArrayList<>();
        int reps = n >= 30_000 ? 2 : 3;
        for (int rep = 0; rep < reps; rep++) {
            try (Netns ns = Netns.create("bench")) {
                NftDataplane dp = new NftDataplane(ns.exec());
                full.add(ms(() -> dp.apply(base)));
                for (int i = 0; i < 3; i++) {
                    same.add(ms(() -> requireUnchanged(dp.apply(base))));
                    add.add(ms(() -> requireChanged(dp.apply(added))));
                    rem.add(ms(() -> requireChanged(dp.apply(base))));
                    rew.add(ms(() -> requireChanged(dp.apply(reweighted))));
                    rem.add(ms(() -> requireChanged(dp.apply(base))));
                    rem.add(ms(() -> requireChanged(dp.apply(removed))));
                    add.add(ms(() -> requireChanged(dp.apply(base))));
                }
                dp.close();
            }
        }
        return new Row(n, yamlParse, configToScript, median(full), median(same), median(add), median(rem), median(rew),
                connPerSec(scheduler, n));
    }

    /** {@code base} with service {@code changed}'s plan taken from {@code other}. */
    public static Plan sharing(Plan base, Plan other, int changed) {
        List<io.nflb.plan.ServicePlan> out = new ArrayList<>(base.services());
        out.set(changed, other.services().get(changed));
        return new Plan(out);
    }

    private static NftDataplane.Outcome requireChanged(NftDataplane.Outcome o) {
        if (!o.changed() || !o.summary().contains("by difference")) throw new IllegalStateException("not a partial sync: " + o.summary());
        return o;
    }

    private static NftDataplane.Outcome requireUnchanged(NftDataplane.Outcome o) {
        if (o.changed()) throw new IllegalStateException("unchanged re-apply changed something: " + o.summary());
        return o;
    }

    public static double ms(Supplier<?> s) {
        long t0 = System.nanoTime();
        s.get();
        return (System.nanoTime() - t0) / 1e6;
    }

    public static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        int m = s.size() / 2;
        return s.size() % 2 == 1 ? s.get(m) : (s.get(m - 1) + s.get(m)) / 2;
    }

    private static final Pattern RPS = Pattern.compile("Requests/sec:\\s+([0-9.]+)");

    /**
     * New connections per second to the last service (web, 10.0.0.1:80) with {@code fillers} services in
     * front: client, router and server namespaces, nginx on two backend addresses, wrk -c20 with
     * "Connection: close" (every request a new connection), 5 s, median of 3.
     */
    static double connPerSec(String scheduler, int fillers) throws Exception {
        Path work = Files.createTempDirectory("nflb-bench-");
        try (Netns client = Netns.create("fpc"); Netns router = Netns.create("fpr"); Netns server = Netns.create("fps")) {
            Routed.wire(client, router, server, List.of("192.168.2.2", "192.168.2.3"));
            Exec r = router.exec();
            Exec c = client.exec();
            Exec s = server.exec();
            s.check(List.of("ip", "route", "add", "default", "via", "192.168.2.1"));
            Path conf = work.resolve("nginx.conf");
            Files.writeString(conf, "worker_processes 1;\npid " + work.resolve("nginx.pid") + ";\nerror_log " + work.resolve("error.log")
                    + ";\nevents { worker_connections 4096; }\nhttp { access_log off; server { listen 80 reuseport backlog=4096; "
                    + "location / { return 200 \"ok\\n\"; } } }\n");
            s.check(List.of("nginx", "-c", conf.toString()));
            try {
                NftDataplane dp = new NftDataplane(r);
                dp.apply(fillers <= YAML_UP_TO ? plan(config(scheduler, fillers, 0, true)) : withWeb(scheduler, fillers));
                List<Double> runs = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    Exec.Result w = c.run(List.of("wrk", "-t1", "-c20", "-d5s", "-H", "Connection: close", "http://10.0.0.1/"),
                            null, java.time.Duration.ofSeconds(30));
                    Matcher m = RPS.matcher(w.stdout());
                    if (!w.ok() || !m.find()) throw new IllegalStateException("wrk: " + w.stdout() + w.stderr());
                    runs.add(Double.parseDouble(m.group(1)));
                }
                dp.close();
                return median(runs);
            } finally {
                Path pid = work.resolve("nginx.pid");
                if (Files.exists(pid)) Exec.host().run(List.of("kill", Files.readString(pid).strip()));
            }
        } finally {
            try (var files = Files.walk(work)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** {@code fillers} services from records and the measured one (web, 10.0.0.1:80, two backends) last. */
    private static Plan withWeb(String scheduler, int fillers) {
        io.nflb.model.Scheduler s = io.nflb.model.Scheduler.valueOf(scheduler.toUpperCase(Locale.ROOT).replace('-', '_'));
        List<io.nflb.plan.ServicePlan> services = new ArrayList<>(io.nflb.dataplane.nft.NftSyncBench.plan(s, fillers, -1, 0).services());
        services.add(Planner.plan(new io.nflb.model.Service("web", io.nflb.model.Protocol.TCP,
                new io.nflb.model.Listen(80, io.nflb.model.IpAddress.parse("10.0.0.1"), java.util.Optional.empty()), s,
                io.nflb.model.Snat.NONE, List.of(new io.nflb.model.Backend(io.nflb.model.IpAddress.parse("192.168.2.2").orElseThrow(), 80, 1),
                new io.nflb.model.Backend(io.nflb.model.IpAddress.parse("192.168.2.3").orElseThrow(), 80, 1)),
                java.util.Optional.empty(), 0)));
        return new Plan(services);
    }

    static String table(String scheduler, double baseline, List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| services (").append(scheduler).append(", 10 backends) | YAML parse (ms) | config -> plan -> script (ms) | full apply (ms) | unchanged re-apply (ms) "
                + "| backend added (ms) | backend removed (ms) | backend reweighted (ms) | new conn/s, N in front (1 alone: ")
                .append(String.format(Locale.ROOT, "%.0f", baseline)).append(") |\n");
        sb.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "| %,d | %.0f | %.0f | %.0f | %.2f | %.1f | %.1f | %.1f | %.0f |%n", r.services(), r.yamlParse(),
                    r.configToScript(), r.fullApply(), r.unchanged(), r.added(), r.removed(), r.reweighted(), r.connPerSec()));
        }
        return sb.toString();
    }

    /** Two panels: times against size on log-log axes, and new connections per second against size. */
    static String svg(String scheduler, double baseline, List<Row> rows) {
        int w = 960;
        int h = 420;
        StringBuilder sb = new StringBuilder();
        sb.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(w).append("\" height=\"").append(h)
                .append("\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        sb.append("<text x=\"").append(w / 2).append("\" y=\"20\" text-anchor=\"middle\" font-size=\"15\">nflb, nftables backend: cost against size (")
                .append(scheduler).append(", 10 backends per service)</text>\n");
        double minN = rows.stream().mapToInt(Row::services).min().orElse(1);
        double maxN = rows.stream().mapToInt(Row::services).max().orElse(10);
        // Left: ms, log scale from 0.1 ms to the largest time.
        double maxMs = rows.stream().mapToDouble(r -> Math.max(r.fullApply(), r.yamlParse())).max().orElse(1);
        Panel left = new Panel(70, 50, 380, 300, minN, maxN, 0.1, Math.pow(10, Math.ceil(Math.log10(maxMs))), true);
        left.axes(sb, "services", "milliseconds (log)");
        String[] colors = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#8c564b"};
        String[] names = {"config -> script", "full apply", "one backend changed", "unchanged re-apply", "YAML parse"};
        for (int k = 0; k < 5; k++) {
            List<double[]> pts = new ArrayList<>();
            for (Row r : rows) {
                double v = switch (k) {
                    case 0 -> r.configToScript();
                    case 1 -> r.fullApply();
                    case 2 -> r.oneBackend();
                    case 3 -> Math.max(r.unchanged(), 0.1);
                    default -> r.yamlParse();
                };
                pts.add(new double[]{r.services(), v});
            }
            left.line(sb, pts, colors[k]);
            sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"3\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>%n",
                    90, 62 + 16 * k, colors[k], 106, 66 + 16 * k, names[k]));
        }
        // Goals as dashed lines: 2 s full apply, 20 ms one change, 0.3 s yaml -> script.
        left.hline(sb, 2000, "#ff7f0e", "goal 2 s");
        left.hline(sb, 300, "#1f77b4", "goal 0.3 s");
        left.hline(sb, 20, "#2ca02c", "goal 20 ms");
        double maxC = Math.max(baseline, rows.stream().mapToDouble(Row::connPerSec).max().orElse(1)) * 1.15;
        Panel right = new Panel(560, 50, 360, 300, minN, maxN, 0, maxC, false);
        right.axes(sb, "services in front", "new connections / s");
        List<double[]> conn = new ArrayList<>();
        for (Row r : rows) conn.add(new double[]{r.services(), r.connPerSec()});
        right.line(sb, conn, "#9467bd");
        right.hline(sb, baseline, "#7f7f7f", "1 service alone");
        return sb.append("</svg>\n").toString();
    }

    /** A plot area with a log x axis and a log or linear y axis. */
    private record Panel(int x, int y, int w, int h, double minX, double maxX, double minY, double maxY, boolean logY) {
        double px(double v) {
            return x + (Math.log10(v) - Math.log10(minX)) / Math.max(1e-9, Math.log10(maxX) - Math.log10(minX)) * w;
        }

        double py(double v) {
            double f = logY ? (Math.log10(Math.max(v, minY)) - Math.log10(minY)) / (Math.log10(maxY) - Math.log10(minY))
                    : (v - minY) / (maxY - minY);
            return y + h - f * h;
        }

        void axes(StringBuilder sb, String xLabel, String yLabel) {
            sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#333\"/>%n", x, y, w, h));
            for (double t = Math.pow(10, Math.floor(Math.log10(minX))); t <= maxX * 1.0001; t *= 10) {
                if (t < minX * 0.999) continue;
                tickX(sb, t);
            }
            if (maxX / minX < 1000) tickX(sb, maxX);
            if (logY) {
                for (double t = minY; t <= maxY * 1.0001; t *= 10) tickY(sb, t, t < 1 ? String.format(Locale.ROOT, "%.1f", t) : String.format(Locale.ROOT, "%,.0f", t));
            } else {
                double step = Math.pow(10, Math.floor(Math.log10(maxY / 2)));
                for (double t = 0; t <= maxY; t += step) tickY(sb, t, String.format(Locale.ROOT, "%,.0f", t));
            }
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", x + w / 2, y + h + 36, xLabel));
            sb.append(String.format(Locale.ROOT, "<text transform=\"translate(%d,%d) rotate(-90)\" text-anchor=\"middle\">%s</text>%n", x - 52, y + h / 2, yLabel));
        }

        private void tickX(StringBuilder sb, double t) {
            sb.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%,.0f</text>%n",
                    px(t), y, px(t), y + h, px(t), y + h + 16, t));
        }

        private void tickY(StringBuilder sb, double t, String label) {
            sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n",
                    x, py(t), x + w, py(t), x - 6, py(t) + 4, label));
        }

        void line(StringBuilder sb, List<double[]> pts, String color) {
            StringBuilder d = new StringBuilder();
            for (double[] p : pts) {
                if (Double.isNaN(p[1])) continue;
                d.append(d.length() == 0 ? "M" : " L").append(String.format(Locale.ROOT, "%.1f %.1f", px(p[0]), py(p[1])));
                sb.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>%n", px(p[0]), py(p[1]), color));
            }
            sb.append("<path d=\"").append(d).append("\" fill=\"none\" stroke=\"").append(color).append("\" stroke-width=\"2\"/>\n");
        }

        void hline(StringBuilder sb, double v, String color, String label) {
            if (v < minY || v > maxY) return;
            sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" stroke-dasharray=\"5,4\"/>"
                    + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"%s\" font-size=\"11\">%s</text>%n",
                    x, py(v), x + w, py(v), color, x + w - 4, py(v) - 4, color, label));
        }
    }
}
