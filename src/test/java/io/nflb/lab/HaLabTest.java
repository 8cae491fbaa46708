package io.nflb.lab;

import io.nflb.model.BackendKind;
import io.nflb.model.Ha;
import io.nflb.testing.KernelTests;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.ThreadLocalRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 12's lab for real: two routers with real keepalived and conntrackd in namespaces, 50 (vrrp) or 100
 * (ecmp) long connections checking every answer, r1 failing. Bounds are generous for a loaded 2-core machine;
 * the goals (1 s, 50 of 50) are measured in BENCHMARKS.md, not asserted here.
 */
class HaLabTest {

    @BeforeEach
    void requireKernel() {
        KernelTests.require("ip", "nft", "iptables-restore", "sysctl", "keepalived", "conntrackd", "mkfifo");
    }

    /**
     * nflb-lab-ha-t*: a lab's name, which run-tests removes too. Not nflb-t-*: a run of about 25 s must not lose its
     * namespaces to another checkout's run-tests starting on the same machine (it removes every nflb-t-*).
     */
    private static String prefix() {
        return HaLab.USER_PREFIX + "t" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xfffffL) + "-";
    }

    private static HaLabResult run(HaLab.Options o) throws Exception {
        try {
            HaLabResult r = new HaLab(o, System.out).run();
            System.out.print(r.toTable());
            System.out.println(r.toJson());
            return r;
        } finally {
            assertThat(LabTest.namespacesStartingWith(o.prefix())).as("namespaces left behind").isEmpty();
        }
    }

    @Test
    void vrrpWithConntrackdOnNftablesKeepsEstablishedConnectionsWhenR1sLinkGoesDown() throws Exception {
        HaLabResult r = run(new HaLab.Options(Ha.Mode.VRRP, BackendKind.NFTABLES, true, HaLab.Failure.LINKDOWN, 50, prefix()));
        assertThat(r.established().total()).isEqualTo(50);
        assertThat(r.established().survived()).as("established connections that survived").isGreaterThanOrEqualTo(48);
        assertThat(r.failoverMs()).as("failover").isNotNull().isLessThan(3000L);
        assertThat(r.newOk()).isGreaterThan(r.newTried() / 2);
        assertThat(r.brokenAfterReturn()).as("connections broken when r1 came back").isZero();
        assertThat(r.r1Ready()).as("r1, back as backup, has its rules loaded and the hold on").isTrue();
    }

    @Test
    void vrrpWithConntrackdOnIptablesBehindAFirewallKeepsEstablishedConnectionsWhenR1sKeepalivedIsKilled() throws Exception {
        // With the firewall dropping input and forward: the pair's adverts and sync pass by nflb's own rules.
        HaLabResult r = run(new HaLab.Options(Ha.Mode.VRRP, BackendKind.IPTABLES, true, HaLab.Failure.SIGKILL, 50, prefix(), true));
        assertThat(r.established().survived()).as("established connections that survived").isGreaterThanOrEqualTo(48);
        assertThat(r.failoverMs()).as("failover").isNotNull().isLessThan(3000L);
        assertThat(r.brokenAfterReturn()).as("connections broken when r1's keepalived came back").isZero();
    }

    @Test
    void vrrpWithoutConntrackdResetsRoundRobinConnectionsAndSaysSo() throws Exception {
        HaLabResult r = run(new HaLab.Options(Ha.Mode.VRRP, BackendKind.NFTABLES, false, HaLab.Failure.LINKDOWN, 50, prefix()));
        // Without state, r2 schedules the moved flows afresh: round-robin sends 2 of 3 to another backend, which resets them.
        assertThat(r.established().survived()).as("survivors without state sync").isLessThan(45);
        assertThat(r.established().resets()).isGreaterThan(0);
        assertThat(r.failoverMs()).isNotNull().isLessThan(3000L);
    }

    @Test
    void ecmpKeepsR1sFlowsOnTheirBackendsThroughR2WithoutStateAndLeavesR2sAlone() throws Exception {
        HaLabResult r = run(new HaLab.Options(Ha.Mode.ECMP, BackendKind.NFTABLES, false, HaLab.Failure.ROUTER_DOWN, 100, prefix()));
        assertThat(r.r1Flows().total()).as("flows that crossed r1").isGreaterThan(10);
        assertThat(r.r1Flows().keptBackend()).as("r1's flows that kept their backend through r2")
                .isGreaterThanOrEqualTo(r.r1Flows().total() - 2);
        assertThat(r.r2Flows().total()).isGreaterThan(5);
        assertThat(r.r2Flows().survived()).as("r2's flows").isEqualTo(r.r2Flows().total());
        assertThat(r.brokenAfterReturn()).isZero();
    }
}
