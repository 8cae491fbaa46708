package io.nflb.bench;

import io.nflb.host.Exec;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Issue 14: whole commands as a user waits for them, each in a JVM of its own started as /usr/bin/nflb starts it
 * (the launcher's flags and a class-data archive made from the package's training config), against the kernel
 * tool on the very script {@code nflb plan} prints. Per round, interleaved: validate, plan, apply into an empty
 * namespace, the same apply again (unchanged), an apply with one service reweighted, then {@code nft -f} of the
 * plan's script into another empty namespace; the ratio of apply to nft -f is taken within each round. With a
 * second jar (an older build), its validate, plan and apply run in the same rounds. {@code big}: one full apply
 * with {@code -Xmx1g} and the heap its GC log shows, against nft -f of the same script.
 * Usage: CommandsBench RAW_FILE WORK_DIR JAR OLD_JAR|- SCHEDULER N ROUNDS [big]
 */
public final class CommandsBench {

    private static final List<String> LAUNCHER = List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
            "-Xshare:auto", "-Xlog:disable", "-Xlog:all=warning:stderr");
    private static final Pattern HEAP = Pattern.compile("(\\d+)M->(\\d+)M\\((\\d+)M\\)");

    private final PrintStream raw;
    private final Path work;
    private final Map<String, List<double[]>> times = new LinkedHashMap<>();
    private final List<Double> ratios = new ArrayList<>();
    private final List<Double> oldRatios = new ArrayList<>();

    private CommandsBench(PrintStream raw, Path work) {
        this.raw = raw;
        this.work = work;
    }

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[1]);
        Files.createDirectories(work);
        try (PrintStream raw = new PrintStream(Files.newOutputStream(Path.of(args[0]), StandardOpenOption.CREATE, StandardOpenOption.APPEND), true)) {
            CommandsBench b = new CommandsBench(raw, work);
            Path jar = Path.of(args[2]);
            Path old = args[3].equals("-") ? null : Path.of(args[3]);
            String scheduler = args[4];
            int n = Integer.parseInt(args[5]);
            int rounds = Integer.parseInt(args[6]);
            if (args.length > 7 && args[7].equals("big")) b.big(jar, scheduler, n);
            else b.rounds(jar, old, scheduler, n, rounds);
        }
    }

    /** The launcher's command line for {@code jar}, with its own class-data archive made once. */
    private List<String> nflb(Path jar, List<String> extra) throws Exception {
        Path archive = work.resolve(jar.getFileName() + "-" + Integer.toHexString(jar.toAbsolutePath().toString().hashCode()) + ".jsa");
        if (!Files.exists(archive)) {
            List<String> dump = new ArrayList<>(List.of("java"));
            dump.addAll(LAUNCHER);
            dump.addAll(List.of("-XX:ArchiveClassesAtExit=" + archive, "-jar", jar.toString(), "plan", "-c", "packaging/cds-training.yaml"));
            run(dump, null);
        }
        List<String> cmd = new ArrayList<>(List.of("java"));
        cmd.addAll(LAUNCHER);
        cmd.add("-XX:SharedArchiveFile=" + archive);
        cmd.addAll(extra);
        cmd.addAll(List.of("-jar", jar.toString()));
        return cmd;
    }

    private void rounds(Path jar, Path old, String scheduler, int n, int rounds) throws Exception {
        Path yaml = work.resolve(scheduler + "-" + n + ".yaml");
        Path changed = work.resolve(scheduler + "-" + n + "-changed.yaml");
        YamlBench.main(new String[] {"write", scheduler, String.valueOf(n), "0", yaml.toString()});
        YamlBench.main(new String[] {"write", scheduler, String.valueOf(n), "3", changed.toString()});
        Path script = work.resolve(scheduler + "-" + n + ".nft");
        List<String> nflb = nflb(jar, List.of());
        Files.writeString(script, run(with(nflb, "plan", "-c", yaml.toString()), null).stdout);
        List<String> before = old == null ? null : nflb(old, List.of());
        for (int r = 1; r <= rounds; r++) {
            Path state = work.resolve("state-" + scheduler + "-" + r);
            time("validate", with(nflb, "validate", "-c", yaml.toString()), null);
            time("plan", with(nflb, "plan", "-c", yaml.toString()), null);
            String ns = namespace();
            double apply;
            try {
                apply = time("apply (empty kernel)", with(nflb, "apply", "-c", yaml.toString(), "--netns", ns, "--state-dir", state.toString()), null)[0];
                time("apply again (unchanged)", with(nflb, "apply", "-c", yaml.toString(), "--netns", ns, "--state-dir", state.toString()), null);
                time("apply (one service reweighted)", with(nflb, "apply", "-c", changed.toString(), "--netns", ns, "--state-dir", state.toString()), null);
            } finally {
                delete(ns);
            }
            double nft = nftF(script);
            ratios.add(apply / nft);
            if (before != null) {
                time("old: validate", with(before, "validate", "-c", yaml.toString()), null);
                time("old: plan", with(before, "plan", "-c", yaml.toString()), null);
                String ons = namespace();
                try {
                    double a = time("old: apply (empty kernel)", with(before, "apply", "-c", yaml.toString(), "--netns", ons,
                            "--state-dir", work.resolve("old-state-" + scheduler + "-" + r).toString()), null)[0];
                    time("old: apply again (unchanged)", with(before, "apply", "-c", yaml.toString(), "--netns", ons,
                            "--state-dir", work.resolve("old-state-" + scheduler + "-" + r).toString()), null);
                    oldRatios.add(a / nft);
                } finally {
                    delete(ons);
                }
            }
        }
        System.out.println("| command (" + scheduler + ", " + String.format(Locale.ROOT, "%,d", n) + " services x 10) | wall, median (s) | range (s) | CPU user+sys, median (s) | runs |");
        System.out.println("| --- | ---: | ---: | ---: | ---: |");
        times.forEach((what, list) -> {
            List<Double> wall = list.stream().map(t -> t[0]).toList();
            List<Double> cpu = list.stream().map(t -> t[1] + t[2]).toList();
            System.out.printf(Locale.ROOT, "| %s | %.2f | %.2f-%.2f | %.2f | %d |%n", what, NftCostBench.median(wall), min(wall), max(wall),
                    NftCostBench.median(cpu), list.size());
        });
        System.out.printf(Locale.ROOT, "%napply / nft -f of the same script, within each round: median %.2f, range %.2f-%.2f%s%n", NftCostBench.median(ratios),
                min(ratios), max(ratios), oldRatios.isEmpty() ? "" : String.format(Locale.ROOT, "; the old build: median %.2f, range %.2f-%.2f",
                        NftCostBench.median(oldRatios), min(oldRatios), max(oldRatios)));
    }

    /** One full apply with a 1 GB heap, its GC log read for the heap, and nft -f of the same script. */
    private void big(Path jar, String scheduler, int n) throws Exception {
        Path yaml = work.resolve(scheduler + "-" + n + ".yaml");
        YamlBench.main(new String[] {"write", scheduler, String.valueOf(n), "0", yaml.toString()});
        Path script = work.resolve(scheduler + "-" + n + ".nft");
        Path gc = work.resolve("gc-" + n + ".log");
        List<String> nflb = nflb(jar, List.of("-Xmx1g", "-Xlog:gc:file=" + gc));
        Files.writeString(script, run(with(nflb(jar, List.of("-Xmx1g")), "plan", "-c", yaml.toString()), null).stdout);
        String ns = namespace();
        double[] apply;
        try {
            apply = time("apply, -Xmx1g (empty kernel)", with(nflb, "apply", "-c", yaml.toString(), "--netns", ns, "--state-dir",
                    work.resolve("state-big").toString()), null);
        } finally {
            delete(ns);
        }
        double nft = nftF(script);
        long peak = 0;
        long after = 0;
        int collections = 0;
        double paused = 0;
        for (String line : Files.readAllLines(gc)) {
            Matcher m = HEAP.matcher(line);
            if (!line.contains("Pause") || !m.find()) continue;
            collections++;
            peak = Math.max(peak, Long.parseLong(m.group(1)));
            after = Math.max(after, Long.parseLong(m.group(2)));
            Matcher ms = Pattern.compile("([0-9.]+)ms$").matcher(line.strip());
            if (ms.find()) paused += Double.parseDouble(ms.group(1));
        }
        System.out.printf(Locale.ROOT, "| %,d | %s | %.1f | %.1f | %.1f | %d | %d | %d | %.1f | %s |%n", n, scheduler, apply[0], apply[1] + apply[2],
                nft, peak, after, collections, paused / 1000, load());
    }

    private double nftF(Path script) throws Exception {
        String ns = namespace();
        try {
            return time("nft -f of the plan's script", List.of("ip", "netns", "exec", ns, "nft", "-f", script.toString()), null)[0];
        } finally {
            delete(ns);
        }
    }

    private static List<String> with(List<String> base, String... args) {
        List<String> out = new ArrayList<>(base);
        out.addAll(List.of(args));
        return out;
    }

    /** Wall, user and system seconds of {@code cmd}, recorded under {@code what}. */
    private double[] time(String what, List<String> cmd, String stdin) throws Exception {
        Path t = work.resolve("time.txt");
        List<String> timed = new ArrayList<>(List.of("/usr/bin/time", "-f", "%e %U %S", "-o", t.toString()));
        timed.addAll(cmd);
        run(timed, stdin);
        String[] w = Files.readString(t).strip().split("\\s+");
        double[] r = {Double.parseDouble(w[w.length - 3]), Double.parseDouble(w[w.length - 2]), Double.parseDouble(w[w.length - 1])};
        times.computeIfAbsent(what, k -> new ArrayList<>()).add(r);
        raw.printf(Locale.ROOT, "commands: %s: %.2f s wall, %.2f s user, %.2f s sys (load %s)%n", what, r[0], r[1], r[2], load());
        return r;
    }

    private record Ran(String stdout) {
    }

    private Ran run(List<String> cmd, String stdin) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.directory(Path.of("").toAbsolutePath().toFile());
        Path out = work.resolve("stdout.txt");
        pb.redirectOutput(out.toFile());
        Process p = pb.start();
        if (!p.waitFor(15, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException("did not finish in 15 min: " + cmd);
        }
        if (p.exitValue() != 0) throw new IllegalStateException("exit " + p.exitValue() + ": " + cmd);
        return new Ran(Files.readString(out));
    }

    private static String namespace() {
        // Not nflb-t-*: run-tests removes those (and kills what runs in them) when any test run starts.
        String ns = "nflb-bench-cmd-" + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong() & 0xffffffL);
        Exec.host().check(List.of("ip", "netns", "add", ns));
        return ns;
    }

    private static void delete(String ns) {
        Exec.host().run(List.of("ip", "netns", "del", ns));
    }

    private static double min(List<Double> xs) {
        return xs.stream().mapToDouble(d -> d).min().orElse(0);
    }

    private static double max(List<Double> xs) {
        return xs.stream().mapToDouble(d -> d).max().orElse(0);
    }

    /** The load average (1, 5, 15 min) that every benchmark line carries. */
    public static String load() {
        try {
            String[] w = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return w[0] + " " + w[1] + " " + w[2];
        } catch (IOException e) {
            return "?";
        }
    }
}
