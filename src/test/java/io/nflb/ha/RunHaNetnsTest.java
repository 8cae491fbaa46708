package io.nflb.ha;

import io.nflb.host.Exec;
import io.nflb.lab.Servers;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * `nflb run` with an ha: section, for real, alone in its namespace (no peer answers, so it becomes primary):
 * it starts conntrackd and keepalived with its own files, shows the role on the status page, in the metrics
 * and in `nflb status`; a SIGKILLed keepalived is cleaned up and restarted; on exit nothing is left holding
 * the addresses, and every file stays in the test's directory.
 */
class RunHaNetnsTest {

    static final String CONFIG = """
            backend: nftables
            services:
              - name: web
                listen: {address: 192.168.1.100, port: 80}
                backends: [{address: 192.168.2.2}]
            ha:
              interface: eth0
              router_id: 51
              priority: 150
              advert_interval: 200ms
              gateway: {interface: eth1, address: 192.168.2.1/24}
              sync: {interface: eth2, peer: 10.9.0.2}
            """;

    @Test
    void runSupervisesKeepalivedAndConntrackdAndShowsTheRole() throws Exception {
        KernelTests.require("ip", "nft", "keepalived", "conntrackd", "mkfifo", "kill");
        try (Netns r = Netns.create("runha"); Netns other = Netns.create("runha-o")) {
            Exec x = r.exec();
            String[][] links = {{"eth0", "192.168.1.11/24"}, {"eth1", "192.168.2.11/24"}, {"eth2", "10.9.0.1/30"}};
            for (String[] l : links) {
                x.check(List.of("ip", "link", "add", l[0], "type", "veth", "peer", "name", l[0], "netns", other.name()));
                x.check(List.of("ip", "addr", "add", l[1], "dev", l[0]));
                x.check(List.of("ip", "link", "set", l[0], "up"));
                other.exec().check(List.of("ip", "link", "set", l[0], "up"));
            }
            Path dir = Files.createTempDirectory("nflb-runha");
            Path yaml = dir.resolve("nflb.yaml");
            Files.writeString(yaml, CONFIG);
            Path ha = dir.resolve("ha");
            int port = 20000 + ThreadLocalRandom.current().nextInt(20000);
            Process nflb = new ProcessBuilder(x.command(Servers.java("io.nflb.cli.Main", "run", "-c", yaml.toString(),
                    "--listen", "127.0.0.1:" + port, "--socket", dir.resolve("nflb.sock").toString(), "--pid-file", dir.resolve("nflb.pid").toString(),
                    "--ha-state", ha.toString()))).redirectErrorStream(true).redirectOutput(dir.resolve("run.log").toFile()).start();
            HaLayout layout = new HaLayout(ha);
            try {
                await(() -> HaStatus.read(layout).map(s -> s.role().equals("primary")).orElse(false), dir);
                assertThat(addresses(x)).contains("192.168.1.100/24", "192.168.2.1/24");
                String status = get(x, "http://127.0.0.1:" + port + "/api/status");
                assertThat(status).contains("\"ha\":{\"mode\":\"vrrp\",\"role\":\"primary\"");
                await(() -> get(x, "http://127.0.0.1:" + port + "/metrics").contains("nflb_ha_sync_entries{cache=\"external\"}"), dir);
                assertThat(get(x, "http://127.0.0.1:" + port + "/metrics")).contains("nflb_ha_state{state=\"primary\"} 1.0",
                        "nflb_ha_state{state=\"backup\"} 0.0", "nflb_ha_last_transition_timestamp_seconds");
                Exec.Result cli = Exec.host().run(Servers.java("io.nflb.cli.Main", "status", "--netns", r.name(), "--ha-state", ha.toString()),
                        null, Duration.ofSeconds(60));
                assertThat(cli.stdout()).contains("ha: vrrp, role primary", "  sync: ", " of the peer's waiting");

                // Every keepalived process at once: the addresses stay behind until the supervisor removes them.
                for (String pid : Exec.host().run(List.of("ip", "netns", "pids", r.name())).stdout().split("\\s+")) {
                    if (pid.matches("\\d+") && Files.readString(Path.of("/proc", pid, "comm")).strip().equals("keepalived")) {
                        Exec.host().run(List.of("kill", "-KILL", pid));
                    }
                }
                await(() -> read(layout.transitions()).contains("fault start (keepalived exited"), dir);
                await(() -> read(dir.resolve("run.log")).contains("keepalived running") && read(layout.transitions())
                        .lines().reduce((a, b) -> b).orElse("").contains("primary done"), dir);
                assertThat(read(layout.transitions())).containsPattern("fault start \\(keepalived exited[^\\n]*\\n(.*\\n)*.*primary done");
            } finally {
                nflb.destroy();
                assertThat(nflb.waitFor(30, TimeUnit.SECONDS)).isTrue();
            }
            assertThat(addresses(x)).as("a stopped router holds no virtual address").doesNotContain("192.168.1.100", "192.168.2.1/");
            assertThat(Exec.host().run(List.of("ip", "netns", "pids", r.name())).stdout().strip()).as("nothing left running").isEmpty();
            assertThat(Files.list(ha).map(p -> p.getFileName().toString()).toList()).contains("keepalived.conf", "conntrackd.conf",
                    "ha.properties", "transitions.log", "role", "conntrackd.log");
            assertThat(read(ha.resolve("conntrackd.conf"))).contains("LockFile " + ha + "/conntrackd.lock");
        }
    }

