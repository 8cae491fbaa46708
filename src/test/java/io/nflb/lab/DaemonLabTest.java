package io.nflb.lab;

import io.nflb.host.Exec;
import io.nflb.testing.KernelTests;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * `nflb run` for real: the daemon runs inside the lab's router namespace, checks three web servers over tcp
 * every 200ms (rise 2, fall 2), and the test kills and restarts one of them while the client keeps connecting.
 */
class DaemonLabTest {

    private static final int PORT = 80;
    private static final String VIP = Topology.ROUTER_SERVER_SIDE;

    @BeforeEach
    void requireKernel() {
        KernelTests.require("ip", "iptables-restore", "iptables-save", "sysctl", "kill");
    }

    @Test
    void aKilledBackendLeavesTheRulesWithinTheFallTimeAndComesBackAfterRise() throws Exception {
        String prefix = "nflb-t-dmn" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xfffffL) + "-";
        Path dir = Files.createTempDirectory("nflb-dmn");
        Path yaml = dir.resolve("nflb.yaml");
        Path log = dir.resolve("daemon.log");
        Path pid = dir.resolve("nflb.pid");
        Files.writeString(yaml, config());
        try (Topology topology = Topology.build(prefix, 3); Servers servers = new Servers(topology, PORT)) {
            servers.startAll();
            Exec router = Exec.inNetns(topology.router());
            Process daemon = new ProcessBuilder(router.command(Servers.java("io.nflb.cli.Main", "run", "-c", yaml.toString(),
                    "--pid-file", pid.toString(), "--socket", dir.resolve("nflb.sock").toString(),
                    "--state-dir", dir.resolve("state").toString(), "--listen", "off"))).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            try {
                await(router, r -> r.contains("192.168.2.2:80") && r.contains("192.168.2.3:80") && r.contains("192.168.2.4:80"),
                        Duration.ofSeconds(30), log);
                assertThat(probe(topology, 30)).as("all up").containsOnlyKeys("s1", "s2", "s3");

                // A client opens new connections in a loop through the kill: the ones that fail are those the
                // rules sent to s2 between the kill and the rule change.
                Path during0 = dir.resolve("loop.out");
                Process loop = new ProcessBuilder(Exec.inNetns(topology.client()).command(Servers.java("io.nflb.lab.LabClient",
                        VIP, String.valueOf(PORT), "100000", "1000", "3000"))).redirectErrorStream(true).redirectOutput(during0.toFile()).start();
                Thread.sleep(500);
                long killed = System.nanoTime();
                servers.kill(1);
                await(router, r -> !r.contains("192.168.2.3:80"), Duration.ofSeconds(10), log);
                long detection = millisSince(killed);
                assertThat(loop.waitFor(30, TimeUnit.SECONDS)).isTrue();
                List<String> loopAnswers = Files.readAllLines(during0).stream().filter(a -> !a.equals("done") && !a.equals(LabClient.NOT_SENT)).toList();
                Map<String, Integer> loopTally = LabClient.tally(loopAnswers);
                int failed = loopAnswers.size() - loopTally.getOrDefault("s1", 0) - loopTally.getOrDefault("s2", 0) - loopTally.getOrDefault("s3", 0);
                System.out.printf("daemon lab: %d new connections in a loop through the kill, %d failed (%s)%n",
                        loopAnswers.size(), failed, loopTally);
                assertThat(loopTally).containsKeys("s1", "s3");

                Map<String, Integer> during = probe(topology, 300);
                assertThat(during).as("300 new connections with s2 down").containsOnlyKeys("s1", "s3");
                assertThat(during.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(300);

                servers.start(1); // returns once it listens
                long listening = System.nanoTime();
                await(router, r -> r.contains("192.168.2.3:80"), Duration.ofSeconds(10), log);
                long recovery = millisSince(listening);
                assertThat(probe(topology, 30)).containsOnlyKeys("s1", "s2", "s3");

                String daemonLog = Files.readString(log);
                assertThat(daemonLog).contains("backend web -> 192.168.2.3:80 is down", "backend web -> 192.168.2.3:80 is up");
                System.out.printf("daemon lab: down detected and rules updated %d ms after the kill; re-added %d ms after"
                        + " the server listened again (interval 200ms, fall 2, rise 2)%n", detection, recovery);
                // fall x interval is the floor; the bound leaves room for a loaded 2-core machine.
                assertThat(detection).isBetween(200L, 2000L);
                assertThat(recovery).isBetween(150L, 2000L);

                // An invalid file on SIGHUP is refused; the rules stay as they are.
                String before = nat(router);
                Files.writeString(yaml, config().replace("type: tcp", "type: tpc"));
                Exec.host().check(List.of("kill", "-HUP", Files.readString(pid).strip()));
                awaitLog(log, "reload refused");
                assertThat(nat(router)).isEqualTo(before);
                assertThat(Files.readString(log)).contains("unknown health check type 'tpc'; did you mean 'tcp'?");

                // No backend left: new connections are reset at once instead of hanging.
                for (int i = 0; i < 3; i++) servers.kill(i);
                await(router, r -> r.contains("-j REJECT --reject-with tcp-reset"), Duration.ofSeconds(10), log);
                long t = System.nanoTime();
                Map<String, Integer> none = probe(topology, 20);
                assertThat(none).containsOnlyKeys(LabClient.REFUSED);
                assertThat(millisSince(t)).as("20 refusals without waiting for timeouts").isLessThan(10_000);
                assertThat(Files.readString(log)).contains("service web has no usable backend");
            } finally {
                daemon.destroy(); // SIGTERM
                assertThat(daemon.waitFor(20, TimeUnit.SECONDS)).isTrue();
            }
            assertThat(nat(router)).as("fail-static: rules stay after exit").contains("NFLB-SVC-web");
            assertThat(Files.exists(pid)).isFalse();
        } finally {
            assertThat(LabTest.namespacesStartingWith(prefix)).as("namespaces left behind").isEmpty();
        }
    }

