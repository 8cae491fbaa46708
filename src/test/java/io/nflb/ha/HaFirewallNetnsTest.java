package io.nflb.ha;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.Dataplane;
import io.nflb.dataplane.Dataplanes;
import io.nflb.model.BackendKind;
import io.nflb.model.Config;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** A firewall that drops input and output still lets a pair talk: VRRP from and to the peers, conntrackd's sync. */
class HaFirewallNetnsTest {

    static final String CONFIG = HaRenderTest.R1 + """
            firewall:
              policy: {input: drop, forward: drop, output: drop}
            """;

    @Test
    void bothLanguagesWriteTheAllowancesExactlyAsTheKernelListsThem() throws Exception {
        KernelTests.require("ip", "nft", "iptables-restore", "iptables-save");
        for (BackendKind kind : List.of(BackendKind.NFTABLES, BackendKind.IPTABLES)) {
            try (Netns ns = Netns.create("hafw")) {
                Config c = ConfigLoader.parse("r1.yaml", CONFIG.replace("backend: nftables", "backend: " + kind.keyword()));
                Plan plan = Planner.plan(c);
                Dataplane dp = Dataplanes.REAL.forKind(kind, ns.exec());
                assertThat(dp.apply(plan).changed()).isTrue();
                assertThat(dp.apply(plan).changed()).as(kind + ": the same plan again changes nothing").isFalse();
                String rules = kind == BackendKind.NFTABLES
                        ? ns.exec().check(List.of("nft", "list", "table", "inet", "nflb")).stdout()
                        : ns.exec().check(List.of("iptables-save", "-t", "filter")).stdout();
                if (kind == BackendKind.NFTABLES) {
                    assertThat(rules).contains("iifname \"eth0\" ip saddr 192.168.1.12 ip protocol vrrp accept",
                            "iifname \"eth2\" ip saddr 10.9.0.2 udp dport 3780 accept",
                            "oifname \"eth0\" ip protocol vrrp accept", "oifname \"eth2\" udp dport 3780 accept");
                } else {
                    assertThat(rules).contains("-A NFLB-INPUT -s 192.168.1.12/32 -i eth0 -p vrrp -j ACCEPT",
                            "-A NFLB-INPUT -s 10.9.0.2/32 -i eth2 -p udp -m udp --dport 3780 -j ACCEPT",
                            "-A NFLB-OUTPUT -o eth0 -p vrrp -j ACCEPT", "-A NFLB-OUTPUT -o eth2 -p udp -m udp --dport 3780 -j ACCEPT");
                }
                dp.flush();
            }
        }
    }

    @Test
    void withoutPeersTheMulticastAdvertsAreLetIn() throws Exception {
        Config c = ConfigLoader.parse("r1.yaml", CONFIG.replace("  peers: [192.168.1.12]\n", ""));
        String nft = io.nflb.dataplane.nft.NftRenderer.render(Planner.plan(c)).text();
        assertThat(nft).contains("iifname \"eth0\" ip daddr 224.0.0.18 ip protocol vrrp accept");
    }
}
