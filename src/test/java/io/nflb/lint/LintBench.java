package io.nflb.lint;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * bench/lint's inputs and its in-process timings. "write DIR" writes the large router (LargeDump, seed 11:
 * 7,080 rules, 517 chains), one group of 1,000 --probability rules, one of 1,000 nth rules, and a config of one
 * service with 1,000 random backends for explain. "inproc DIR" lints each dump several times in one JVM (after
 * warming up) and prints the median and best wall time of Linter.lint, without the JVM's start.
 */
public final class LintBench {

    private LintBench() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]);
        if (args[0].equals("write")) {
            Files.writeString(dir.resolve("large.rules"), LargeDump.generate(11, 220).text);
            Files.writeString(dir.resolve("group1000.rules"), LintDumpsTest.randomGroup(1000));
            Files.writeString(dir.resolve("nth1000.rules"), LintDumpsTest.nthGroup(1000));
            StringBuilder y = new StringBuilder("backend: iptables\nservices:\n  - name: web\n    listen: {address: 192.0.2.1, port: 80}\n"
                    + "    scheduler: random\n    backends:\n");
            java.util.SplittableRandom rnd = new java.util.SplittableRandom(11);
            for (int b = 0; b < 1000; b++) {
                y.append("      - {address: 10.1.").append(b / 250).append('.').append(b % 250 + 1).append(", weight: ")
                        .append(1 + rnd.nextInt(100)).append("}\n");
            }
            Files.writeString(dir.resolve("explain1000.yaml"), y.toString());
            return;
        }
        System.out.println("| input | in process, median of 7 (ms) | best (ms) |");
        System.out.println("| --- | ---: | ---: |");
        for (String name : List.of("large.rules", "group1000.rules", "nth1000.rules")) {
            String text = Files.readString(dir.resolve(name));
            for (int i = 0; i < 3; i++) Linter.lint(name, text, Linter.Options.builtIn());
            List<Long> ms = new ArrayList<>();
            for (int i = 0; i < 7; i++) {
                long t = System.nanoTime();
                Linter.lint(name, text, Linter.Options.builtIn());
                ms.add((System.nanoTime() - t) / 1_000_000);
            }
            Collections.sort(ms);
            System.out.printf(Locale.ROOT, "| lint %s | %d | %d |%n", name, ms.get(3), ms.get(0));
        }
        // explain of 1,000 random backends: plan, render and evaluate the rules, as nflb explain does.
        io.nflb.model.Config config = io.nflb.config.ConfigLoader.parse("explain1000.yaml", Files.readString(dir.resolve("explain1000.yaml")));
        List<Long> ms = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            long t = System.nanoTime();
            io.nflb.plan.Plan plan = io.nflb.plan.Planner.plan(config);
            String text = io.nflb.dataplane.iptables.IptablesExplainer.explain(plan,
                    io.nflb.dataplane.iptables.IptablesRenderer.render(plan, io.nflb.model.IpAddress.Family.V4)).toText();
            if (text.isEmpty()) throw new IllegalStateException();
            if (i >= 3) ms.add((System.nanoTime() - t) / 1_000_000);
        }
        Collections.sort(ms);
        System.out.printf(Locale.ROOT, "| explain, 1 service with 1,000 random backends | %d | %d |%n", ms.get(3), ms.get(0));
    }
}
