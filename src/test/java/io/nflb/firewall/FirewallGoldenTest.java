package io.nflb.firewall;

import io.nflb.config.ConfigLoader;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import io.nflb.render.IptablesRenderer;
import io.nflb.render.IptablesRuleset.Family;
import io.nflb.render.NftRenderer;
import io.nflb.render.NftState;
import org.junit.jupiter.api.Test;

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
        return "# iptables-restore\n" + IptablesRenderer.restoreText(IptablesRenderer.render(plan, Family.IPV4))
                + "# ip6tables-restore\n" + IptablesRenderer.restoreText(IptablesRenderer.render(plan, Family.IPV6));
    }

    private static void check(String text, Path golden) throws Exception {
        if (Boolean.getBoolean("golden.update")) Files.writeString(golden, text);
        assertThat(text).isEqualTo(Files.readString(golden));
    }

    @Test
    void iptablesPolicy() throws Exception {
        check(iptables(plan("policy")), DIR.resolve("policy.rules"));
    }

    @Test
    void nftPolicy() throws Exception {
        String text = NftRenderer.render(plan("policy")).text();
        check(text, DIR.resolve("policy.nft"));
        assertThat(NftState.parse(text)).as("parses back").isEqualTo(NftRenderer.render(plan("policy")).state());
    }
}
