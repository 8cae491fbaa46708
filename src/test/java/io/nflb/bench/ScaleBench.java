package io.nflb.bench;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.Dataplane;
import io.nflb.dataplane.Dataplanes;
import io.nflb.dataplane.iptables.IptablesRenderer;
import io.nflb.host.Exec;
import io.nflb.model.BackendKind;
import io.nflb.model.IpAddress;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Cost against size: for N services x 10 backends, the time to go from YAML to rule text in process, a full
 * apply into an empty namespace, re-applying an unchanged config, and changing one backend of one service.
 * Every kernel step runs in a namespace of its own (nflb-bench-*), removed at the end.
 * Usage: ScaleBench BACKEND N [N...]  (BACKEND: iptables | nftables); prints one Markdown row per N.
 * ScaleBench yaml BACKEND N prints N filler services plus the lab's service last (bench/first-packet).
 */
public final class ScaleBench {

    private ScaleBench() {
    }

    /** N services on distinct VIPs 10.(100+i/65536).x.y:80, each with 10 backends in 10.200.0.0/16. */
    static String config(BackendKind backend, int services, int changedWeight) {
        StringBuilder y = new StringBuilder(services * 400);
        y.append("backend: ").append(backend.keyword()).append("\nservices:\n");
        for (int i = 0; i < services; i++) {
            y.append("  - name: svc").append(i).append("\n    listen: {address: ").append(vip(i)).append(", port: 80}\n")
                    .append("    scheduler: random\n    backends:\n");
            for (int b = 0; b < 10; b++) {
                int weight = (i == services / 2 && b == 0) ? changedWeight : 1;
                y.append("      - {address: 10.200.").append((i * 10 + b) / 250 % 250).append('.').append((i * 10 + b) % 250 + 1)
                        .append(", weight: ").append(weight).append("}\n");
            }
        }
        return y.toString();
    }

    static String vip(int i) {
        return "10." + (100 + i / 65536) + "." + (i / 256 % 256) + "." + (i % 256);
    }

    public static void main(String[] args) throws Exception {
        if (args[0].equals("yaml")) {
            // A config of N filler services followed by the lab's own service: the worst case for a linear scan.
            String yaml = config(BackendKind.valueOf(args[1].toUpperCase(Locale.ROOT)), Integer.parseInt(args[2]), 1);
            System.out.print(yaml + "  - name: web\n    listen: {address: 192.168.2.1, port: 80}\n"
                    + "    backends: [{address: 192.168.2.2}, {address: 192.168.2.3}]\n");
            return;
        }
        BackendKind backend = BackendKind.valueOf(args[0].toUpperCase(Locale.ROOT));
        System.out.println("| backend | services | rules (text lines) | yaml -> rules (ms) | full apply (ms) | unchanged re-apply (ms) | one backend reweighted (ms) |");
        System.out.println("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (int a = 1; a < args.length; a++) {
            row(backend, Integer.parseInt(args[a]));
        }
    }

    private static void row(BackendKind backend, int n) throws Exception {
        String yaml = config(backend, n, 1);
        String changedYaml = config(backend, n, 2);
        // In-process compile: best of 5 after a warm-up, as a long-running daemon would see it.
        long best = Long.MAX_VALUE;
        int lines = 0;
        for (int i = 0; i < 6; i++) {
            long t0 = System.nanoTime();
            Plan plan = Planner.plan(ConfigLoader.parse("bench.yaml", yaml));
            String text = IptablesRenderer.restoreText(IptablesRenderer.render(plan, IpAddress.Family.V4));
            long took = System.nanoTime() - t0;
            if (i > 0) best = Math.min(best, took);
            lines = (int) text.lines().count();
        }
        String ns = "nflb-bench-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
        Exec.host().check(List.of("ip", "netns", "add", ns));
        try {
            Dataplane dp = Dataplanes.REAL.forKind(backend, Exec.inNetns(ns));
            Plan plan = Planner.plan(ConfigLoader.parse("bench.yaml", yaml));
            Plan changed = Planner.plan(ConfigLoader.parse("bench.yaml", changedYaml));
            long full = time(() -> dp.apply(plan));
            long same = time(() -> dp.apply(plan));
            long one = time(() -> dp.apply(changed));
            System.out.printf(Locale.ROOT, "| %s | %,d | %,d | %.0f | %.0f | %.0f | %.0f |%n", backend.keyword(), n, lines,
                    best / 1e6, full / 1e6, same / 1e6, one / 1e6);
        } finally {
            Exec.host().run(List.of("ip", "netns", "del", ns));
        }
    }

    private static long time(Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        return System.nanoTime() - t0;
    }
}
