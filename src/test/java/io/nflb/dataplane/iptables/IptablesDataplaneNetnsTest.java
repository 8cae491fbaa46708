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