    private static String config() {
        return """
                backend: iptables
                services:
                  - name: web
                    listen: {address: %s, port: %d}
                    scheduler: round-robin
                    health: {type: tcp, interval: 200ms, timeout: 150ms, rise: 2, fall: 2}
                    backends:
                      - {address: %s}
                      - {address: %s}
                      - {address: %s}
                """.formatted(VIP, PORT, Topology.serverAddress(0), Topology.serverAddress(1), Topology.serverAddress(2));
    }

    static String nat(Exec router) {
        String saved = router.check(List.of("iptables-save")).stdout();
        List<String> lines = new ArrayList<>();
        for (String l : saved.split("\n")) if (!l.startsWith("#") && !l.startsWith(":")) lines.add(l);
        return String.join("\n", lines);
    }

    static void await(Exec router, Predicate<String> rules, Duration within, Path log) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        while (!rules.test(nat(router))) {
            if (System.nanoTime() > deadline) throw new AssertionError("rules never got there; daemon log:\n" + Files.readString(log) + "\nrules:\n" + nat(router));
            Thread.sleep(5);
        }
    }

    static void awaitLog(Path log, String text) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (!Files.readString(log).contains(text)) {
            if (System.nanoTime() > deadline) throw new AssertionError("no '" + text + "' in the daemon log:\n" + Files.readString(log));
            Thread.sleep(20);
        }
    }

    static Map<String, Integer> probe(Topology topology, int count) {
        List<String> argv = Servers.java("io.nflb.lab.LabClient", VIP, String.valueOf(PORT), String.valueOf(count), "1000", "20000");
        Exec.Result r = Exec.inNetns(topology.client()).run(argv, null, Duration.ofSeconds(60));
        if (!r.ok() || !r.stdout().endsWith("done\n")) throw new IllegalStateException("the client failed: " + r.describeFailure());
        List<String> answers = new ArrayList<>(List.of(r.stdout().split("\n")));
        answers.remove(answers.size() - 1);
        return LabClient.tally(answers);
    }

    static long millisSince(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }
}
