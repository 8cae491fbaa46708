package io.nflb.dataplane.iptables;

import io.nflb.model.IpAddress.Family;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Where nflb's jumps go and how the transaction puts them back: at the top, together and in order, below
 * fail2ban's; moved with a delete and an insert when a neighbour put its jumps above; untouched when in place.
 * Each transaction is compared whole, then run on the in-memory iptables, after which nothing is left to do.
 */
class JumpPlacementTest {

    private static final String IN = "-m comment --comment \"nflb firewall\" -j NFLB-INPUT";
    private static final String FWD = "-m comment --comment \"nflb firewall\" -j NFLB-FORWARD";
    private static final String REJ = "-m comment --comment \"nflb services without backends\" -j NFLB-REJECT";
    private static final String LIM = "-m comment --comment \"nflb limits\" -j NFLB-LIMITS";

    private static IptablesRuleset wanted(List<IptablesRuleset.Jump> jumps, String... chains) {
        List<String> rules = java.util.Arrays.stream(chains).map(c -> "-A " + c + " -j DROP").toList();
        return new IptablesRuleset(Family.V4, List.of(new IptablesRuleset.Table("filter", List.of(chains), jumps, rules)));
    }

    private static String live(String rules, String... chains) {
        StringBuilder sb = new StringBuilder("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
        for (String c : chains) sb.append(':').append(c).append(" - [0:0]\n");
        sb.append(rules);
        for (String c : chains) if (c.startsWith("NFLB-")) sb.append("-A ").append(c).append(" -j DROP\n");
        return sb.append("COMMIT\n").toString();
    }

    private static String transaction(IptablesRuleset wanted, String live) {
        String tx = IptablesKernel.transaction(wanted, live);
        FakeIptablesTool fake = new FakeIptablesTool(Family.V4, live);
        fake.restore(tx);
        assertThat(IptablesKernel.transaction(wanted, fake.save(false))).as("converges").isEmpty();
        return tx;
    }

    @Test
    void dockerRestartedAboveNflbIsMovedBack() {
        String live = live("-A FORWARD -j DOCKER-USER\n-A FORWARD -j DOCKER-FORWARD\n-A FORWARD " + FWD + "\n",
                "DOCKER-USER", "DOCKER-FORWARD", "NFLB-FORWARD");
        assertThat(transaction(wanted(List.of(new IptablesRuleset.Jump("FORWARD", FWD)), "NFLB-FORWARD"), live)).isEqualTo("""
                *filter
                -D FORWARD -m comment --comment "nflb firewall" -j NFLB-FORWARD
                -I FORWARD 1 -m comment --comment "nflb firewall" -j NFLB-FORWARD
                COMMIT
                """);
    }

    @Test
    void belowFail2bansJumpSoItsBansHold() {
        String f2b = "-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd\n";
        var want = wanted(List.of(new IptablesRuleset.Jump("INPUT", IN)), "NFLB-INPUT");
        // nflb's jump above fail2ban's (nflb applied first, fail2ban inserted at 2 later, or nflb's old order).
        assertThat(transaction(want, live("-A INPUT " + IN + "\n" + f2b, "f2b-sshd", "NFLB-INPUT"))).isEqualTo("""
                *filter
                -D INPUT -m comment --comment "nflb firewall" -j NFLB-INPUT
                -I INPUT 2 -m comment --comment "nflb firewall" -j NFLB-INPUT
                COMMIT
                """);
        // The first apply next to fail2ban.
        assertThat(transaction(want, live(f2b, "f2b-sshd"))).isEqualTo("""
                *filter
                :NFLB-INPUT - [0:0]
                -I INPUT 2 -m comment --comment "nflb firewall" -j NFLB-INPUT
                -A NFLB-INPUT -j DROP
                COMMIT
                """);
        // fail2ban restarted: its jump first again, nflb's second: in place, nothing to do.
        assertThat(IptablesKernel.transaction(want, live(f2b + "-A INPUT " + IN + "\n", "f2b-sshd", "NFLB-INPUT"))).isEmpty();
    }

    @Test
    void aMissingJumpJoinsTheOthersAtTheTopAndOrderIsKept() {
        var both = wanted(List.of(new IptablesRuleset.Jump("INPUT", REJ), new IptablesRuleset.Jump("INPUT", LIM)), "NFLB-REJECT", "NFLB-LIMITS");
        // One there, at the top; the other goes in above it, where its order says: no move needed.
        assertThat(transaction(both, live("-A INPUT " + LIM + "\n-A INPUT -j ACCEPT\n", "NFLB-REJECT", "NFLB-LIMITS"))).isEqualTo("""
                *filter
                -I INPUT 1 -m comment --comment "nflb services without backends" -j NFLB-REJECT
                COMMIT
                """);
        // Split by a foreign rule: both out, both in again, together.
        assertThat(transaction(both, live("-A INPUT " + REJ + "\n-A INPUT -j ACCEPT\n-A INPUT " + LIM + "\n", "NFLB-REJECT", "NFLB-LIMITS")))
                .isEqualTo("""
                        *filter
                        -D INPUT -m comment --comment "nflb services without backends" -j NFLB-REJECT
                        -D INPUT -m comment --comment "nflb limits" -j NFLB-LIMITS
                        -I INPUT 1 -m comment --comment "nflb limits" -j NFLB-LIMITS
                        -I INPUT 1 -m comment --comment "nflb services without backends" -j NFLB-REJECT
                        COMMIT
                        """);
        assertThat(IptablesKernel.transaction(both, live("-A INPUT " + REJ + "\n-A INPUT " + LIM + "\n-A INPUT -j ACCEPT\n",
                "NFLB-REJECT", "NFLB-LIMITS"))).as("in place").isEmpty();
    }

    @Test
    void dockerUserIsTheOneForeignChainNflbJumpsFrom() {
        String jump = "-m comment --comment \"nflb neighbours\" -j NFLB-DOCKER-USER";
        var want = wanted(List.of(new IptablesRuleset.Jump("DOCKER-USER", jump)), "NFLB-DOCKER-USER");
        assertThat(transaction(want, live("-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -j RETURN\n", "DOCKER-USER"))).isEqualTo("""
                *filter
                :NFLB-DOCKER-USER - [0:0]
                -I DOCKER-USER 1 -m comment --comment "nflb neighbours" -j NFLB-DOCKER-USER
                -A NFLB-DOCKER-USER -j DROP
                COMMIT
                """);
        // No longer wanted: the jump goes, and the chain with it.
        String installed = live("-A FORWARD -j DOCKER-USER\n-A DOCKER-USER " + jump + "\n-A DOCKER-USER -j RETURN\n", "DOCKER-USER", "NFLB-DOCKER-USER");
        assertThat(transaction(new IptablesRuleset(Family.V4, List.of()), installed)).contains("-D DOCKER-USER " + jump, "-X NFLB-DOCKER-USER");
        var other = wanted(List.of(new IptablesRuleset.Jump("KUBE-FORWARD", jump)), "NFLB-DOCKER-USER");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> IptablesKernel.transaction(other, installed))
                .hasMessageContaining("jump from a chain that is not built-in: KUBE-FORWARD");
    }
}
