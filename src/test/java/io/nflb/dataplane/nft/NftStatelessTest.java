package io.nflb.dataplane.nft;

import io.nflb.config.ConfigLoader;
import io.nflb.model.Config;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import io.nflb.plan.Rational;
import io.nflb.plan.ServicePlan;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** ha mode ecmp's translation without state: the rules, what they evaluate to, and nft's own listing of them. */
class NftStatelessTest {

    static final String ECMP = """
            backend: nftables
            services:
              - name: web
                listen: {address: 192.168.100.100, port: 80}
                scheduler: maglev
                backends:
                  - {address: 192.168.2.2, port: 8080}
                  - {address: 192.168.2.3, port: 8080}
                  - {address: 192.168.2.4, port: 8080, weight: 2}
              - name: dns
                protocol: udp
                listen: {address: 192.168.100.53, port: 53}
                scheduler: maglev
                backends: [{address: 192.168.2.2}]
            firewall:
              policy: {input: accept, forward: drop}
            ha:
              mode: ecmp
              interface: eth0
              router_id: 61
              priority: 150
              gateway: {interface: eth1, address: 192.168.2.1/24, peer_addresses: [192.168.2.254/24]}
            """;

    static Plan plan(String yaml) throws Exception {
        return Planner.plan(ConfigLoader.parse("t.yaml", yaml));
    }

    @Test
    void servicesAreTranslatedBothWaysWithoutStateAndNotByDnat() throws Exception {
        NftState s = NftRenderer.render(plan(ECMP)).state();
        assertThat(s.sets().get(NftNames.DISPATCH4).elements()).as("no DNAT dispatch for stateless services").isEmpty();
        assertThat(s.sets().get(NftNames.STATELESS_FORWARD).elements())
                .containsExactly("192.168.100.53 . udp . 53 : jump slf_dns", "192.168.100.100 . tcp . 80 : jump slf_web");
        assertThat(s.sets().get(NftNames.STATELESS_REVERSE).elements()).contains("192.168.2.4 . tcp . 8080 : jump slr_web",
                "192.168.2.2 . udp . 53 : jump slr_dns");
        assertThat(s.chains().get("slf_web").rules()).containsExactly("notrack",
                "tcp dport set jhash ip saddr . tcp sport mod 509 seed 0x6e666c62 map @slp_web",
                "ip daddr set jhash ip saddr . tcp sport mod 509 seed 0x6e666c62 map @sla_web");
        assertThat(s.chains().get("slr_web").rules()).containsExactly("ip saddr set 192.168.100.100 tcp sport set 80");
        assertThat(s.chains().get(NftNames.STATELESS_POSTROUTING).header()).contains("hook postrouting");
        assertThat(s.chains().get(NftNames.STATELESS_PREROUTING).header()).contains("priority raw");
        List<String> fw = s.chains().get(NftNames.firewallChain("forward")).rules();
        int invalid = fw.indexOf("ct state invalid drop");
        assertThat(fw.subList(invalid + 1, invalid + 3)).containsExactly(
                "ct state untracked ip daddr . meta l4proto . th dport @slrev4 accept",
                "ct state untracked ip saddr . meta l4proto . th sport @slrev4 accept");
    }

    @Test
    void theEvaluatedSharesAreTheWeightsAndTheDigestIsThePlans() throws Exception {
        Plan plan = plan(ECMP);
        NftScript script = NftRenderer.render(plan);
        Map<String, Rational> shares = NftExplanation.of(plan, script).shares("web");
        assertThat(shares.keySet()).containsExactlyInAnyOrder("192.168.2.2:8080", "192.168.2.3:8080", "192.168.2.4:8080");
        // Maglev gives each virtual entry floor or ceil of 509/4 slots.
        assertThat(shares.get("192.168.2.4:8080").toDouble()).isBetween(254.0 / 509, 256.0 / 509);
        ServicePlan web = plan.services().stream().filter(x -> x.name().equals("web")).findFirst().orElseThrow();
        assertThat(NftStateless.digests(script.state())).containsEntry("web", web.maglevDigest().orElseThrow());
        // The same file on another router: the same table. Another backend order in the file: still the same table.
        String reordered = ECMP.replace("      - {address: 192.168.2.2, port: 8080}\n      - {address: 192.168.2.3, port: 8080}\n",
                "      - {address: 192.168.2.3, port: 8080}\n      - {address: 192.168.2.2, port: 8080}\n");
        assertThat(NftStateless.digests(NftRenderer.render(plan(reordered)).state())).isEqualTo(NftStateless.digests(script.state()));
    }

    @Test
    void aServiceWithoutABackendIsRefusedAsUsualAndAStatefulPlanHasNoneOfThis() throws Exception {
        Config c = ConfigLoader.parse("t.yaml", ECMP);
        Plan none = Planner.assemble(c, List.of(ServicePlan.rejecting(c.services().get(0)), Planner.plan(c.services().get(1))));
        NftState s = NftRenderer.render(none).state();
        assertThat(s.sets().get(NftNames.REJECT4).elements()).singleElement().asString().startsWith("192.168.100.100 . tcp . 80");
        assertThat(s.sets().get(NftNames.STATELESS_FORWARD).elements()).containsExactly("192.168.100.53 . udp . 53 : jump slf_dns");
        NftState stateful = NftRenderer.render(plan(NftRendererTest.TWO_SERVICES)).state();
        assertThat(stateful.sets()).doesNotContainKey(NftNames.STATELESS_FORWARD);
        assertThat(stateful.chains()).doesNotContainKey(NftNames.STATELESS_PREROUTING);
    }

    @Test
    void nftListsTheTableExactlyAsRenderedAndTheKernelsDigestIsThePlans() throws Exception {
        KernelTests.require("ip", "nft");
        try (Netns ns = Netns.create("sl")) {
            NftDataplane dp = new NftDataplane(ns.exec());
            Plan plan = plan(ECMP);
            assertThat(dp.apply(plan).changed()).isTrue();
            String listed = ns.exec().check(List.of("nft", "-s", "list", "table", "inet", "nflb")).stdout();
            assertThat(NftState.parse(listed).sameAs(NftRenderer.render(plan).state())).as("listing:\n" + listed).isTrue();
            assertThat(dp.apply(plan).changed()).as("the same plan again").isFalse();
            assertThat(dp.tableDigests()).isEqualTo(NftStateless.digests(NftRenderer.render(plan).state())).containsOnlyKeys("web", "dns");
            dp.flush();
        }
    }
}
