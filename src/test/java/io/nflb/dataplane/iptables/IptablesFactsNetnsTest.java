package io.nflb.dataplane.iptables;

import io.nflb.host.Exec.Result;
import io.nflb.host.Exec;
import io.nflb.host.Tools;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The behaviour of iptables-restore that IptablesKernel's design rests on, checked against the installed
 * tools ("iptables" is iptables-nft 1.8.9 here; "iptables-legacy" when installed). If an upgrade changes one
 * of these, this test says which assumption broke.
 */
class IptablesFactsNetnsTest {

    private static Result restore(Exec exec, String tool, String input, String... flags) {
        List<String> argv = new java.util.ArrayList<>(List.of(tool + "-restore", "-w", "10", "--noflush"));
        argv.addAll(List.of(flags));
        return exec.run(argv, input);
    }

    private static String save(Exec exec, String tool) {
        return exec.check(List.of(tool + "-save")).stdout();
    }

    private static void requireTool(String tool) {
        KernelTests.require("ip", "iptables-restore");
        Assumptions.assumeTrue(Tools.has(tool + "-restore"), tool + "-restore is not installed");
    }

    @ParameterizedTest
    @ValueSource(strings = {"iptables", "iptables-legacy"})
    void declaringAnExistingChainUnderNoflushEmptiesItAndLocksAreWaitedFor(String tool) {
        requireTool(tool);
        try (Netns ns = Netns.create("facts")) {
            assertThat(restore(ns.exec(), tool, "*nat\n:NFLB-A - [0:0]\n-A NFLB-A -j RETURN\n-A PREROUTING -j NFLB-A\nCOMMIT\n").ok()).isTrue();
            assertThat(restore(ns.exec(), tool, "*nat\n:NFLB-A - [0:0]\nCOMMIT\n").ok()).isTrue();

            String saved = save(ns.exec(), tool);
            assertThat(saved).contains(":NFLB-A - [0:0]", "-A PREROUTING -j NFLB-A").doesNotContain("-A NFLB-A ");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"iptables", "iptables-legacy"})
    void eachTableIsCommittedOnItsOwn(String tool) {
        requireTool(tool);
        try (Netns ns = Netns.create("facts")) {
            Result r = restore(ns.exec(), tool,
                    "*nat\n:NFLB-A - [0:0]\nCOMMIT\n*filter\n:NFLB-F - [0:0]\n-A NFLB-F -j DNAT --to-destination 10.0.0.1\nCOMMIT\n");
            assertThat(r.ok()).isFalse();
            assertThat(save(ns.exec(), tool)).contains(":NFLB-A - [0:0]").doesNotContain("NFLB-F");
        }
    }

    /** Only iptables-nft: --test passes a jump to a missing chain, and the real run blames the COMMIT line. */
    @ParameterizedTest
    @ValueSource(strings = {"iptables"})
    void nftTestRunDoesNotResolveJumps(String tool) {
        requireTool(tool);
        try (Netns ns = Netns.create("facts")) {
            Assumptions.assumeTrue(ns.exec().check(List.of(tool, "--version")).stdout().contains("nf_tables"));
            String input = "*nat\n:NFLB-B - [0:0]\n-A NFLB-B -j NFLB-MISSING\nCOMMIT\n";
            assertThat(restore(ns.exec(), tool, input, "--test").ok()).isTrue();
            Result real = restore(ns.exec(), tool, input);
            assertThat(real.ok()).isFalse();
            assertThat(real.stderr()).contains("Chain 'NFLB-MISSING' does not exist", "Error occurred at line: 4");
            assertThat(save(ns.exec(), tool)).doesNotContain("NFLB-B");
        }
    }
}