    @Test
    void externalLeavesKeepalivedToItsUnitHoldsAndShowsWhatNotifySays() throws Exception {
        KernelTests.require("ip", "nft", "keepalived", "conntrackd");
        try (Netns r = Netns.create("runhx"); Netns other = Netns.create("runhx-o")) {
            Exec x = r.exec();
            String[][] links = {{"eth0", "192.168.1.11/24"}, {"eth1", "192.168.2.11/24"}, {"eth2", "10.9.0.1/30"}};
            for (String[] l : links) {
                x.check(List.of("ip", "link", "add", l[0], "type", "veth", "peer", "name", l[0], "netns", other.name()));
                x.check(List.of("ip", "addr", "add", l[1], "dev", l[0]));
                x.check(List.of("ip", "link", "set", l[0], "up"));
            }
            Path dir = Files.createTempDirectory("nflb-runhx");
            Path yaml = dir.resolve("nflb.yaml");
            Files.writeString(yaml, CONFIG);
            Path ha = dir.resolve("ha");
            Exec.Result render = Exec.host().run(Servers.java("io.nflb.cli.Main", "ha", "render", "-c", yaml.toString(), "--out", ha.toString(),
                    "--netns", r.name()), null, Duration.ofSeconds(60));
            assertThat(render.exitCode()).as(render.stderr()).isZero();
            int port = 20000 + ThreadLocalRandom.current().nextInt(20000);
            Process nflb = new ProcessBuilder(x.command(Servers.java("io.nflb.cli.Main", "run", "-c", yaml.toString(), "--ha", "external",
                    "--listen", "127.0.0.1:" + port, "--socket", dir.resolve("nflb.sock").toString(), "--pid-file", dir.resolve("nflb.pid").toString(),
                    "--ha-state", ha.toString()))).redirectErrorStream(true).redirectOutput(dir.resolve("run.log").toFile()).start();
            try {
                await(() -> read(dir.resolve("run.log")).contains("keepalived and conntrackd run under their own units"), dir);
                assertThat(x.run(List.of("nft", "list", "table", "inet", "nflb_ha_hold")).ok()).as("held until a takeover").isTrue();
                // What keepalived's notify_master hook runs:
                Exec.Result notify = Exec.host().run(Servers.java("io.nflb.cli.Main", "ha", "notify", "primary", "--state", ha.toString(),
                        "--netns", r.name()), null, Duration.ofSeconds(60));
                assertThat(notify.exitCode()).as(notify.stderr()).isZero();
                assertThat(x.run(List.of("nft", "list", "table", "inet", "nflb_ha_hold")).ok()).as("released on becoming primary").isFalse();
                await(() -> get(x, "http://127.0.0.1:" + port + "/api/status").contains("\"ha\":{\"mode\":\"vrrp\",\"role\":\"primary\""), dir);
            } finally {
                nflb.destroy();
                assertThat(nflb.waitFor(30, TimeUnit.SECONDS)).isTrue();
            }
            // nflb started no keepalived of its own: that is the unit's.
            assertThat(Exec.host().run(List.of("ip", "netns", "pids", r.name())).stdout().strip()).isEmpty();
        }
    }

    static String addresses(Exec x) {
        return x.check(List.of("ip", "-4", "-o", "addr", "show")).stdout();
    }

    static String get(Exec x, String url) {
        return x.run(Servers.java("io.nflb.lab.HttpGet", url), null, Duration.ofSeconds(60)).stdout();
    }

    static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (java.io.IOException e) {
            return "";
        }
    }

    static void await(BooleanSupplier done, Path dir) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out; nflb's log:\n" + read(dir.resolve("run.log")) + "\ntransitions:\n" + read(dir.resolve("ha/transitions.log")));
            }
            Thread.sleep(100);
        }
    }
}
