package io.nflb.firewall;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.iptables.IptablesRenderer;
import io.nflb.dataplane.nft.NftRenderer;
import io.nflb.dataplane.nft.NftState;
import io.nflb.model.IpAddress.Family;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The firewall policy of golden/firewall/policy.yaml, whole, in both backends; -Dgolden.update=true rewrites. */
class FirewallGoldenTest {

    static final Path DIR = Path.of("src/test/resources/golden/firewall");

    static Plan plan(String name) throws Exception {
        return Planner.plan(ConfigLoader.load(DIR.resolve(name + ".yaml")));
    }

    static String iptables(Plan plan) {
        return "# iptables-restore\n" + IptablesRenderer.restoreText(IptablesRenderer.render(plan, Family.V4))
                + "# ip6tables-restore\n" + IptablesRenderer.restoreText(IptablesRenderer.render(plan, Family.V6));
    }

    private static void check(String text, Path golden) throws Exception {
        if (Boolean.getBoolean("golden.update")) Files.writeString(golden, text);
        assertThat(text).isEqualTo(Files.readString(golden));
    }

    /** policy: the example with services in both families; strict: everything dropped, output too. */
    @ParameterizedTest
    @ValueSource(strings = {"policy", "strict"})
    void iptablesPolicy(String name) throws Exception {
        check(iptables(plan(name)), DIR.resolve(name + ".rules"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"policy", "strict"})
    void nftPolicy(String name) throws Exception {
        String text = NftRenderer.render(plan(name)).text();
        check(text, DIR.resolve(name + ".nft"));
        assertThat(NftState.parse(text)).as("parses back").isEqualTo(NftRenderer.render(plan(name)).state());
    }

    @Test
    void withoutFirewallOrLimitsNothingChanges() throws Exception {
        Plan plan = plan("policy");
        Plan bare = new Plan(plan.services().stream().map(s -> io.nflb.plan.Planner.plan(new io.nflb.model.Service(
                s.service().name(), s.service().protocol(), s.service().listen(), s.service().scheduler(), s.service().snat(),
                s.service().backends()))).toList());
        assertThat(iptables(bare)).doesNotContain("*filter", "NFLB-INPUT", "NFLB-LIM");
        assertThat(NftRenderer.render(bare).text()).doesNotContain("fw_", "limits", "policy drop");
    }
}
