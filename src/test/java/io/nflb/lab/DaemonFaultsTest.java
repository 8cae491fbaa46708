package io.nflb.lab;

import io.nflb.config.ConfigLoader;
import io.nflb.daemon.ControlClient;
import io.nflb.dataplane.Dataplane;
import io.nflb.dataplane.Dataplanes;
import io.nflb.host.Exec;
import io.nflb.model.Config;
import io.nflb.plan.Planner;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Faults injected into a real daemon (its own JVM) over a real kernel in a namespace, in each rule language:
 * SIGKILL in the middle of a sync at random points, someone flushing the rules under it, the kernel tool failing,
 * a full or read-only state directory, the config replaced by a broken file, a huge one and a directory, a
 * backend flapping on every check, and slow and idle clients on both local servers. After each: the kernel holds
 * the old rules or the new ones, never a mix; other tools' rules are byte-identical; the daemon answers; nothing
 * was applied that validate refuses. Bounds are generous: this runs on a loaded 2-core machine.
 */
class DaemonFaultsTest {

    private static final int SERVICES = 150;
    private static final int KILLS = 10;

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"iptables", "nftables"})
    void theDaemonSurvivesFaultsAndTheKernelIsNeverHalfChanged(String language) throws Exception {
        KernelTests.require("ip", "iptables-restore", "iptables-save", "nft", "setsid", "unshare", "mount");
        try (Netns ns = Netns.create("faults")) {
            Exec k = ns.exec();
            Dataplane live = Dataplanes.REAL.named(language, k);
            foreign(k, language);
            String foreignBefore = foreignRules(k, language);
            Path yaml = dir.resolve("nflb.yaml");
            String a = config(language, 4);
            String b = config(language, 5);
            Files.writeString(yaml, a);
            Path shims = shims();
            Report report = new Report(language);

            // 1. SIGKILL while a reload is in the kernel, at random points: old or new rules, never a mix.
            SplittableRandom random = new SplittableRandom(language.hashCode() * 31L + 20261130L);
            DaemonProcess d = DaemonProcess.start(dir, yaml, ns.name(), shims, "kill-0");
            long reloadMillis = timedReload(d, yaml, b);
            assertThat(holds(live, b)).isTrue();
            String current = b;
            for (int i = 0; i < KILLS; i++) {
                String next = current.equals(a) ? b : a;
                Files.writeString(yaml, next);
                DaemonProcess victim = d;
                CompletableFuture<Void> reload = CompletableFuture.runAsync(() -> {
                    try {
                        ControlClient.ask(victim.socket, "reload", Duration.ofSeconds(120));
                    } catch (IOException e) {
                        // killed under it: expected
                    }
                });
                long delay = random.nextLong(Math.max(1, reloadMillis * 3 / 2));
                Thread.sleep(delay);
                victim.kill9();
                reload.get(60, TimeUnit.SECONDS);
                awaitStable(live, a, b);
                boolean old = holds(live, current);
                boolean now = holds(live, next);
                assertThat(old || now).as("kill %d after %d ms: the old or the new rules, never a mix", i, delay).isTrue();
                report.kill(delay, now ? "new" : "old");
                assertThat(foreignRules(k, language)).as("foreign rules after kill " + i).isEqualTo(foreignBefore);
                d = DaemonProcess.start(dir, yaml, ns.name(), shims, "kill-" + (i + 1));
                String onDisk = next;
                await(() -> holds(live, onDisk), Duration.ofSeconds(60), "a restarted daemon brings the kernel to the file");
                current = next;
            }
            try {
                // 2. Someone flushes the rules under the daemon: repaired within resync_interval, counted.
                if (language.equals("nftables")) k.check(List.of("nft", "flush", "ruleset"));
                else {
                    k.check(List.of("iptables", "-F"));
                    k.check(List.of("iptables", "-t", "nat", "-F"));
                }
                String foreignAfterFlush = foreignRules(k, language);
                String cur = current;
                DaemonProcess daemon = d;
                // Counted once the repair's transaction is in: the rules can be back a moment before the count.
                await(() -> holds(live, cur) && counted(daemon, "nflb_repairs_total [1-9]"), Duration.ofSeconds(30),
                        "repaired after a flush, and counted");
                assertThat(d.metrics()).containsPattern("nflb_repairs_total [1-9]");
                assertThat(foreignRules(k, language)).as("what the flush left of other tools' rules").isEqualTo(foreignAfterFlush);
                report.fault("flush under the daemon (" + (language.equals("nftables") ? "nft flush ruleset" : "iptables -F, iptables -t nat -F")
                        + ")", "repaired, counted in nflb_repairs_total");
                foreign(k, language);
                foreignBefore = foreignRules(k, language);

                // 3. The kernel tool fails: the reload is refused and the kernel keeps the old rules.
                String next = current.equals(a) ? b : a;
                Files.writeString(yaml, next);
                Files.writeString(shims.resolve("fail"), "");
                ControlClient.Answer refused = ControlClient.ask(d.socket, "reload", Duration.ofSeconds(120));
                assertThat(refused.ok()).as(refused.text()).isFalse();
                assertThat(refused.text()).contains("injected failure");
                assertThat(holds(live, current)).as("a refused reload changes nothing").isTrue();
                Files.delete(shims.resolve("fail"));
                assertThat(ControlClient.ask(d.socket, "reload", Duration.ofSeconds(120)).ok()).isTrue();
                assertThat(holds(live, next)).isTrue();
                current = next;
                report.fault(language.equals("nftables") ? "nft failing" : "iptables-restore failing", "reload refused, old rules kept; next reload applied");

                // 4. The config replaced by a broken file, a huge one, a directory: refused with a reason, nothing applied.
                String good = Files.readString(yaml);
                for (String kind : List.of("broken", "huge", "directory")) {
                    Path moved = dir.resolve("nflb.yaml.good");
                    Files.move(yaml, moved);
                    switch (kind) {
                        case "broken" -> Files.writeString(yaml, good.replace("port: 80", "port: [80"));
                        case "huge" -> {
                            try (OutputStream out = Files.newOutputStream(yaml)) {
                                byte[] line = ("# " + "x".repeat(1000) + "\n").getBytes(StandardCharsets.US_ASCII);
                                for (int i = 0; i < 70_000; i++) out.write(line);
                            }
                        }
                        default -> Files.createDirectory(yaml);
                    }
                    long t = System.nanoTime();
                    ControlClient.Answer r = ControlClient.ask(d.socket, "reload", Duration.ofSeconds(60));
                    assertThat(r.ok()).as(kind).isFalse();
                    assertThat(r.text()).as(kind).contains(switch (kind) {
                        case "broken" -> "invalid yaml";
                        case "huge" -> "larger than 64 MiB";
                        default -> "it is a directory";
                    });
                    assertThat(holds(live, current)).as("nothing applied for a " + kind + " config").isTrue();
                    assertThat(ControlClient.ask(d.socket, "ping").ok()).isTrue();
                    report.fault("config replaced by a " + kind + " one", "refused in " + (System.nanoTime() - t) / 1_000_000 + " ms: "
                            + r.text().strip().lines().findFirst().orElse(""));
                    if (Files.isDirectory(yaml)) Files.delete(yaml);
                    else Files.delete(yaml);
                    Files.move(moved, yaml);
                }

                // 5. A full or a read-only state directory: apply refuses before the kernel changes.
                for (String kind : List.of("full", "read-only")) {
                    Path state = dir.resolve("state-" + kind);
                    Files.createDirectories(state);
                    String mount = kind.equals("full") ? "mount -t tmpfs -o size=64k nflb-full \"$1\" && head -c 60000 /dev/zero > \"$1/fill\" 2>/dev/null; "
                            : "mount -t tmpfs -o ro nflb-ro \"$1\" && ";
                    List<String> argv = new ArrayList<>(List.of("unshare", "-m", "--", "sh", "-c", mount + "shift; exec \"$@\"", "sh", state.toString()));
                    Path other = dir.resolve("other.yaml");
                    Files.writeString(other, current.equals(a) ? b : a);
                    argv.addAll(Servers.java("io.nflb.cli.Main", "apply", "-c", other.toString(), "--netns", ns.name(), "--state-dir", state.toString()));
                    Exec.Result r = Exec.host().run(argv, Map.of(), null, Duration.ofSeconds(120));
                    assertThat(r.exitCode()).as(kind + ": " + r.stdout() + r.stderr()).isEqualTo(1);
                    assertThat(r.stderr()).contains("cannot write the generation");
                    assertThat(holds(live, current)).as(kind + " state dir: nothing applied").isTrue();
                    report.fault(kind + " state directory (apply)", "refused before the kernel changed: " + r.stderr().strip().lines().findFirst().orElse(""));
                }

                // 6. A backend flapping on every check: the rules follow, always whole, at most every min_sync_interval.
                Path flag = dir.resolve("flap");
                String flapping = current.replace("services:\n", """
                        services:
                          - name: flap
                            listen: {address: 10.250.0.1, port: 80}
                            backends:
                              - {address: 10.250.1.2, health: {type: exec, command: [sh, -c, "if [ -e %1$s ]; then rm -f %1$s; exit 1; else : > %1$s; fi"], interval: 100ms, timeout: 90ms, rise: 1, fall: 1}}
                              - {address: 10.250.1.3}
                        """.formatted(flag));
                String flapDown = flapping.replaceAll("(?m)^      - \\{address: 10\\.250\\.1\\.2,.*\\n", "");
                assertThat(flapDown).doesNotContain("10.250.1.2").contains("10.250.1.3");
                Files.writeString(yaml, flapping);
                assertThat(ControlClient.ask(d.socket, "reload", Duration.ofSeconds(120)).ok()).isTrue();
                long syncsBefore = count(d.metrics(), "nflb_sync_duration_seconds_count");
                long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
                int up = 0, down = 0, samples = 0;
                while (System.nanoTime() < end) {
                    // One read of the kernel, compared with both whole states: two reads could straddle a flip.
                    String now = snapshot(k, language);
                    boolean isUp = matches(now, language, flapping);
                    boolean isDown = !isUp && matches(now, language, flapDown);
                    assertThat(isUp || isDown).as("the kernel holds one whole state of the flapping service").isTrue();
                    if (isUp) up++;
                    else down++;
                    samples++;
                    Thread.sleep(100);
                }
                long syncs = count(d.metrics(), "nflb_sync_duration_seconds_count") - syncsBefore;
                assertThat(up).as("seen up").isPositive();
                assertThat(down).as("seen down").isPositive();
                assertThat(syncs).as("syncs in 5 s at min_sync_interval 100ms").isLessThanOrEqualTo(60);
                assertThat(d.threads()).as("the daemon's threads").isLessThanOrEqualTo(64);
                report.fault("a backend flapping on every 100 ms check for 5 s", samples + " kernel samples, all whole (" + up + " up, " + down
                        + " down); " + syncs + " syncs; " + d.threads() + " threads");
                current = flapping;

                // 7. 100 slow HTTP clients and 100 idle control connections: the metrics, states and a drain still answer.
                try (io.nflb.testing.HostileClients hostile = io.nflb.testing.HostileClients.open(d.port, d.socket, 100)) {
                    Thread.sleep(500);
                    long t = System.nanoTime();
                    assertThat(d.metrics()).contains("nflb_backend_up{");
                    long metricsMs = (System.nanoTime() - t) / 1_000_000;
                    t = System.nanoTime();
                    assertThat(ControlClient.ask(d.socket, "states").text()).contains("backend\tflap\t10.250.1.3:80");
                    long statesMs = (System.nanoTime() - t) / 1_000_000;
                    t = System.nanoTime();
                    assertThat(ControlClient.ask(d.socket, "drain flap 10.250.1.3").ok()).isTrue();
                    long drainMs = (System.nanoTime() - t) / 1_000_000;
                    assertThat(List.of(metricsMs, statesMs, drainMs)).allMatch(ms -> ms < 5000);
                    int threads = d.threads();
                    assertThat(threads).as("threads with 100 slow HTTP clients").isLessThanOrEqualTo(64 + 144);
                    report.fault("100 slow HTTP clients + 100 idle control connections", "/metrics " + metricsMs + " ms, states " + statesMs
                            + " ms, drain " + drainMs + " ms; " + threads + " threads");
                }
                assertThat(foreignRules(k, language)).as("foreign rules at the end").isEqualTo(foreignBefore);
                assertThat(ControlClient.ask(d.socket, "ping").ok()).isTrue();
            } finally {
                d.stop();
                report.print();
            }
        }
    }

    /** N services of 3 backends, the last one's address ending in {@code last}: two values differ in every service. */
    private static String config(String language, int last) {
        StringBuilder y = new StringBuilder("backend: " + language + "\ndaemon: {min_sync_interval: 100ms, resync_interval: 2s}\nservices:\n");
        for (int s = 0; s < SERVICES; s++) {
            y.append("  - name: svc-").append(s).append("\n    listen: {address: 10.200.").append(s / 250).append('.').append(s % 250 + 1)
                    .append(", port: 80}\n    backends: [{address: 10.201.").append(s % 250).append(".2}, {address: 10.201.")
                    .append(s % 250).append(".3}, {address: 10.201.").append(s % 250).append('.').append(last).append("}]\n");
        }
        return y.toString();
    }

    private static boolean holds(Dataplane live, String yaml) {
        try {
            Config c = ConfigLoader.parse("x.yaml", yaml);
            return live.diff(Planner.plan(c), "wanted").isEmpty();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String snapshot(Exec k, String language) {
        if (language.equals("nftables")) return k.check(List.of("nft", "-s", "list", "table", "inet", "nflb")).stdout();
        return k.check(List.of("iptables-save")).stdout();
    }

    /** Whether a kernel listing holds exactly the rules of {@code yaml}. */
    private static boolean matches(String snapshot, String language, String yaml) {
        io.nflb.plan.Plan p = plan(yaml);
        if (language.equals("nftables")) {
            return io.nflb.dataplane.nft.NftState.parse(snapshot).sameAs(io.nflb.dataplane.nft.NftRenderer.render(p).state());
        }
        return io.nflb.dataplane.iptables.IptablesKernel.transaction(
                io.nflb.dataplane.iptables.IptablesRenderer.render(p, io.nflb.model.IpAddress.Family.V4), snapshot).isEmpty();
    }

    /** Waits until tools the killed daemon left running have finished: the same state twice, 300 ms apart. */
    private static void awaitStable(Dataplane live, String a, String b) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        String before = live.diff(plan(a), "a") + live.diff(plan(b), "b");
        while (System.nanoTime() < deadline) {
            Thread.sleep(300);
            String now = live.diff(plan(a), "a") + live.diff(plan(b), "b");
            if (now.equals(before)) return;
            before = now;
        }
    }

    private static io.nflb.plan.Plan plan(String yaml) {
        try {
            return Planner.plan(ConfigLoader.parse("x.yaml", yaml));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static long timedReload(DaemonProcess d, Path yaml, String next) throws Exception {
        Files.writeString(yaml, next);
        long t = System.nanoTime();
        ControlClient.Answer r = ControlClient.ask(d.socket, "reload", Duration.ofSeconds(120));
        assertThat(r.ok()).as(r.text()).isTrue();
        return Math.max(20, (System.nanoTime() - t) / 1_000_000);
    }

    /** Whether the daemon's /metrics has a line matching {@code pattern}; unreadable counts as not yet. */
    private static boolean counted(DaemonProcess d, String pattern) {
        try {
            return java.util.regex.Pattern.compile(pattern).matcher(d.metrics()).find();
        } catch (IOException e) {
            return false;
        }
    }

    private static void await(BooleanSupplier condition, Duration within, String what) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("not within " + within.toSeconds() + " s: " + what);
            Thread.sleep(100);
        }
    }

    private static long count(String metrics, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + " ([0-9.e+E]+)$").matcher(metrics);
        return m.find() ? (long) Double.parseDouble(m.group(1)) : 0;
    }

    /** Other tools' rules, which nflb must never touch. */
    private static void foreign(Exec k, String language) {
        if (language.equals("nftables")) {
            k.check(List.of("nft", "-f", "/dev/stdin"), "table ip foreign {\n\tchain c {\n\t\ttype filter hook input priority 0; policy accept;\n"
                    + "\t\ttcp dport 2222 counter accept\n\t}\n}\n");
        } else {
            k.check(List.of("iptables-restore", "--noflush"), "*filter\n:FOREIGN - [0:0]\n-A INPUT -p tcp --dport 2222 -j FOREIGN\n"
                    + "-A FOREIGN -j ACCEPT\nCOMMIT\n*nat\n-A PREROUTING -d 198.51.100.7/32 -p tcp -j DNAT --to-destination 10.9.0.1\nCOMMIT\n");
        }
    }

    private static String foreignRules(Exec k, String language) {
        if (language.equals("nftables")) {
            Exec.Result r = k.run(List.of("nft", "list", "table", "ip", "foreign"));
            return r.ok() ? r.stdout() : "";
        }
        StringBuilder sb = new StringBuilder();
        for (String line : k.check(List.of("iptables-save")).stdout().split("\n")) {
            if (line.startsWith("#") || line.contains("NFLB-")) continue;
            sb.append(line).append('\n');
        }
        return sb.toString();
    }

    /** iptables-restore, ip6tables-restore and nft that fail while a flag file exists, and run the real tool otherwise. */
    private Path shims() throws IOException {
        Path shims = dir.resolve("shims");
        Files.createDirectories(shims);
        for (String tool : List.of("iptables-restore", "ip6tables-restore", "nft")) {
            String real = io.nflb.host.Tools.find(tool).orElseThrow().toString();
            Path shim = shims.resolve(tool);
            Files.writeString(shim, "#!/bin/sh\nif [ -e '" + shims.resolve("fail") + "' ]; then echo \"" + tool
                    + ": injected failure\" >&2; exit 1; fi\nexec " + real + " \"$@\"\n");
            Files.setPosixFilePermissions(shim, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return shims;
    }

    /** `nflb run --netns NS` in a JVM of its own: the daemon in this namespace (loopback servers), its rules in NS. */
    static final String NFT_WRITES = "NFLB_NFT_WRITES";

    static final class DaemonProcess {
        final Process process;
        final Path socket;
        final int port;
        final Path log;

        private DaemonProcess(Process process, Path socket, int port, Path log) {
            this.process = process;
            this.socket = socket;
            this.port = port;
            this.log = log;
        }

        static DaemonProcess start(Path dir, Path yaml, String ns, Path shims, String name) throws Exception {
            int port;
            try (ServerSocket free = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                port = free.getLocalPort();
            }
            Path socket = dir.resolve("run/nflb.sock");
            Path log = dir.resolve("daemon-" + name + ".log");
            ProcessBuilder pb = new ProcessBuilder(Servers.java("io.nflb.cli.Main", "run", "-c", yaml.toString(), "--netns", ns,
                    "--pid-file", dir.resolve("nflb.pid").toString(), "--socket", socket.toString(), "--state-dir", dir.resolve("state").toString(),
                    "--listen", "127.0.0.1:" + port, "--sample-every-ms", "1000"))
                    .redirectErrorStream(true).redirectOutput(log.toFile());
            Map<String, String> env = new HashMap<>(pb.environment());
            pb.environment().put("PATH", shims + ":" + env.getOrDefault("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin");
            // Partial syncs through nft itself, so that the failing-tool shim reaches them too (netlink would not
            // run nft at all; its own refusals and fallback are tested in the nft dataplane's tests).
            pb.environment().put(NFT_WRITES, "nft");
            DaemonProcess d = new DaemonProcess(pb.start(), socket, port, log);
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (!ControlClient.answers(socket) || !Files.readString(log).contains("status page")) {
                if (!d.process.isAlive() || System.nanoTime() > deadline) {
                    throw new AssertionError("the daemon did not start:\n" + Files.readString(log));
                }
                Thread.sleep(100);
            }
            return d;
        }

        String metrics() throws IOException {
            try (Socket s = new Socket("127.0.0.1", port)) {
                s.setSoTimeout(30_000);
                s.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                InputStream in = s.getInputStream();
                String r = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                if (!r.startsWith("HTTP/1.1 200")) throw new IOException("metrics: " + r.lines().findFirst().orElse(""));
                return r;
            }
        }

        int threads() throws IOException {
            for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(process.pid()), "status"))) {
                if (line.startsWith("Threads:")) return Integer.parseInt(line.substring(8).strip());
            }
            throw new IOException("no thread count for " + process.pid());
        }

        void kill9() throws Exception {
            Exec.host().check(List.of("kill", "-KILL", String.valueOf(process.pid())));
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }

        void stop() throws Exception {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** What the closing note needs: each fault and how the daemon came through it. */
    private static final class Report {
        private final String language;
        private final List<String> lines = new ArrayList<>();
        private int old;
        private int fresh;
        private final List<Long> delays = new ArrayList<>();

        Report(String language) {
            this.language = language;
        }

        void kill(long delay, String which) {
            delays.add(delay);
            if (which.equals("new")) fresh++;
            else old++;
        }

        void fault(String fault, String outcome) {
            lines.add(fault + ": " + outcome);
        }

        void print() {
            System.out.printf("faults (%s): SIGKILL mid-reload %d times at %s ms: %d left the old rules, %d the new, 0 a mix%n",
                    language, delays.size(), delays, old, fresh);
            lines.forEach(l -> System.out.println("faults (" + language + "): " + l));
        }
    }
}
