package io.nflb.daemon;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.Dataplane;
import io.nflb.dataplane.iptables.FakeIptablesTool;
import io.nflb.dataplane.iptables.IptablesDataplane;
import io.nflb.dataplane.iptables.IptablesKernel;
import io.nflb.host.Exec;
import io.nflb.model.Config;
import io.nflb.model.IpAddress.Family;
import io.nflb.plan.Plan;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The daemon around the reconciler, against the in-memory iptables: the control socket, the metrics, the
 * status API. Health checks are real threads with a probe the test flips, so a few tests wait for them.
 */
class DaemonTest {

    private static final String YAML = """
            backend: iptables
            services:
              - name: web
                listen: {address: 10.0.0.1, port: 80}
                health: {type: tcp, interval: 100ms, timeout: 50ms, rise: 1, fall: 1}
                backends:
                  - {address: 192.168.2.2}
                  - {address: 192.168.2.3, weight: 3}
                  - {address: 192.168.2.3, port: 8080}
              - name: dns
                protocol: udp
                listen: {address: "2001:db8::1", port: 53}
                backends: [{address: "2001:db8::5"}, {address: "2001:db8::6"}]
            """;

    private final FakeIptablesTool tool = new FakeIptablesTool(Family.V4);
    private final Dataplane dataplane = new IptablesDataplane(List.of(new IptablesKernel(tool),
            new IptablesKernel(new FakeIptablesTool(Family.V6))));
    private final AtomicBoolean healthy = new AtomicBoolean(true);
    private Daemon daemon;

    @AfterEach
    void close() {
        if (daemon != null) daemon.close();
    }

    private Daemon start(String yaml) throws Exception {
        daemon = new Daemon(dataplane, ConfigLoader.parse("t.yaml", yaml), t -> healthy.get(), Exec.host(), Duration.ofMillis(100));
        daemon.start();
        return daemon;
    }

    @Test
    void resolvesABackendByAddressAndPortAndSaysWhatExistsWhenItCannot() throws Exception {
        Config c = ConfigLoader.parse("t.yaml", YAML);
        assertThat(Daemon.resolve(c, "web", "192.168.2.2")).isEqualTo(new BackendKey("web", "192.168.2.2:80"));
        assertThat(Daemon.resolve(c, "web", "192.168.2.3:8080")).isEqualTo(new BackendKey("web", "192.168.2.3:8080"));
        assertThat(Daemon.resolve(c, "dns", "[2001:db8::5]:53")).isEqualTo(new BackendKey("dns", "[2001:db8::5]:53"));
        assertThat(Daemon.resolve(c, "dns", "2001:db8::5")).isEqualTo(new BackendKey("dns", "[2001:db8::5]:53"));
        assertThatThrownBy(() -> Daemon.resolve(c, "web", "192.168.2.3"))
                .hasMessage("service web has several backends at 192.168.2.3; add the port: 192.168.2.2:80, 192.168.2.3:80, 192.168.2.3:8080");
        assertThatThrownBy(() -> Daemon.resolve(c, "web", "192.168.2.9"))
                .hasMessage("service web has no backend 192.168.2.9; it has: 192.168.2.2:80, 192.168.2.3:80, 192.168.2.3:8080");
        assertThatThrownBy(() -> Daemon.resolve(c, "wbe", "192.168.2.2")).hasMessage("no service wbe; there are: web, dns");
        assertThatThrownBy(() -> Daemon.resolve(c, "web", "192.168.2.2:99999")).hasMessageContaining("is not a port");
        assertThatThrownBy(() -> Daemon.resolve(c, "web", "web-1")).hasMessageContaining("is not an IP address");
        assertThatThrownBy(() -> Daemon.resolve(c, "dns", "[2001:db8::5")).hasMessageContaining("without its ']'");
    }

