package io.nflb.firewall;

import io.nflb.dataplane.iptables.IptablesDataplane;
import io.nflb.dataplane.iptables.IptablesKernel;
import io.nflb.dataplane.iptables.IptablesRenderer;
import io.nflb.dataplane.iptables.IptablesTransaction;
import io.nflb.dataplane.nft.NftDataplane;
import io.nflb.dataplane.nft.NftKernel;
import io.nflb.dataplane.nft.NftRenderer;
import io.nflb.model.IpAddress.Family;
import io.nflb.plan.Plan;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The golden policy goes into a real kernel as written, reads back equal, and flushes away completely. */
class FirewallApplyNetnsTest {

    @ParameterizedTest
    @ValueSource(strings = {"policy", "strict", "scan"})
    void iptablesPolicyReadsBackAndFlushesAway(String name) throws Exception {
        KernelTests.require("iptables-restore", "ip6tables-restore", "ip");
        Plan plan = FirewallGoldenTest.plan(name);
        try (Netns ns = Netns.create("fw-ipt")) {
            for (Family f : Family.values()) {
                IptablesKernel k = new IptablesKernel(ns.exec(), f);
                IptablesTransaction first = k.apply(IptablesRenderer.render(plan, f)); // verifies the read-back itself
                assertThat(first.isEmpty()).isFalse();
                assertThat(k.apply(IptablesRenderer.render(plan, f)).isEmpty()).as("second apply").isTrue();
            }
            String save = ns.exec().check(List.of("iptables-save")).stdout();
            assertThat(save).contains("-A INPUT -m comment --comment \"nflb firewall\" -j NFLB-INPUT",
                    ":INPUT ACCEPT", ":FORWARD ACCEPT"); // built-in policies untouched
            new IptablesDataplane(ns.exec()).flush();
            assertThat(ns.exec().check(List.of("iptables-save")).stdout()).doesNotContain("NFLB").contains(":INPUT ACCEPT");
            assertThat(ns.exec().check(List.of("ip6tables-save")).stdout()).doesNotContain("NFLB");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"policy", "strict", "scan"})
    void nftPolicyReadsBackAndFlushesAway(String name) throws Exception {
        KernelTests.require("nft", "ip");
        Plan plan = FirewallGoldenTest.plan(name);
        try (Netns ns = Netns.create("fw-nft")) {
            NftKernel k = new NftKernel(ns.exec());
            k.apply(NftRenderer.render(plan));
            // A fresh kernel reads the live table and finds nothing to change: what was written lists back the same.
            NftKernel fresh = new NftKernel(ns.exec());
            assertThat(fresh.apply(NftRenderer.render(plan)).changed()).isFalse();
            assertThat(fresh.read().orElseThrow()).isEqualTo(NftRenderer.render(plan).state());
            new NftDataplane(ns.exec()).flush();
            assertThat(ns.exec().check(List.of("nft", "list", "ruleset")).stdout()).doesNotContain("nflb");
        }
    }
}
