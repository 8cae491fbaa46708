package io.nflb.lab;

import io.nflb.cli.Main;
import io.nflb.daemon.ControlClient;
import io.nflb.host.Exec;
import io.nflb.testing.KernelTests;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static io.nflb.lab.DaemonLabTest.await;
import static io.nflb.lab.DaemonLabTest.awaitLog;
import static io.nflb.lab.DaemonLabTest.nat;
import static io.nflb.lab.DaemonLabTest.probe;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What an operator does to a running daemon, for real in the lab: drain a backend while a long connection
 * to it lives, look at the status page in headless Chromium and at the metrics, SIGKILL the daemon and start
 * it again; and the UDP conntrack clean-up when a backend leaves.
 */
class DaemonOpsLabTest {

    private static final String VIP = Topology.ROUTER_SERVER_SIDE;
    /** Inside the router's namespace, so any port is free; never the default 9140, which a real daemon may use. */
    private static final String WEB = "127.0.0.1:" + (20000 + ThreadLocalRandom.current().nextInt(20000));

    @BeforeEach
    void requireKernel() {
        KernelTests.require("ip", "iptables-restore", "iptables-save", "sysctl", "kill", "conntrack", "chromium");
    }

    @Test
    void drainStatusPageMetricsAndASigkilledDaemonThatIsRestarted() throws Exception {
        String prefix = prefix("ops");
        Path dir = Files.createTempDirectory("nflb-ops");
        Path yaml = dir.resolve("nflb.yaml");
        Path log = dir.resolve("daemon.log");
        Path socket = dir.resolve("run/nflb.sock");
        Files.writeString(yaml, """
                backend: iptables
                services:
                  - name: web
                    listen: {address: %s, port: 80}
                    scheduler: round-robin
                    health: {type: http, path: /healthz, expect_status: 200, body: "s", interval: 500ms, timeout: 500ms, rise: 2, fall: 3}
                    backends:
                      - {address: %s}
                      - {address: %s}
                      - {address: %s}
                """.formatted(VIP, Topology.serverAddress(0), Topology.serverAddress(1), Topology.serverAddress(2)));
        try (Topology topology = Topology.build(prefix, 3); Servers servers = new Servers(topology, 80)) {
            servers.startAll();
            Exec router = Exec.inNetns(topology.router());
            Process daemon = startDaemon(router, yaml, dir, socket, log);
            List<Process> clients = new ArrayList<>();
            try {
                await(router, r -> r.contains("192.168.2.2:80") && r.contains("192.168.2.3:80") && r.contains("192.168.2.4:80"),
                        Duration.ofSeconds(30), log);

                // Drain the backend a long connection is on: it keeps flowing, new connections go elsewhere.
                Path held = dir.resolve("held.out");
                clients.add(hold(topology, 120, held));
                String name = awaitAnswer(held);
                String endpoint = Topology.serverAddress(Integer.parseInt(name.substring(1)) - 1) + ":80";
                assertThat(Main.run("backend", "drain", "web", endpoint, "--socket", socket.toString())).isZero();
                await(router, r -> !r.contains(endpoint), Duration.ofSeconds(5), log);
                Map<String, Integer> drained = probe(topology, 90);
                assertThat(drained).as("new connections while " + name + " drains").doesNotContainKey(name);
                assertThat(drained.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(90);
                assertThat(ControlClient.ask(socket, "states").text()).contains("backend\tweb\t" + endpoint + "\tdraining\t1");
                awaitMoreAnswers(held, name, answers(held, name));
                String status = stdout(() -> Main.run("status", "--netns", topology.router(), "--socket", socket.toString(),
                        "--state-dir", dir.resolve("state").toString()));
                assertThat(status).containsPattern(java.util.regex.Pattern.quote(endpoint) + " +draining +[0-9]+")
                        .doesNotContain("health states unknown");
                assertThat(Files.readString(held)).doesNotContain("failed");
                assertThat(Main.run("backend", "enable", "web", endpoint, "--socket", socket.toString())).isZero();
                await(router, r -> r.contains(endpoint), Duration.ofSeconds(5), log);
                assertThat(probe(topology, 30)).containsOnlyKeys("s1", "s2", "s3");
                assertThat(Main.run("backend", "drain", "web", "10.9.9.9", "--socket", socket.toString())).isEqualTo(Main.USAGE);

                // The status page, rendered by a real browser against the running daemon.
                Thread.sleep(1500); // a few counter samples for the bars and the chart
                Path artifacts = Path.of("target", "test-artifacts").toAbsolutePath();
                Files.createDirectories(artifacts);
                String dom = chromium(router, dir, "--dump-dom").stdout();
                assertThat(dom).contains("data-loaded=\"true\"");
                for (int i = 0; i < 3; i++) {
                    assertThat(dom).contains("data-endpoint=\"" + Topology.serverAddress(i) + ":80\" data-state=\"up\"");
                }
                assertThat(dom).contains("backend web -&gt; " + endpoint + " is draining");
                Path shot = artifacts.resolve("status-page.png");
                Files.deleteIfExists(shot);
                chromium(router, dir, "--screenshot=" + shot, "--window-size=1280,900");
                assertThat(shot).exists();
                assertThat(Files.size(shot)).isGreaterThan(10_000);

                // The counters are sampled, not read per scrape: wait for a sample that has the connections made above.
                String metrics = httpGet(topology, "http://" + WEB + "/metrics");
                long countersBy = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (!java.util.regex.Pattern.compile("nflb_backend_connections_total\\{backend=\"192.168.2.4:80\",service=\"web\"} [1-9]")
                        .matcher(metrics).find() && System.nanoTime() < countersBy) {
                    Thread.sleep(300);
                    metrics = httpGet(topology, "http://" + WEB + "/metrics");
                }
                assertThat(metrics).startsWith("200\n")
                        .contains("nflb_backend_up{backend=\"192.168.2.2:80\",service=\"web\"} 1")
                        .contains("nflb_backend_state{backend=\"192.168.2.3:80\",service=\"web\",state=\"up\"} 1")
                        .contains("nflb_sync_duration_seconds_count")
                        .contains("nflb_health_check_duration_seconds_bucket")
                        .contains("nflb_config_generation 1")
                        .containsPattern("nflb_backend_connections_total\\{backend=\"192.168.2.4:80\",service=\"web\"} [1-9]");
                Files.writeString(artifacts.resolve("metrics.txt"), metrics);

                // SIGKILL: the rules stay and carry traffic; a restarted daemon adopts them without a drop.
                Path held2 = dir.resolve("held2.out");
                clients.add(hold(topology, 120, held2));
                String name2 = awaitAnswer(held2);
                long pid = Long.parseLong(Files.readString(dir.resolve("nflb.pid")).strip());
                Exec.host().check(List.of("kill", "-KILL", String.valueOf(pid)));
                assertThat(daemon.waitFor(10, TimeUnit.SECONDS)).isTrue();
                assertThat(probe(topology, 60)).as("no daemon, rules in place").containsOnlyKeys("s1", "s2", "s3");
                Files.writeString(log, "");
                daemon = startDaemon(router, yaml, dir, socket, log);
                awaitLog(log, "adopted them");
                int afterRestart = answers(held2, name2);
                awaitMoreAnswers(held2, name2, afterRestart);
                assertThat(Files.readString(held2)).as("the connection held across kill and restart").doesNotContain("failed");
                assertThat(clients.get(1).isAlive()).isTrue();
                assertThat(probe(topology, 30)).containsOnlyKeys("s1", "s2", "s3");
                assertThat(Files.readString(held)).doesNotContain("failed");
                assertThat(clients.get(0).isAlive()).as("the first long connection lives on too").isTrue();
            } finally {
                clients.forEach(Process::destroyForcibly);
                daemon.destroy();
                assertThat(daemon.waitFor(20, TimeUnit.SECONDS)).isTrue();
            }
            assertThat(Files.exists(socket)).as("socket removed on exit").isFalse();
        } finally {
            assertThat(LabTest.namespacesStartingWith(prefix)).as("namespaces left behind").isEmpty();
        }
    }

    /** The page at 1,000 services in a real browser: failing services first, a filter box, a bounded page. */
    @Test
    void theStatusPageAtAThousandServicesShowsTheFailingOnesFirst() throws Exception {
        KernelTests.require("chromium");
        StringBuilder yaml = new StringBuilder("backend: nftables\nservices:\n");
        for (int s = 0; s < 1000; s++) {
            yaml.append("  - name: svc-").append(s).append("\n    listen: {address: 10.").append(s / 250).append('.').append(s % 250 + 1)
                    .append(".1, port: 80}\n    backends:\n");
            for (int b = 0; b < 10; b++) yaml.append("      - {address: 192.168.").append(b).append(".").append(s % 250 + 2).append("}\n");
        }
        io.nflb.testing.FakeKernel kernel = new io.nflb.testing.FakeKernel(io.nflb.testing.FakeKernel.Language.NFTABLES);
        Path dir = Files.createTempDirectory("nflb-page");
        try (io.nflb.daemon.Daemon d = new io.nflb.daemon.Daemon(kernel.dataplane(), io.nflb.config.ConfigLoader.parse("p.yaml", yaml.toString()),
                p -> true, Exec.host(), Duration.ofSeconds(5))) {
            d.start();
            for (int b = 0; b < 10; b++) d.admin("svc-700", "192.168.%d.202".formatted(b), io.nflb.daemon.BackendState.Admin.DISABLED);
            d.admin("svc-900", "192.168.3.152", io.nflb.daemon.BackendState.Admin.DRAINING);
            try (io.nflb.daemon.WebServer web = io.nflb.daemon.WebServer.start(new java.net.InetSocketAddress("127.0.0.1", 0), d)) {
                String url = "http://127.0.0.1:" + web.address().getPort() + "/";
                String dom = chromiumAt(Exec.host(), dir, url, "--dump-dom").stdout();
                Path artifacts = Path.of("target", "test-artifacts").toAbsolutePath();
                Files.createDirectories(artifacts);
                Files.writeString(artifacts.resolve("status-page-1000.html"), dom);
                chromiumAt(Exec.host(), dir, url, "--screenshot=" + artifacts.resolve("status-page-1000.png"), "--window-size=1280,1000");
                assertThat(dom).contains("data-loaded=\"true\"", "<input id=\"filter\"", "800 more services: use the filter");
                int first = dom.indexOf("<section class=\"service\"");
                assertThat(dom.substring(first, first + 120)).as("refusing first").contains("data-service=\"svc-700\" data-rejecting=\"true\"");
                assertThat(dom.indexOf("data-service=\"svc-900\"")).as("degraded next").isLessThan(dom.indexOf("data-service=\"svc-0\""));
                assertThat(dom.split("<section class=\"service\" data-service=\"svc-", -1).length - 1).isEqualTo(200);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"iptables", "nftables"})
    void aUdpFlowPinnedToABackendThatGoesDownMovesToALiveOne(String backend) throws Exception {
        KernelTests.require("nft");
        String prefix = prefix("udp");
        Path dir = Files.createTempDirectory("nflb-udp");
        Path yaml = dir.resolve("nflb.yaml");
        Path log = dir.resolve("daemon.log");
        // The exec checks fail once a flag file exists; the server itself keeps running and answering, so
        // only the conntrack clean-up can move the flow away from it.
        Files.writeString(yaml, """
                backend: %s
                services:
                  - name: dns
                    protocol: udp
                    listen: {address: %s, port: 5353}
                    scheduler: round-robin
                    backends:
                      - {address: %s, health: {type: exec, command: [test, "!", "-e", "%s/down-s1"], interval: 200ms, timeout: 150ms, rise: 2, fall: 2}}
                      - {address: %s, health: {type: exec, command: [test, "!", "-e", "%s/down-s2"], interval: 200ms, timeout: 150ms, rise: 2, fall: 2}}
                """.formatted(backend, VIP, Topology.serverAddress(0), dir, Topology.serverAddress(1), dir));
        try (Topology topology = Topology.build(prefix, 2); Servers servers = new Servers(topology, 5353, true)) {
            servers.startAll();
            Exec router = Exec.inNetns(topology.router());
            Process daemon = startDaemon(router, yaml, dir, dir.resolve("nflb.sock"), log);
            Process flow = null;
            try {
                awaitLog(log, "started with");
                Path out = dir.resolve("flow.out");
                flow = new ProcessBuilder(Exec.inNetns(topology.client()).command(Servers.java("io.nflb.lab.UdpFlow",
                        VIP, "5353", "40053", "8", "100"))).redirectErrorStream(true).redirectOutput(out.toFile()).start();
                String pinned = awaitAnswer(out);
                Thread.sleep(500);
                String other = pinned.equals("s1") ? "s2" : "s1";
                assertThat(Files.readString(out)).as("one flow, one backend").doesNotContain("answer " + other);

                Files.writeString(dir.resolve("down-" + pinned), "");
                awaitLog(log, "conntrack entr");
                assertThat(flow.waitFor(20, TimeUnit.SECONDS)).isTrue();
                List<String> answers = Files.readAllLines(out).stream().filter(l -> l.startsWith("answer ")).toList();
                int firstOther = answers.indexOf("answer " + other);
                assertThat(firstOther).as("the flow moved to " + other).isPositive();
                assertThat(answers.subList(firstOther, answers.size())).as("and stayed there").containsOnly("answer " + other);
                assertThat(answers.size() - firstOther).as("answers from the live backend").isGreaterThan(10);
                System.out.printf("udp clean-up (" + backend + "): the flow got %d answers from %s, then %d from %s after it went down%n",
                        firstOther, pinned, answers.size() - firstOther, other);
            } finally {
                if (flow != null) flow.destroyForcibly();
                daemon.destroy();
                assertThat(daemon.waitFor(20, TimeUnit.SECONDS)).isTrue();
            }
        } finally {
            assertThat(LabTest.namespacesStartingWith(prefix)).as("namespaces left behind").isEmpty();
        }
    }

    private static String prefix(String what) {
        return "nflb-t-" + what + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xfffffL) + "-";
    }

    private static Process startDaemon(Exec router, Path yaml, Path dir, Path socket, Path log) throws IOException {
        return new ProcessBuilder(router.command(Servers.java("io.nflb.cli.Main", "run", "-c", yaml.toString(),
                "--pid-file", dir.resolve("nflb.pid").toString(), "--socket", socket.toString(),
                "--state-dir", dir.resolve("state").toString(),
                "--listen", WEB, "--sample-every-ms", "300")))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    private static Process hold(Topology topology, int seconds, Path out) throws IOException {
        return new ProcessBuilder(Exec.inNetns(topology.client()).command(Servers.java("io.nflb.lab.HoldConnection",
                VIP, "80", String.valueOf(seconds), "100"))).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    }

    /** The name in the first "answer NAME" line of a client's output. */
    private static String awaitAnswer(Path out) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (System.nanoTime() < deadline) {
            for (String line : Files.readAllLines(out)) {
                if (line.startsWith("answer ")) return line.substring(7).strip();
                if (line.startsWith("failed")) throw new AssertionError(line);
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no answer: " + Files.readString(out));
    }

    /** Waits until a long connection answers more than {@code than} times: it lives and carries traffic. */
    private static void awaitMoreAnswers(Path out, String name, int than) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (answers(out, name) <= than) {
            String text = Files.readString(out);
            if (text.contains("failed") || text.contains("done") || System.nanoTime() > deadline) {
                throw new AssertionError("the long connection to " + name + " stopped answering: " + text);
            }
            Thread.sleep(20);
        }
    }

    private static int answers(Path out, String name) throws IOException {
        return (int) Files.readAllLines(out).stream().filter(l -> l.equals("answer " + name)).count();
    }

    /** What {@code run} printed on stdout. */
    private static String stdout(Runnable run) {
        java.io.PrintStream before = System.out;
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            run.run();
        } finally {
            System.setOut(before);
        }
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    private static String httpGet(Topology topology, String url) {
        Exec.Result r = Exec.inNetns(topology.router()).run(Servers.java("io.nflb.lab.HttpGet", url), null, Duration.ofSeconds(30));
        if (!r.ok()) throw new AssertionError(r.describeFailure());
        return r.stdout();
    }

    /** Headless Chromium in the router's namespace, where the daemon serves its page on loopback. */
    private static Exec.Result chromium(Exec router, Path dir, String... action) throws IOException {
        return chromiumAt(router, dir, "http://" + WEB + "/", action);
    }

    static Exec.Result chromiumAt(Exec where, Path dir, String url, String... action) throws IOException {
        Exec router = where;
        Path profile = Files.createTempDirectory(dir, "chromium");
        List<String> argv = new ArrayList<>(List.of("chromium", "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--virtual-time-budget=5000"));
        argv.addAll(List.of(action));
        argv.add(url);
        Exec.Result r = router.run(argv, null, Duration.ofSeconds(60));
        if (!r.ok()) throw new AssertionError(r.describeFailure());
        return r;
    }
}
