package io.nflb.firewall;

import io.nflb.dataplane.Dataplane;
import io.nflb.dataplane.iptables.IptablesDataplane;
import io.nflb.dataplane.nft.NftDataplane;
import io.nflb.host.Exec;
import io.nflb.host.Forwarding;
import io.nflb.lab.Servers;
import io.nflb.lab.Topology;
import io.nflb.model.Config;
import io.nflb.model.IpAddress.Family;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import io.nflb.testing.KernelTests;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A client scans the router and a server behind it, over IPv4 and IPv6, before and after the firewall of
 * golden/firewall/scan.yaml: afterwards only the allowed port, the balanced service and the forward rule's
 * port answer; a burst against the rate-limited service is cut off.
 */
class FirewallScanNetnsTest {

    static final String ROUTER6 = "fd00:1::1";
    static final String CLIENT6 = "fd00:1::2";
    static final String ROUTER6_SERVER_SIDE = "fd00:2::1";
    static final String SERVER6 = "fd00:2::2";
    /** A port range around ssh, plus the ports that matter here. */
    static final List<Integer> PORTS = scanPorts();
    static final List<String> TARGETS = List.of(Topology.ROUTER_CLIENT_SIDE, Topology.serverAddress(0), ROUTER6, SERVER6);

    private static List<Integer> scanPorts() {
        List<Integer> p = new ArrayList<>();
        for (int i = 20; i <= 30; i++) p.add(i);
        p.addAll(List.of(80, 443, 2222, 8080, 8081));
        return p;
    }

    @ParameterizedTest
    @ValueSource(strings = {"iptables", "nftables"})
    void scanReachesOnlyWhatIsAllowed(String backend) throws Exception {
        KernelTests.require("ip", backend.equals("iptables") ? "iptables-restore" : "nft");
        String prefix = "nflb-t-fw" + backend.charAt(0) + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xfffL) + "-";
        try (Topology t = Topology.build(prefix, 1); Processes procs = new Processes()) {
            addIpv6(t);
            procs.start(t.router(), "listen", "22", "25", "2222", "8081");
            procs.start(t.server(0), "listen", "22", "443", "8080");
            Config config = io.nflb.config.ConfigLoader.load(FirewallGoldenTest.DIR.resolve("scan.yaml"));
            Plan withFirewall = Planner.plan(config);
            Plan servicesOnly = new Plan(withFirewall.services());
            Exec router = Exec.inNetns(t.router());
            Dataplane dp = backend.equals("iptables") ? new IptablesDataplane(router) : new NftDataplane(router);

            dp.apply(servicesOnly);
            // Neighbour discovery first, so a scan's short timeouts measure the rules, not address resolution.
            for (String host : TARGETS) procs.run(t.client(), "scan", "5000", host + ",22");
            Set<String> before = scan(t);
            dp.apply(withFirewall);
            Set<String> after = scan(t);
            System.out.println(backend + " scan before the firewall: " + before);
            System.out.println(backend + " scan after the firewall: " + after);

            String r4 = Topology.ROUTER_CLIENT_SIDE, s4 = Topology.serverAddress(0);
            assertThat(before).as("without the firewall everything listening answers").containsExactlyInAnyOrder(
                    open(r4, 22), open(r4, 25), open(r4, 80), open(r4, 2222), open(r4, 8081),
                    open(s4, 22), open(s4, 443), open(s4, 8080),
                    open(ROUTER6, 22), open(ROUTER6, 25), open(ROUTER6, 80), open(ROUTER6, 2222), open(ROUTER6, 8081),
                    open(SERVER6, 22), open(SERVER6, 443), open(SERVER6, 8080));
            assertThat(after).as("ssh allowed, the balanced services, the forward rule; a server's own ports are not")
                    .containsExactlyInAnyOrder(open(r4, 22), open(r4, 80), open(s4, 443),
                            open(ROUTER6, 22), open(ROUTER6, 80), open(SERVER6, 443));

            // 5/s with a burst of 5: a quick burst of 40 gets the burst and what refills while it runs, no more.
            String burst = procs.run(t.client(), "burst", r4, "80", "40").strip();
            System.out.println(backend + " burst of 40 against web (5/s, burst 5): " + burst);
            String[] w = burst.split(" ");
            int ok = Integer.parseInt(w[1]), refused = Integer.parseInt(w[3]);
            assertThat(ok).isBetween(4, 15);
            assertThat(refused).isEqualTo(40 - ok);
            // web6 has no limits: the same burst all gets through.
            assertThat(procs.run(t.client(), "burst", ROUTER6, "80", "40").strip()).isEqualTo("ok 40 refused 0");

            // Back to the services alone: the firewall goes without a trace. The limit is web's own and stays,
            // with the bucket the burst emptied: wait until it has refilled (5/s), so the scan sees the rules.
            Thread.sleep(2_000);
            dp.apply(servicesOnly);
            assertThat(scan(t)).as("the services alone again").isEqualTo(before);
        }
    }

    private static String open(String host, int port) {
        return "open " + host + "," + port;
    }

    private static Set<String> scan(Topology t) throws Exception {
        List<String> args = new ArrayList<>(List.of("scan", "1500"));
        for (String host : TARGETS) for (int p : PORTS) args.add(host + "," + p);
        return new TreeSet<>(new Processes().run(t.client(), args.toArray(String[]::new)).lines().filter(l -> l.startsWith("open ")).toList());
    }

    /** Both sides get IPv6 addresses next to the topology's IPv4 ones; nodad: usable at once. */
    private static void addIpv6(Topology t) {
        Exec r = Exec.inNetns(t.router()), c = Exec.inNetns(t.client()), s = Exec.inNetns(t.server(0));
        r.check(List.of("ip", "-6", "addr", "add", ROUTER6 + "/64", "dev", Topology.CLIENT_IFACE, "nodad"));
        r.check(List.of("ip", "-6", "addr", "add", ROUTER6_SERVER_SIDE + "/64", "dev", Topology.SERVER_IFACE, "nodad"));
        c.check(List.of("ip", "-6", "addr", "add", CLIENT6 + "/64", "dev", "eth0", "nodad"));
        c.check(List.of("ip", "-6", "route", "add", "default", "via", ROUTER6));
        s.check(List.of("ip", "-6", "addr", "add", SERVER6 + "/64", "dev", "eth0", "nodad"));
        s.check(List.of("ip", "-6", "route", "add", "default", "via", ROUTER6_SERVER_SIDE));
        Forwarding.ensure(r, Family.V6);
    }

    /** ScanTool JVMs inside namespaces; listeners are killed on close. */
    static final class Processes implements AutoCloseable {
        private final List<Process> started = new ArrayList<>();

        void start(String ns, String... args) throws IOException, InterruptedException {
            Path log = Files.createTempFile("nflb-scan-", ".log");
            Process p = new ProcessBuilder(Exec.inNetns(ns).command(Servers.java(ScanTool.class.getName(), args)))
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            started.add(p);
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (!Files.readString(log).contains("ready")) {
                if (System.nanoTime() > deadline || !p.isAlive()) throw new IllegalStateException("listener: " + Files.readString(log));
                Thread.sleep(50);
            }
            Files.delete(log);
        }

        String run(String ns, String... args) {
            return Exec.inNetns(ns).check(Servers.java(ScanTool.class.getName(), args)).stdout();
        }

        @Override
        public void close() {
            for (Process p : started) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
        }
    }
}
