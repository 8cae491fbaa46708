package io.nflb.dataplane.nft;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.Dataplane;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NftDataplaneNetnsTest {

    private static final String FOREIGN = """
            table inet foreign {
            	set admins {
            		type ipv4_addr
            		elements = { 10.0.0.7 }
            	}

            	chain input {
            		type filter hook input priority filter; policy accept;
            		ip saddr @admins tcp dport 22 accept
            	}
            }
            """;

    private static Plan plan() throws Exception {
        return Planner.plan(ConfigLoader.parse("t.yaml", NftRendererTest.TWO_SERVICES));
    }

    private static String ruleset(Netns ns) {
        return ns.exec().check(List.of("nft", "list", "ruleset")).stdout();
    }

    @Test
    void applyTwiceThenFlushLeavesOtherTablesExactlyAsTheyWere() throws Exception {
        KernelTests.require("ip", "nft", "iptables-restore");
        try (Netns ns = Netns.create("nft")) {
            ns.exec().check(List.of("nft", "-f", "-"), FOREIGN);
            ns.exec().check(List.of("iptables-restore"), "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -m tcp --dport 2222 -j DNAT --to-destination 10.9.9.9:22\nCOMMIT\n");
            String before = ruleset(ns);
            NftDataplane dp = new NftDataplane(ns.exec());

            dp.apply(plan());
            String once = ns.exec().check(List.of("nft", "-s", "list", "table", "inet", "nflb")).stdout();
            assertThat(once).contains("numgen inc mod 6", "jhash ip saddr", "masquerade");
            assertThat(dp.apply(plan()).changed()).as("same plan twice").isFalse();
            assertThat(ns.exec().check(List.of("nft", "-s", "list", "table", "inet", "nflb")).stdout()).isEqualTo(once);
            assertThat(dp.installed()).isTrue();
            assertThat(dp.traffic()).extracting(Dataplane.BackendTraffic::service).contains("web", "dns-lb", "shop");

            assertThat(dp.flush().changed()).isTrue();
            assertThat(ruleset(ns)).isEqualTo(before);
            assertThat(dp.flush().changed()).isFalse();
        }
    }

    @Test
    void aRefusedScriptLeavesTheKernelAsItWas() throws Exception {
        KernelTests.require("ip", "nft");
        try (Netns ns = Netns.create("nft-refuse")) {
            new NftDataplane(ns.exec()).apply(plan());
            String before = ruleset(ns);
            NftKernel kernel = new NftKernel(ns.exec());
            String current = kernel.save();
            NftScript broken = NftScript.of(NftState.parse(current.replace("\tchain prerouting {",
                    "\tchain broken {\n\t\tjump nowhere\n\t}\n\n\tchain prerouting {")));
            assertThatThrownBy(() -> kernel.apply(broken)).isInstanceOf(RuntimeException.class).hasMessageContaining("nowhere");
            assertThat(ruleset(ns)).isEqualTo(before);
        }
    }

    /**
     * Every backend down: new TCP connections get a reset and UDP a port unreachable at once, on the
     * router's own address (input) and on a routed address (forward), and rejecting() names the services.
     */
    @Test
    void aServiceWithoutUsableBackendRefusesAtOnce() throws Exception {
        KernelTests.require("ip", "nft", "sysctl");
        try (Netns client = Netns.create("rejc"); Netns router = Netns.create("rejr")) {
            io.nflb.host.Exec r = router.exec();
            r.check(List.of("ip", "link", "add", "rc", "type", "veth", "peer", "name", "cr", "netns", client.name()));
            r.check(List.of("ip", "addr", "add", "10.0.1.1/24", "dev", "rc"));
            r.check(List.of("ip", "addr", "add", "10.0.0.1/32", "dev", "lo"));
            // A routed, non-local destination: its packets take the forward path.
            r.check(List.of("ip", "link", "add", "rx", "type", "veth", "peer", "name", "ry"));
            r.check(List.of("ip", "link", "set", "rx", "up"));
            r.check(List.of("ip", "link", "set", "ry", "up"));
            r.check(List.of("ip", "route", "add", "10.0.3.0/24", "dev", "rx"));
            r.check(List.of("ip", "link", "set", "rc", "up"));
            r.check(List.of("sysctl", "-q", "-w", "net.ipv4.ip_forward=1"));
            io.nflb.host.Exec c = client.exec();
            c.check(List.of("ip", "addr", "add", "10.0.1.2/24", "dev", "cr"));
            c.check(List.of("ip", "link", "set", "cr", "up"));
            c.check(List.of("ip", "route", "add", "default", "via", "10.0.1.1"));

            String yaml = """
                    backend: nftables
                    services:
                      - name: web
                        listen: {address: 10.0.0.1, port: 80}
                        backends: [{address: 192.168.9.2}]
                      - name: dns
                        protocol: udp
                        listen: {address: 10.0.0.1, port: 53}
                        backends: [{address: 192.168.9.2}]
                      - name: far
                        listen: {address: 10.0.3.7, port: 443}
                        backends: [{address: 192.168.9.2}]
                      - name: alive
                        listen: {address: 10.0.0.1, port: 81}
                        backends: [{address: 192.168.9.2}]
                    """;
            Plan all = Planner.plan(ConfigLoader.parse("t.yaml", yaml));
            List<io.nflb.plan.ServicePlan> services = new java.util.ArrayList<>();
            for (io.nflb.plan.ServicePlan sp : all.services()) {
                services.add(sp.name().equals("alive") ? sp : io.nflb.plan.ServicePlan.rejecting(sp.service()));
            }
            NftDataplane dp = new NftDataplane(r);
            dp.apply(new Plan(services));
            assertThat(dp.rejecting()).containsExactly("dns", "far", "web");

            assertThat(probe(c, "tcp", "10.0.0.1", "80")).startsWith("refused ");
            assertThat(probe(c, "udp", "10.0.0.1", "53")).startsWith("unreachable ");
            assertThat(probe(c, "tcp", "10.0.3.7", "443")).startsWith("refused ");
            // A service with a backend is still balanced, not refused: its SYN is nat'ed towards the (unroutable) backend.
            assertThat(probe(c, "tcp", "10.0.0.1", "81")).doesNotStartWith("refused");
            assertThat(dp.traffic()).anyMatch(t -> t.service().equals("alive") && t.connections() >= 1);

            // Backends back: nothing is refused any more, by difference.
            assertThat(dp.apply(all).summary()).contains("by difference");
            assertThat(dp.rejecting()).isEmpty();
            assertThat(probe(c, "tcp", "10.0.0.1", "80")).doesNotStartWith("refused");
            assertThat(dp.traffic()).anyMatch(t -> t.service().equals("web") && t.connections() >= 1);
        }
    }

    /** One connection attempt from the client namespace; asserts it came back within a second when refused. */
    private static String probe(io.nflb.host.Exec c, String proto, String addr, String port) {
        java.nio.file.Path javaBin = java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java");
        String cp;
        try {
            cp = java.nio.file.Path.of(io.nflb.dataplane.nft.NftEcho.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        String out = c.check(List.of(javaBin.toString(), "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", cp,
                io.nflb.dataplane.nft.NftEcho.class.getName(), "probe", proto, addr, port)).stdout().strip();
        if (!out.startsWith("timeout")) assertThat(Long.parseLong(out.split(" ")[1])).as(out).isLessThan(1000);
        return out;
    }
}
