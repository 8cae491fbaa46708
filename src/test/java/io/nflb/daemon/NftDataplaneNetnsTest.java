package io.nflb.daemon;

import io.nflb.config.ConfigLoader;
import io.nflb.kernel.NftKernel;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import io.nflb.render.NftRendererTest;
import io.nflb.render.NftScript;
import io.nflb.render.NftState;
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
}
