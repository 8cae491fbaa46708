package io.nflb.dataplane.nft;

import io.nflb.host.Exec;
import io.nflb.model.Protocol;
import io.nflb.model.Scheduler;
import io.nflb.model.Snat;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import io.nflb.testing.Routed;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

import static io.nflb.dataplane.nft.NftPlans.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Real connections through real nft rules: client ns -> router ns (nflb's table) -> server ns holding three
 * backend addresses. The server has no route back to the client, so answers only arrive through masquerade.
 */
class NftTrafficTest {

    static final int CONNECTIONS = 600;

    @Test
    void roundRobinOneTwoThreeSplitsSixHundredConnectionsExactly() throws Exception {
        KernelTests.require("nft", "ip", "sysctl");
        try (Netns client = Netns.create("cli"); Netns router = Netns.create("rtr"); Netns server = Netns.create("srv")) {
            Routed.wire(client, router, server, List.of("192.168.2.2", "192.168.2.3", "192.168.2.4"));
            Exec r = router.exec();
            Exec c = client.exec();
            Exec s = server.exec();

            NftKernel k = new NftKernel(r);
            k.apply(plan(service("web", Protocol.TCP, listen("10.0.0.1", 80, null), Scheduler.ROUND_ROBIN, Snat.MASQUERADE,
                    backends("192.168.2.", 8080, 1, 2, 3), null, 0)));

            CompletableFuture<Exec.Result> srv = CompletableFuture.supplyAsync(() -> s.run(java("serve", "8080",
                    String.valueOf(CONNECTIONS), "90", "192.168.2.2", "192.168.2.3", "192.168.2.4"), null, Duration.ofSeconds(120)));
            Exec.Result cli = c.run(java("connect", "10.0.0.1", "80", String.valueOf(CONNECTIONS)), null, Duration.ofSeconds(120));
            Exec.Result served = srv.get();
            assertThat(cli.exitCode()).as(cli.stderr()).isZero();
            assertThat(served.stdout()).contains("served " + CONNECTIONS);

            Map<String, Integer> byBackend = new TreeMap<>();
            int retries = 0;
            for (String line : cli.stdout().strip().split("\n")) {
                String[] w = line.split(" ");
                if (w[0].equals("retries")) {
                    retries = Integer.parseInt(w[1]);
                    continue;
                }
                byBackend.put(w[0] + " via " + w[1], Integer.parseInt(w[2]));
            }
            assertThat(byBackend).isEqualTo(Map.of(
                    "192.168.2.2 via 192.168.2.1", 100,
                    "192.168.2.3 via 192.168.2.1", 200,
                    "192.168.2.4 via 192.168.2.1", 300));
            // The nat chain sees the first packet of each connection only; a refused early attempt counts too.
            List<NftKernel.BackendCounter> counted = k.backendCounters();
            assertThat(counted).extracting(NftKernel.BackendCounter::service).containsOnly("web");
            assertThat(counted.stream().mapToLong(NftKernel.BackendCounter::packets).sum()).isEqualTo(CONNECTIONS + retries);
            Map<String, Long> perBackend = new TreeMap<>();
            for (NftKernel.BackendCounter b : counted) perBackend.put(b.endpoint(), b.packets());
            assertThat(perBackend).containsOnlyKeys("192.168.2.2:8080", "192.168.2.3:8080", "192.168.2.4:8080");
            assertThat(perBackend.get("192.168.2.2:8080")).isBetween(100L, 100L + retries);
            assertThat(perBackend.get("192.168.2.3:8080")).isBetween(200L, 200L + retries);
            assertThat(perBackend.get("192.168.2.4:8080")).isBetween(300L, 300L + retries);
            assertThat(counted).allMatch(b -> b.bytes() >= 40 * b.packets(), "a SYN is at least 40 bytes");
        }
    }

    static List<String> java(String... args) {
        Path javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
        String cp;
        try {
            cp = Path.of(NftEcho.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        List<String> cmd = new java.util.ArrayList<>(List.of(javaBin.toString(), "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", cp, NftEcho.class.getName()));
        cmd.addAll(List.of(args));
        return cmd;
    }
}
