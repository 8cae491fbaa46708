package io.nflb.neighbours;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.iptables.IptablesRenderer;
import io.nflb.dataplane.nft.NftRenderer;
import io.nflb.dataplane.nft.NftState;
import io.nflb.model.IpAddress.Family;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The rules nflb writes next to each neighbour's real rules, per mode, in both languages: the whole iptables
 * restore input of both families and nft's firewall chains, compared whole with golden/neighbours/NAME.rules
 * (-Dnflb.golden.update=true rewrites them). The shapes are the ones measured with real traffic in issue 15's
 * research; NeighboursNetnsTest loads them into a kernel and checks they read back as written.
 */
class NeighbourShapesTest {

    static final List<String> ALL = NeighbourFixtures.ALL;

    static String config(String backend, String mode) {
        return NeighbourFixtures.config(backend, "docker: %s, libvirt: %s, kube-proxy: %s, ufw: %s, firewalld: %s"
                .formatted(mode, mode, mode, mode, mode));
    }

    static Plan plan(String name, String backend, String mode) {
        try {
            return Planner.plan(ConfigLoader.parse("nflb.yaml", config(backend, mode))).withNeighbours(NeighbourFixtures.read(name));
        } catch (io.nflb.config.ConfigException e) {
            throw new AssertionError(e.errors().toString(), e);
        }
    }

    static String iptables(Plan p) {
        return "# iptables-restore\n" + IptablesRenderer.restoreText(IptablesRenderer.render(p, Family.V4))
                + "# ip6tables-restore\n" + IptablesRenderer.restoreText(IptablesRenderer.render(p, Family.V6));
    }

    /** nflb's firewall chains as nft lists them. */
    static String nft(Plan p) {
        StringBuilder sb = new StringBuilder();
        for (NftState.Chain c : NftRenderer.render(p).state().chains().values()) {
            if (!c.name().startsWith("fw_")) continue;
            sb.append("chain ").append(c.name()).append(" {\n\t").append(c.header()).append('\n');
            for (String r : c.rules()) sb.append('\t').append(r).append('\n');
            sb.append("}\n");
        }
        return sb.toString();
    }

    static String shapes(String name) {
        StringBuilder sb = new StringBuilder();
        for (String mode : List.of("allow", "restrict", "ignore")) {
            sb.append("=== ").append(name).append(", mode ").append(mode).append(", iptables\n").append(iptables(plan(name, "iptables", mode)));
            sb.append("=== ").append(name).append(", mode ").append(mode).append(", nftables\n").append(nft(plan(name, "nftables", mode)));
        }
        return sb.toString();
    }

    @ParameterizedTest
    @FieldSource("ALL")
    void rulesAsGolden(String name) throws IOException {
        String actual = shapes(name);
        Path expected = NeighbourRecognitionTest.GOLDEN.resolve(name + ".rules");
        if (Boolean.getBoolean("nflb.golden.update")) Files.writeString(expected, actual);
        assertThat(actual).isEqualTo(Files.readString(expected));
    }

    @Test
    void ignoreIsWhatNflbWroteBeforeItKnewItsNeighbours() {
        for (String name : ALL) {
            Plan ignore = plan(name, "iptables", "ignore");
            Plan unread = new Plan(ignore.services(), ignore.firewall(), ignore.probed());
            // The one difference: fail2ban's place, which the transaction keeps, not the renderer.
            assertThat(iptables(ignore)).as(name).isEqualTo(iptables(unread));
            assertThat(nft(plan(name, "nftables", "ignore"))).as(name).isEqualTo(nft(new Plan(ignore.services(), ignore.firewall(), ignore.probed())));
        }
    }
}
