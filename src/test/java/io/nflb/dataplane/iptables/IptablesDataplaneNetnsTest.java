package io.nflb.dataplane.iptables;

import io.nflb.config.ConfigLoader;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The whole pipeline (config -> plan -> render -> kernel) over a foreign firewall, in a namespace. */
class IptablesDataplaneNetnsTest {

    private static final String TWO_SERVICES = """
            backend: iptables
            services:
              - name: web
                listen: {address: 10.99.0.1, port: 80}
                scheduler: random
                snat: masquerade
                affinity: {timeout: 10m}
                backends: [{address: 10.99.1.2}, {address: 10.99.1.3, weight: 3}]
              - name: dns
                protocol: udp
                listen: {interface: eth9, port: 53}
                backends: [{address: 10.99.1.4}, {address: 10.99.1.5}]
            """;

    private static final String ONE_SERVICE = """
            backend: iptables
            services:
              - name: web
                listen: {address: 10.99.0.1, port: 80}
                backends: [{address: 10.99.1.2}]
            """;

    private static Plan plan(String yaml) throws Exception {
        return Planner.plan(ConfigLoader.parse("t.yaml", yaml));
    }

    private static String saveAll(Netns ns) {
        // Header and COMMIT-time comments carry timestamps; everything else must be identical.
        return ns.exec().check(List.of("iptables-save")).stdout().lines().filter(l -> !l.startsWith("#"))
                .reduce("", (a, b) -> a + b + "\n");
    }

    @Test
    void applyChangeAndFlushLeaveAForeignFirewallByteIdentical() throws Exception {
        KernelTests.require("ip", "iptables-restore", "iptables-save");
        try (Netns ns = Netns.create("dp-foreign")) {
            ns.exec().check(List.of("iptables-restore"), Files.readString(Path.of("src/test/resources/kernel/foreign-firewall.rules")));
            String foreign = saveAll(ns);
            IptablesDataplane dp = new IptablesDataplane(ns.exec());

            assertThat(dp.apply(plan(TWO_SERVICES)).changed()).isTrue();
            String applied = saveAll(ns);
            assertThat(applied).contains("NFLB-SVC-web", "NFLB-SVC-dns", "MASQUERADE", "--rcheck");
            assertThat(dp.apply(plan(TWO_SERVICES)).changed()).as("same config twice").isFalse();
            assertThat(saveAll(ns)).isEqualTo(applied);

            assertThat(dp.apply(plan(ONE_SERVICE)).changed()).isTrue();
            assertThat(saveAll(ns)).doesNotContain("NFLB-SVC-dns", "MASQUERADE -m comment --comment \"web");
            assertThat(dp.installed()).isTrue();

            assertThat(dp.flush().changed()).isTrue();
            assertThat(saveAll(ns)).isEqualTo(foreign);
            assertThat(dp.installed()).isFalse();
        }
    }

    /**
     * Rules an nflb with a chain per backend loaded, with a foreign firewall around them: today's layout
     * replaces them in one restore, and the foreign rules stay byte-identical.
     */
    @Test
    void anUpgradeFromPerBackendChainsIsOneCleanTransaction() throws Exception {
        KernelTests.require("ip", "iptables-restore", "iptables-save");
        try (Netns ns = Netns.create("dp-upgrade")) {
            ns.exec().check(List.of("iptables-restore"), Files.readString(Path.of("src/test/resources/kernel/foreign-firewall.rules")));
            String foreign = saveAll(ns);
            ns.exec().check(List.of("iptables-restore", "--noflush"),
                    Files.readString(Path.of("src/test/resources/kernel/iptables-per-backend-chains.rules")));
            assertThat(saveAll(ns)).contains(":NFLB-SEP-web-");
            int[] restores = {0};
            IptablesTool real = IptablesTool.of(ns.exec(), io.nflb.model.IpAddress.Family.V4);
            IptablesKernel kernel = new IptablesKernel(new IptablesTool() {
                public io.nflb.model.IpAddress.Family family() {
                    return real.family();
                }

                public String save(boolean counters) {
                    return real.save(counters);
                }

                public void restore(String input) {
                    restores[0]++;
                    real.restore(input);
                }
            });
            IptablesRuleset wanted = IptablesRenderer.render(Fixtures.goldens().get("two-services"), io.nflb.model.IpAddress.Family.V4);

            IptablesTransaction tx = kernel.apply(wanted); // reads back and verifies what the kernel holds

            assertThat(restores[0]).isEqualTo(1);
            assertThat(tx.chainsRemoved()).isEqualTo(5);
            String upgraded = saveAll(ns);
            assertThat(upgraded).doesNotContain("NFLB-SEP-").contains("-j DNAT --to-destination 192.168.3.4:53");
            assertThat(kernel.apply(wanted).isEmpty()).isTrue();
            kernel.flush();
            assertThat(saveAll(ns)).isEqualTo(foreign);
        }
    }

    /**
     * Real connections through a round-robin service whose backends have one DNAT rule per slot of the cycle:
     * traffic() sums each backend's rules. Nothing listens on the backends (local addresses): a refused
     * connection (curl exit 7) proves the SYN was DNATed; without DNAT the service address is routed to a
     * peer that does not answer (a timeout).
     */
    @Test
    void trafficSumsTheRulesOfEachBackend() throws Exception {
        KernelTests.require("ip", "iptables-restore", "iptables-save", "curl");
        try (Netns ns = Netns.create("dp-traffic")) {
            io.nflb.host.Exec exec = ns.exec();
            exec.check(List.of("ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"));
            for (String a : List.of("10.99.0.5/24", "10.99.1.2/24", "10.99.1.3/24")) exec.check(List.of("ip", "addr", "add", a, "dev", "v0"));
            exec.check(List.of("ip", "link", "set", "v1", "up"));
            exec.check(List.of("ip", "link", "set", "v0", "up"));
            IptablesDataplane dp = new IptablesDataplane(exec);
            dp.apply(plan(ONE_SERVICE.replace("listen:", "scheduler: round-robin\n    listen:")
                    .replace("backends: [{address: 10.99.1.2}]", "backends: [{address: 10.99.1.2}, {address: 10.99.1.3, weight: 2}]")));
            assertThat(saveAll(ns)).doesNotContain("NFLB-SEP-").containsOnlyOnce("--every 3 --packet 0");
            int connections = 6;
            for (int i = 0; i < connections; i++) {
                io.nflb.host.Exec.Result r = exec.run(List.of("curl", "-s", "-o", "/dev/null", "--max-time", "3", "http://10.99.0.1:80/"));
                assertThat(r.exitCode()).as("curl exit code").isEqualTo(7);
            }
            assertThat(dp.traffic()).extracting(t -> t.service() + " " + t.endpoint() + " " + t.connections())
                    .containsExactlyInAnyOrder("web 10.99.1.2:80 2", "web 10.99.1.3:80 4");
        }
    }

    @Test
    void maglevIsRefusedOnIptablesBeforeAnythingIsApplied() throws Exception {
        KernelTests.require("ip", "iptables-restore", "iptables-save");
        try (Netns ns = Netns.create("dp-refuse")) {
            String before = saveAll(ns);
            // The config refuses maglev with backend: iptables; a plan made for auto must still be refused here.
            Plan maglev = plan(ONE_SERVICE.replace("backend: iptables\n", "").replace("listen:", "scheduler: maglev\n    listen:"));
            assertThatThrownBy(() -> new IptablesDataplane(ns.exec()).apply(maglev)).hasMessageContaining("maglev needs the nftables backend");
            assertThat(saveAll(ns)).isEqualTo(before);
        }
    }
}
