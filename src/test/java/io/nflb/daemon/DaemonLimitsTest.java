package io.nflb.daemon;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.Dataplane;
import io.nflb.explain.ShareReport;
import io.nflb.host.Exec;
import io.nflb.model.Config;
import io.nflb.model.Service;
import io.nflb.plan.Plan;
import io.nflb.testing.FakeKernel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The daemon at size and under hostile input, in process against the in-memory kernels: thread counts stay
 * bounded while thousands of endpoints fail, failures coalesce into few transactions, the local servers cannot
 * be held by slow or idle clients, exec checks cannot flood or outlive their timeout, a reload is all or nothing
 * and an Error does not end the sync thread. Timing bounds are generous (a loaded 2-core machine); the goals
 * themselves are measured in bench/daemon.
 */
class DaemonLimitsTest {

    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) closing.get(i).close();
    }

    private <T extends AutoCloseable> T closing(T t) {
        closing.add(t);
        return t;
    }

    /** {@code services} services of {@code backends} backends each on loopback ports where nothing listens. */
    static String manyServices(int services, int backends, boolean distinct, String health) {
        StringBuilder y = new StringBuilder("backend: nftables\ndaemon: {min_sync_interval: 100ms, resync_interval: 1h}\nservices:\n");
        for (int s = 0; s < services; s++) {
            y.append("  - name: svc-").append(s).append("\n    listen: {address: 10.").append(s / 250).append('.').append(s % 250 + 1)
                    .append(".1, port: 80}\n    health: ").append(health).append("\n    backends:\n");
            for (int b = 0; b < backends; b++) {
                int n = distinct ? s * backends + b : b;
                y.append("      - {address: 127.0.").append(n / 250).append('.').append(n % 250 + 1).append(", port: 9}\n");
            }
        }
        return y.toString();
    }

    private static int threads() {
        return Thread.getAllStackTraces().size();
    }

    @Test
    void tenThousandFailingEndpointsUseAFewThreadsAndFewTransactions() throws Exception {
        FakeKernel kernel = new FakeKernel(FakeKernel.Language.NFTABLES);
        Config c = ConfigLoader.parse("big.yaml", manyServices(1000, 10, true, "{type: tcp, interval: 1s, timeout: 500ms, rise: 1, fall: 2}"));
        int before = threads();
        // Every backend starts up (adoption); port 9 on loopback refuses at once, so all 10,000 fall together.
        Daemon d = closing(new Daemon(kernel.dataplane(), c, null, Exec.host(), Duration.ofSeconds(5)));
        d.start();
        int commits = kernel.committed().size();
        int peak = 0;
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (d.rejecting().size() < 1000 || d.snapshot().pending()) {
            peak = Math.max(peak, threads() - before);
            assertThat(System.nanoTime()).as("all 1,000 services rejecting").isLessThan(deadline);
            Thread.sleep(20);
        }
        peak = Math.max(peak, threads() - before);
        assertThat(d.checksStarted()).as("checks ran").isGreaterThanOrEqualTo(20_000);
        assertThat(peak).as("threads the daemon added while 10,000 endpoints failed").isLessThanOrEqualTo(16);
        assertThat(kernel.committed().size() - commits).as("kernel transactions for 10,000 flips").isBetween(1, 40);
        assertThat(kernel.rules()).doesNotContain("127.0.0.1 . 9");
        String m = d.metrics().scrape();
        assertThat(m).contains("nflb_service_rejecting{service=\"svc-999\"} 1\n", "nflb_sync_pending 0.0")
                .containsPattern("nflb_health_check_failures_total\\{endpoint=\"127.0.39.250:9\",type=\"tcp\"} [1-9]");
    }

    @Test
    void oneProbePerEndpointHowEverManyServicesUseIt() throws Exception {
        FakeKernel kernel = new FakeKernel(FakeKernel.Language.NFTABLES);
        Config c = ConfigLoader.parse("big.yaml", manyServices(1000, 10, false, "{type: tcp, interval: 200ms, timeout: 100ms, rise: 1, fall: 1}"));
        Set<Probe> seen = ConcurrentHashMap.newKeySet();
        Daemon d = closing(new Daemon(kernel.dataplane(), c, p -> {
            seen.add(p);
            return true;
        }, Exec.host(), Duration.ofSeconds(5)));
        d.start();
        Thread.sleep(1000);
        long started = d.checksStarted();
        assertThat(seen).hasSize(10);
        // 10 probes every 200 ms for about a second: tens of checks, not the 50,000 of one per service and backend.
        assertThat(started).isBetween(10L, 200L);
    }

    @Test
    void realTcpAndHttpChecksOnOneSelector() throws Exception {
        try (ServerSocket tcp = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
             ServerSocket http = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
             ServerSocket silent = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            AtomicBoolean stop = new AtomicBoolean();
            Thread server = new Thread(() -> {
                while (!stop.get()) {
                    try (Socket s = http.accept()) {
                        s.getInputStream().read(new byte[4096]);
                        s.getOutputStream().write("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nalive".getBytes(StandardCharsets.US_ASCII));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            server.setDaemon(true);
            server.start();
            Thread acceptor = new Thread(() -> {
                List<Socket> held = new ArrayList<>();
                while (!stop.get()) {
                    try {
                        held.add(tcp.accept());
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            String yaml = """
                    backend: nftables
                    services:
                      - name: a
                        listen: {address: 10.0.0.1, port: 80}
                        health: {type: tcp, interval: 100ms, timeout: 80ms, rise: 1, fall: 1}
                        backends: [{address: 127.0.0.1, port: %d}, {address: 127.0.0.1, port: 9}]
                      - name: b
                        listen: {address: 10.0.0.2, port: 80}
                        health: {type: http, path: /h, body: alive, interval: 100ms, timeout: 80ms, rise: 1, fall: 1}
                        backends: [{address: 127.0.0.1, port: %d}, {address: 127.0.0.1, port: %d}]
                    """.formatted(tcp.getLocalPort(), http.getLocalPort(), silent.getLocalPort());
            FakeKernel kernel = new FakeKernel(FakeKernel.Language.NFTABLES);
            Daemon d = closing(new Daemon(kernel.dataplane(), ConfigLoader.parse("t.yaml", yaml), null, Exec.host(), Duration.ofSeconds(5)));
            d.start();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            List<String> want = List.of("a 127.0.0.1:" + tcp.getLocalPort() + " up", "a 127.0.0.1:9 down",
                    "b 127.0.0.1:" + http.getLocalPort() + " up", "b 127.0.0.1:" + silent.getLocalPort() + " down");
            List<String> got = List.of();
            while (System.nanoTime() < deadline) {
                got = d.backends().stream().map(b -> b.key().service() + " " + b.key().endpoint() + " " + b.status().keyword()).toList();
                if (got.equals(want)) break;
                Thread.sleep(20);
            }
            stop.set(true);
            assertThat(got).as("a silent http server fails by its timeout, a closed port at once").isEqualTo(want);
        }
    }

    @Test
    void anExecCheckCannotFloodMemoryNorOutliveItsTimeout(@TempDir Path dir) throws Exception {
        Path marker = dir.resolve("child-alive");
        // The check prints without end and leaves a child behind that holds its pipes and would touch a file later.
        List<String> argv = List.of("sh", "-c", "(sleep 3; touch " + marker + ") & yes nflb-output-flood");
        long start = System.nanoTime();
        assertThatThrownBy(() -> Exec.host().runCheck(argv, java.util.Map.of(), Duration.ofMillis(500), HealthChecker.EXEC_OUTPUT))
                .hasMessageContaining("did not finish within 500 ms");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("back soon after the timeout").isLessThan(Duration.ofSeconds(4));
        // A program that exits at once but leaves a child holding its stdout: the call must not wait for the child.
        start = System.nanoTime();
        Exec.Result r = Exec.host().runCheck(List.of("sh", "-c", "(sleep 3; touch " + marker + ") & echo done"),
                java.util.Map.of(), Duration.ofSeconds(1), HealthChecker.EXEC_OUTPUT);
        assertThat(r.ok()).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("not held by the child's pipe").isLessThan(Duration.ofMillis(2500));
        Thread.sleep(4000);
        assertThat(marker).as("the group was killed: no child outlived its check").doesNotExist();
        Exec.Result big = Exec.host().runCheck(List.of("head", "-c", "10000000", "/dev/zero"), java.util.Map.of(), Duration.ofSeconds(10), 4096);
        assertThat(big.stdout()).as("output capped").hasSize(4096);
    }

    @Test
    void theWebServerAnswersMetricsWhileAHundredSlowClientsHoldConnections() throws Exception {
        Daemon d = small();
        WebServer web = closing(WebServer.start(new InetSocketAddress("127.0.0.1", 0), d));
        int port = web.address().getPort();
        List<Socket> slow = new ArrayList<>();
        try {
            for (int i = 0; i < 100; i++) {
                Socket s = new Socket("127.0.0.1", port);
                s.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII));
                slow.add(s);
            }
            Thread.sleep(300);
            long start = System.nanoTime();
            String answer = get(port, "/metrics", "127.0.0.1:" + port);
            assertThat(answer).startsWith("HTTP/1.1 200").contains("nflb_backend_up{");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).as("/metrics with 100 slow clients").isLessThan(Duration.ofSeconds(5));
            assertThat(web.workers()).isLessThanOrEqualTo(WebServer.WORKERS);
            // The slow ones are closed once their request time is over.
            Thread.sleep((WebServer.REQUEST_SECONDS + 2) * 1000L);
            int closed = 0;
            for (Socket s : slow) {
                s.setSoTimeout(2000);
                try {
                    if (s.getInputStream().read() < 0) closed++;
                } catch (IOException e) {
                    closed++;
                }
            }
            assertThat(closed).as("slow clients closed by the request timeout").isEqualTo(100);
        } finally {
            for (Socket s : slow) s.close();
        }
        assertThat(get(port, "/metricsfoo", "127.0.0.1")).startsWith("HTTP/1.1 404");
        assertThat(get(port, "/", "localhost:" + port)).startsWith("HTTP/1.1 200");
        assertThat(get(port, "/api/status", "[::1]:" + port)).startsWith("HTTP/1.1 200");
        assertThat(get(port, "/api/status", "attacker.example:" + port)).as("DNS rebinding").startsWith("HTTP/1.1 421");
        assertThat(get(port, "/metrics", "127.0.0.1.nip.io")).startsWith("HTTP/1.1 421");
    }

    @Test
    void theControlSocketAnswersWhileAHundredIdleConnectionsAreOpen(@TempDir Path dir) throws Exception {
        Daemon d = small();
        Path path = dir.resolve("nflb.sock");
        ControlSocket control = closing(ControlSocket.open(path, d));
        List<SocketChannel> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 100; i++) idle.add(SocketChannel.open(UnixDomainSocketAddress.of(path)));
            long start = System.nanoTime();
            assertThat(ControlClient.ask(path, "states").text()).contains("backend\tweb\t192.168.2.2:80\tup");
            assertThat(ControlClient.ask(path, "drain web 192.168.2.2").text()).contains("up -> draining");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
            assertThat(control.openConnections()).isGreaterThanOrEqualTo(100);
            Thread.sleep((ControlSocket.READ_SECONDS + 2) * 1000L);
            assertThat(control.openConnections()).as("idle connections closed after the read timeout").isZero();
            assertThat(control.workers()).isLessThanOrEqualTo(ControlSocket.WORKERS);
        } finally {
            for (SocketChannel c : idle) c.close();
        }
        for (int i = 0; i < ControlSocket.MAX_CONNECTIONS + 20; i++) idle.add(SocketChannel.open(UnixDomainSocketAddress.of(path)));
        Thread.sleep(500);
        assertThat(control.openConnections()).as("the cap").isEqualTo(ControlSocket.MAX_CONNECTIONS);
        for (SocketChannel c : idle) c.close();
    }

    @Test
    void aClientGivesUpOnASocketThatNeverAnswers(@TempDir Path dir) throws Exception {
        Path path = dir.resolve("mute.sock");
        try (ServerSocketChannel mute = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            mute.bind(UnixDomainSocketAddress.of(path));
            long start = System.nanoTime();
            assertThatThrownBy(() -> ControlClient.ask(path, "states", Duration.ofSeconds(1))).isInstanceOf(IOException.class)
                    .hasMessageContaining("no answer in time");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
            assertThat(ControlClient.answers(path)).isFalse();
        }
    }

    @Test
    void aReloadIsAllOrNothingAndAnErrorDoesNotEndTheSyncThread() throws Exception {
        FakeKernel kernel = new FakeKernel(FakeKernel.Language.IPTABLES);
        Breakable dp = new Breakable(kernel.dataplane());
        Set<String> probed = ConcurrentHashMap.newKeySet();
        Daemon d = closing(new Daemon(dp, ConfigLoader.parse("t.yaml", SMALL), p -> {
            probed.add(p.endpoint());
            return true;
        }, Exec.host(), Duration.ofSeconds(5)));
        d.start();
        String before = kernel.rules();
        Config next = ConfigLoader.parse("t.yaml", SMALL.replace("192.168.2.3", "192.168.2.9"));
        // New checked backends start down, so the kernel would get no line naming 192.168.2.9: refuse in the dataplane.
        dp.refuse = true;
        assertThatThrownBy(() -> d.reload(next)).isInstanceOf(RuntimeException.class).hasMessageContaining("refused");
        dp.refuse = false;
        dp.error = true;
        assertThatThrownBy(() -> d.reload(next)).hasMessageContaining("injected");
        dp.error = false;
        Thread.sleep(600);
        assertThat(probed).as("the checker kept the old targets").doesNotContain("192.168.2.9:80").contains("192.168.2.3:80");
        assertThat(d.config().services().get(0).backends().get(1).endpoint()).isEqualTo("192.168.2.3:80");
        assertThat(kernel.rules()).isEqualTo(before);
        assertThat(d.metrics().scrape()).contains("nflb_reload_failures_total 2.0", "nflb_daemon_errors_total{where=\"reload\"} 1.0");
        assertThat(d.events()).extracting(Events.Event::message).anyMatch(m -> m.contains("failed unexpectedly"));
        // The sync thread lives on: an operator's drain still reaches the kernel.
        assertThat(d.admin("web", "192.168.2.2", BackendState.Admin.DRAINING)).isEqualTo("backend web -> 192.168.2.2:80: up -> draining");
        assertThat(kernel.rules()).doesNotContain("--to-destination 192.168.2.2:80");
        d.reload(next);
        Thread.sleep(600);
        assertThat(probed).contains("192.168.2.9:80");
    }

    @Test
    void aTableSomeoneFlushedIsRepairedWithinTheResyncInterval() throws Exception {
        FakeKernel kernel = new FakeKernel(FakeKernel.Language.NFTABLES);
        Daemon d = closing(new Daemon(kernel.dataplane(), ConfigLoader.parse("t.yaml",
                SMALL.replace("backend: iptables", "backend: nftables\ndaemon: {resync_interval: 1s}")), p -> true, Exec.host(), Duration.ofSeconds(5)));
        d.start();
        String good = kernel.rules();
        kernel.nft().transaction("delete table inet nflb\n");
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        // The repair is counted and told once its transaction is in: wait for the rules, the count and the event.
        while (!(kernel.rules().equals(good) && d.metrics().scrape().contains("nflb_repairs_total 1.0")
                && d.events().stream().anyMatch(e -> e.message().startsWith("repaired nflb's rules")))
                && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(kernel.rules()).isEqualTo(good);
        assertThat(d.metrics().scrape()).contains("nflb_repairs_total 1.0");
        assertThat(d.events()).extracting(Events.Event::message).anyMatch(m -> m.startsWith("repaired nflb's rules") && m.contains("table missing"));
    }

    @Test
    void aRefusedSyncIsRetriedOnATimerWithoutAnotherChange() throws Exception {
        FakeKernel kernel = new FakeKernel(FakeKernel.Language.IPTABLES);
        AtomicBoolean healthy = new AtomicBoolean(true);
        Daemon d = closing(new Daemon(kernel.dataplane(), ConfigLoader.parse("t.yaml", SMALL), p -> healthy.get(), Exec.host(), Duration.ofSeconds(5)));
        d.start();
        kernel.refuseLinesContaining("NFLB-SVC-web");
        healthy.set(false);
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!d.metrics().scrape().contains("nflb_sync_failures_total 2.0") && System.nanoTime() < deadline) Thread.sleep(50);
        assertThat(d.metrics().scrape()).contains("nflb_sync_pending 1.0");
        kernel.refuseLinesContaining(null);
        while (d.snapshot().pending() && System.nanoTime() < deadline) Thread.sleep(50);
        assertThat(kernel.rules()).contains("REJECT --reject-with tcp-reset");
    }

    @Test
    void aDeadConfirmTimerIsSaidOnceAndShownInTheMetricsUntilItIsSettled() throws Exception {
        Daemon d = small();
        String problem = "WARNING: generation 2 waits for `nflb confirm`, but its rollback timer (pid 4242) is gone";
        d.confirmTimer(java.util.Optional.of(problem));
        d.confirmTimer(java.util.Optional.of(problem));
        assertThat(d.metrics().scrape()).contains("nflb_confirm_timer_dead 1.0");
        assertThat(d.events()).extracting(Events.Event::message).filteredOn(problem::equals).hasSize(1);
        d.confirmTimer(java.util.Optional.empty());
        assertThat(d.metrics().scrape()).contains("nflb_confirm_timer_dead 0.0");
    }

    static final String SMALL = """
            backend: iptables
            services:
              - name: web
                listen: {address: 10.0.0.1, port: 80}
                health: {type: tcp, interval: 100ms, timeout: 50ms, rise: 1, fall: 1}
                backends: [{address: 192.168.2.2}, {address: 192.168.2.3}]
            """;

    private Daemon small() throws Exception {
        FakeKernel kernel = new FakeKernel(FakeKernel.Language.IPTABLES);
        Daemon d = closing(new Daemon(kernel.dataplane(), ConfigLoader.parse("t.yaml", SMALL), p -> true, Exec.host(), Duration.ofSeconds(5)));
        d.start();
        return d;
    }

    /** One request with the given Host header; the status line and body. */
    private static String get(int port, String path, String host) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** A dataplane that throws an Error from apply when told to: what a bug deep in a renderer would do. */
    static final class Breakable implements Dataplane {
        private final Dataplane d;
        volatile boolean error;
        volatile boolean refuse;

        Breakable(Dataplane d) {
            this.d = d;
        }

        @Override
        public String name() {
            return d.name();
        }

        @Override
        public String plan(Plan plan, boolean live) {
            return d.plan(plan, live);
        }

        @Override
        public Outcome apply(Plan plan) {
            if (error) throw new AssertionError("injected");
            if (refuse) throw new IllegalStateException("refused (test)");
            return d.apply(plan);
        }

        @Override
        public Outcome verify(Plan plan) {
            return d.verify(plan);
        }

        @Override
        public List<String> enableForwarding(List<Service> services) {
            return d.enableForwarding(services);
        }

        @Override
        public Outcome flush() {
            return d.flush();
        }

        @Override
        public boolean installed() {
            return d.installed();
        }

        @Override
        public String diff(Plan plan, String source) {
            return d.diff(plan, source);
        }

        @Override
        public ShareReport explain(Plan plan) {
            return d.explain(plan);
        }

        @Override
        public List<BackendTraffic> traffic() {
            return d.traffic();
        }

        @Override
        public List<String> rejecting() {
            return d.rejecting();
        }
    }
}