    @Test
    void theControlSocketDrainsAndEnablesAndIsRootOnlyOnDisk(@TempDir Path dir) throws Exception {
        start(YAML);
        Path socket = dir.resolve("run/nflb.sock");
        try (ControlSocket control = ControlSocket.open(socket, daemon)) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket.getParent()))).isEqualTo("rwx------");
            assertThat(ControlClient.answers(socket)).isTrue();

            ControlClient.Answer drained = ControlClient.ask(socket, "drain web 192.168.2.2");
            assertThat(drained).isEqualTo(new ControlClient.Answer(true, "backend web -> 192.168.2.2:80: up -> draining\n"));
            assertThat(tool.save(false)).doesNotContain("--to-destination 192.168.2.2:80").contains("--to-destination 192.168.2.3:80");
            assertThat(ControlClient.ask(socket, "states").text()).contains("backend\tweb\t192.168.2.2:80\tdraining\t1\n",
                    "backend\tweb\t192.168.2.3:80\tup\t3\n");
            assertThat(ControlClient.ask(socket, "drain web 192.168.2.2").text()).isEqualTo("backend web -> 192.168.2.2:80: already draining\n");
            assertThat(ControlClient.ask(socket, "disable web 192.168.2.2").text()).contains("draining -> disabled");
            assertThat(ControlClient.ask(socket, "enable web 192.168.2.2:80").text()).contains("disabled -> up");
            assertThat(tool.save(false)).contains("--to-destination 192.168.2.2:80");

            assertThat(ControlClient.ask(socket, "drain web")).isEqualTo(new ControlClient.Answer(false, "usage: drain SERVICE ADDRESS[:PORT]\n"));
            assertThat(ControlClient.ask(socket, "reboot").ok()).isFalse();
            assertThat(ControlClient.ask(socket, "drain web 192.168.2.3").text()).contains("add the port");
            // A second daemon must not steal a live socket.
            assertThatThrownBy(() -> ControlSocket.open(socket, daemon)).isInstanceOf(IOException.class).hasMessageContaining("answers on");
        }
        assertThat(socket).doesNotExist();
    }

    @Test
    void aStaleSocketFileIsReplaced(@TempDir Path dir) throws Exception {
        start(YAML);
        Path socket = dir.resolve("nflb.sock");
        Files.writeString(socket, "left by a killed daemon");
        try (ControlSocket control = ControlSocket.open(socket, daemon)) {
            assertThat(ControlClient.ask(socket, "ping")).isEqualTo(new ControlClient.Answer(true, "pong\n"));
        }
    }

    @Test
    void metricsFollowPrometheusConventionsAndTheBackendsState() throws Exception {
        start(YAML);
        daemon.admin("web", "192.168.2.2", BackendState.Admin.DRAINING);
        daemon.sample();
        String m = daemon.metrics().scrape();
        assertThat(m).contains(
                "# TYPE nflb_backend_up gauge",
                "nflb_backend_up{backend=\"192.168.2.2:80\",service=\"web\"} 0\n",
                "nflb_backend_up{backend=\"192.168.2.3:80\",service=\"web\"} 1\n",
                "nflb_backend_state{backend=\"192.168.2.2:80\",service=\"web\",state=\"draining\"} 1\n",
                "nflb_backend_weight{backend=\"192.168.2.3:80\",service=\"web\"} 3\n",
                "# TYPE nflb_backend_connections_total counter",
                "nflb_backend_connections_total{backend=\"192.168.2.3:80\",service=\"web\"} 0\n",
                "# TYPE nflb_sync_duration_seconds histogram",
                "nflb_sync_duration_seconds_count 2",
                "nflb_sync_failures_total 0.0",
                "nflb_repairs_total 0.0",
                "nflb_config_generation 1.0",
                "nflb_service_rejecting{service=\"web\"} 0\n")
                .doesNotContain("nflb_backend_state{backend=\"192.168.2.2:80\",service=\"web\",state=\"up\"}")
                .doesNotContain("nflb_endpoint_check_duration_seconds_bucket");
        daemon.reload(ConfigLoader.parse("t.yaml", YAML.replace("weight: 3", "weight: 2")));
        assertThat(daemon.metrics().scrape()).contains("nflb_config_generation 2.0", "nflb_reloads_total 1.0",
                "nflb_backend_weight{backend=\"192.168.2.3:80\",service=\"web\"} 2\n");
        daemon.reloadRefused("t.yaml:3:5: unknown key");
        assertThat(daemon.metrics().scrape()).contains("nflb_reload_failures_total 1.0");
        assertThat(daemon.events()).extracting(Events.Event::message).anyMatch(s -> s.startsWith("reload refused: t.yaml:3:5"));
    }

    @Test
    void failingChecksShowInTheMetricsTheStatusAndTheRules() throws Exception {
        start(YAML);
        healthy.set(false);
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        // The rules first, then what the daemon publishes of that sync: wait for both.
        while (!(tool.save(false).contains("REJECT --reject-with tcp-reset")
                && daemon.metrics().scrape().contains("nflb_service_rejecting{service=\"web\"} 1\n")) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(daemon.rejecting()).containsExactly("web");
        assertThat(tool.save(false)).contains("REJECT --reject-with tcp-reset");
        String m = daemon.metrics().scrape();
        assertThat(m).contains("nflb_service_rejecting{service=\"web\"} 1\n", "nflb_backend_up{backend=\"192.168.2.2:80\",service=\"web\"} 0\n")
                .containsPattern("nflb_health_check_failures_total\\{endpoint=\"192.168.2.2:80\",type=\"tcp\"} [1-9]");
        String json = StatusReport.json(daemon);
        assertThat(json).contains("\"name\":\"web\"", "\"rejecting\":true", "\"state\":\"down\"", "\"check\":\"tcp\"", "\"ok\":false");
        assertThat(daemon.events()).extracting(Events.Event::message).contains("backend web -> 192.168.2.2:80 is down");
    }

    @Test
    void theWebServerServesThePageTheMetricsAndTheStatus() throws Exception {
        start(YAML);
        try (WebServer web = WebServer.start(new InetSocketAddress("127.0.0.1", 0), daemon)) {
            String base = "http://127.0.0.1:" + web.address().getPort();
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create(base + "/")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.headers().firstValue("Content-Type")).contains("text/html; charset=utf-8");
            assertThat(page.body()).contains("<title>nflb status</title>", "fetch(\"/api/status\"")
                    .doesNotContain("src=", "href=", "@import", "url("); // no external assets: routers often have no internet
            HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(metrics.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain; version=0.0.4");
            assertThat(metrics.body()).contains("nflb_backend_up{");
            HttpResponse<String> status = http.send(HttpRequest.newBuilder(URI.create(base + "/api/status")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(status.body()).startsWith("{\"dataplane\":\"iptables\",\"generation\":1,").contains("\"listen\":\"10.0.0.1:80\"");
            assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/nope")).build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(404);
            assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/metricsfoo")).build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(404);
            assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/metrics/")).build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(404);
            assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(405);
        }
    }

    @Test
    void listenAddressesAreIpLiterals() {
        assertThat(WebServer.parseAddress("127.0.0.1:9140")).isEqualTo(new InetSocketAddress("127.0.0.1", 9140));
        assertThat(WebServer.parseAddress("[::1]:9140")).isEqualTo(new InetSocketAddress("::1", 9140));
        assertThatThrownBy(() -> WebServer.parseAddress("localhost:9140")).hasMessageContaining("not an IP address");
        assertThatThrownBy(() -> WebServer.parseAddress("127.0.0.1:http")).hasMessageContaining("not a port");
        assertThatThrownBy(() -> WebServer.parseAddress("9140")).hasMessageContaining("not HOST:PORT");
    }

    @Test
    void udpBackendsThatLeaveAreNamedButTcpOnesAndStayersAreNot() throws Exception {
        Config c = ConfigLoader.parse("t.yaml", YAML);
        Plan all = io.nflb.plan.Planner.plan(c);
        Config fewer = ConfigLoader.parse("t.yaml", YAML.replace("{address: \"2001:db8::5\"}, ", "")
                .replace("      - {address: 192.168.2.2}\n", ""));
        List<Reconciler.Left> left = Reconciler.udpBackendsLeft(all, io.nflb.plan.Planner.plan(fewer));
        assertThat(left).extracting(l -> l.service().name() + " " + l.backend().endpoint()).containsExactly("dns [2001:db8::5]:53");
        Config moved = ConfigLoader.parse("t.yaml", YAML.replace("port: 53}", "port: 5353}"));
        assertThat(Reconciler.udpBackendsLeft(all, io.nflb.plan.Planner.plan(moved))).as("a new listen port: every flow is stale").hasSize(2);
        assertThat(Reconciler.udpBackendsLeft(all, all)).isEmpty();
    }

    @Test
    void historyCountsNewConnectionsBetweenSamplesAndSurvivesACounterReset() {
        TrafficHistory h = new TrafficHistory(3);
        BackendKey a = new BackendKey("web", "a");
        h.record(1000, List.of(new Dataplane.BackendTraffic("web", "a", 10, 0)));
        h.record(2000, List.of(new Dataplane.BackendTraffic("web", "a", 15, 0)));
        h.record(3000, List.of(new Dataplane.BackendTraffic("web", "a", 4, 0))); // the chain was rewritten
        assertThat(h.connectionsSince(0)).containsEntry(a, 9L);
        assertThat(h.connectionsSince(2500)).containsEntry(a, 4L);
        h.record(4000, List.of(new Dataplane.BackendTraffic("web", "a", 6, 0)));
        assertThat(h.samples()).hasSize(3).first().extracting(TrafficHistory.Sample::epochMillis).isEqualTo(2000L);
        assertThat(h.latest().get(a).connections()).isEqualTo(6);
    }
}
