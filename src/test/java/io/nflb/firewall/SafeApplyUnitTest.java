package io.nflb.firewall;

import io.nflb.config.ConfigLoader;
import io.nflb.model.IpAddress;
import io.nflb.plan.Lockout;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import io.nflb.state.Generations;
import io.nflb.state.UnifiedDiff;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** Generations on disk, the lockout guard and the diff, without a kernel. */
class SafeApplyUnitTest {

    @TempDir
    Path dir;

    private static Plan plan(String firewall) throws Exception {
        return Planner.plan(ConfigLoader.parse("t.yaml", """
                services:
                  - name: web
                    listen: {address: 192.168.1.1, port: 80}
                    backends: [{address: 192.168.2.2}]
                """ + firewall));
    }

    private static Lockout.SshConnection ssh(String env) {
        return Lockout.SshConnection.parse(env).orElseThrow();
    }

    @Test
    void generationsKeepTheLastFiveAndKnowTheCurrentOne() throws Exception {
        Generations g = new Generations(dir);
        assertThat(g.current()).isZero();
        for (int i = 1; i <= 7; i++) assertThat(g.record("config " + i + "\n", "iptables", "rules " + i + "\n")).isEqualTo(i);
        assertThat(g.list()).containsExactly(3, 4, 5, 6, 7);
        assertThat(g.current()).isEqualTo(7);
        assertThat(g.before(7)).isEqualTo(6);
        assertThat(g.before(3)).isZero();
        assertThat(g.config(6)).isEqualTo("config 6\n");
        assertThat(g.backend(6)).isEqualTo("iptables");
    }

    @Test
    void onlyTheRightTokenClaimsAPendingConfirmationAndOnlyOnce() {
        Generations g = new Generations(dir);
        g.setPending(new Generations.Pending("0123456789abcdef", 2, 1));
        assertThat(g.claimPending(Optional.of("ffffffffffffffff"))).isEmpty();
        assertThat(g.claimPending(Optional.of("0123456789abcdef"))).contains(new Generations.Pending("0123456789abcdef", 2, 1));
        assertThat(g.claimPending(Optional.empty())).isEmpty();
    }

    @Test
    void lockoutGuardNamesTheDroppingRule() throws Exception {
        Plan p = plan("""
                firewall:
                  allow:
                    - {ports: [22], from: [10.0.0.0/8]}
                """);
        Optional<String> why = Lockout.check(p, ssh("192.168.1.2 51234 192.168.1.1 22"), a -> Optional.empty());
        assertThat(why).hasValueSatisfying(w -> assertThat(w)
                .contains("tcp 192.168.1.2 port 51234 -> 192.168.1.1 port 22", "\"nflb policy input drop\"",
                        "allow 1: from [10.0.0.0/8] excludes 192.168.1.2"));
        assertThat(Lockout.check(p, ssh("10.1.2.3 51234 192.168.1.1 22"), a -> Optional.empty())).isEmpty();
        assertThat(Lockout.check(p, ssh("10.1.2.3 51234 192.168.1.1 2222"), a -> Optional.empty()))
                .hasValueSatisfying(w -> assertThat(w).contains("ports 22 exclude 2222"));
    }

    @Test
    void lockoutGuardComparesTheInterfaceTheClientIsReachedThrough() throws Exception {
        Plan p = plan("""
                firewall:
                  allow: [{ports: [22], interface: eth0}]
                """);
        Lockout.SshConnection s = ssh("fd00:1::2 40000 fd00:1::1 22");
        assertThat(Lockout.check(p, s, a -> Optional.of("eth0"))).isEmpty();
        assertThat(Lockout.check(p, s, a -> Optional.of("eth1"))).hasValueSatisfying(w -> assertThat(w)
                .contains("interface eth0 but fd00:1::2 is reached via eth1"));
    }

    @Test
    void noFirewallOrAnAcceptingInputPolicyNeverLocksOut() throws Exception {
        Lockout.SshConnection s = ssh("192.168.1.2 51234 192.168.1.1 22");
        assertThat(Lockout.check(plan(""), s, a -> Optional.empty())).isEmpty();
        assertThat(Lockout.check(plan("firewall: {policy: {input: accept}}\n"), s, a -> Optional.empty())).isEmpty();
        assertThat(Lockout.SshConnection.parse("nonsense")).isEmpty();
        assertThat(Lockout.SshConnection.parse("192.168.1.2 1 192.168.1.1 22").orElseThrow().server())
                .isEqualTo(IpAddress.parse("192.168.1.1").orElseThrow());
    }

    @Test
    void unifiedDiffShowsChangesWithContext() {
        String a = String.join("\n", List.of("1", "2", "3", "4", "5", "6", "7", "8", "9", "10")) + "\n";
        String b = a.replace("5\n", "five\n").replace("10\n", "10\n11\n");
        assertThat(UnifiedDiff.of("old", a, "new", b)).isEqualTo("""
                --- old
                +++ new
                @@ -2,9 +2,10 @@
                 2
                 3
                 4
                -5
                +five
                 6
                 7
                 8
                 9
                 10
                +11
                """);
        assertThat(UnifiedDiff.of("old", a, "new", a)).isEmpty();
        assertThat(UnifiedDiff.of("old", "", "new", "x\n")).isEqualTo("--- old\n+++ new\n@@ -0,0 +1,1 @@\n+x\n");
    }
}
