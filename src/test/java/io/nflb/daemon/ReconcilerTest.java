package io.nflb.daemon;

import io.nflb.config.ConfigLoader;
import io.nflb.kernel.FakeIptablesTool;
import io.nflb.kernel.IptablesKernel;
import io.nflb.model.Config;
import io.nflb.render.ChainNames;
import io.nflb.render.IptablesRuleset.Family;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The daemon's core against the in-memory iptables: check results in, rules out. No clocks, no sleeps. */
class ReconcilerTest {

    private static final String YAML = """
            services:
              - name: web
                listen: {address: 10.0.0.1, port: 80}
                health: {type: tcp, interval: 200ms, timeout: 100ms, rise: 2, fall: 2}
                backends:
                  - {address: 192.168.2.2}
                  - {address: 192.168.2.3}
                  - {address: 192.168.2.4}
              - name: dns
                protocol: udp
                listen: {address: 10.0.0.1, port: 53}
                backends: [{address: 192.168.2.5, health: {type: exec, command: [/bin/true]}}]
              - name: api
                listen: {address: 10.0.0.1, port: 8080}
                backends: [{address: 192.168.2.6}]
            """;

    private final FakeIptablesTool tool = new FakeIptablesTool(Family.IPV4);
    private final Dataplane dataplane = new IptablesDataplane(List.of(new IptablesKernel(tool)));

    private static Config config(String yaml) throws Exception {
        return ConfigLoader.parse("t.yaml", yaml);
    }

    private static BackendKey web(int i) {
        return new BackendKey("web", "192.168.2." + (i + 2) + ":80");
    }

    private String rules() {
        return tool.save(false);
    }

    private String lastTransaction() {
        return tool.committed().get(tool.committed().size() - 1);
    }

    @Test
    void startsWithEveryBackendUpAndAdoptsWhatIsAlreadyThere() throws Exception {
        Reconciler r = new Reconciler(dataplane, config(YAML));
        assertThat(r.start().changed()).isTrue();
        assertThat(rules()).contains("--to-destination 192.168.2.2:80", "--to-destination 192.168.2.3:80",
                "--to-destination 192.168.2.4:80", "--to-destination 192.168.2.5:53").doesNotContain("REJECT");
        int commits = tool.committed().size();
        // A restarted daemon: same config, same kernel, nothing sent.
        Reconciler again = new Reconciler(dataplane, config(YAML));
        assertThat(again.start().changed()).isFalse();
        assertThat(tool.committed()).hasSize(commits);
    }

    @Test
    void aBackendLeavesOnTheFallthFailureTouchingOnlyItsServiceAndComesBackAfterRise() throws Exception {
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.start();
        int commits = tool.committed().size();
        assertThat(r.report(web(1), false)).isFalse();
        assertThat(tool.committed()).hasSize(commits);
        assertThat(r.report(web(1), false)).isTrue();
        assertThat(r.status(web(1))).contains(BackendState.Status.DOWN);
        assertThat(rules()).doesNotContain("192.168.2.3:80").contains("192.168.2.2:80", "192.168.2.4:80");
        String tx = lastTransaction();
        assertThat(tx).contains(ChainNames.service("web")).doesNotContain(ChainNames.service("api"),
                ChainNames.service("dns"), ChainNames.SERVICES + " ", "-A PREROUTING");

        assertThat(r.report(web(1), true)).isFalse();
        assertThat(rules()).doesNotContain("192.168.2.3:80");
        assertThat(r.report(web(1), true)).isTrue();
        assertThat(rules()).contains("--to-destination 192.168.2.3:80");
    }

    @Test
    void aServiceWithNoUsableBackendRejectsNewConnectionsInTheFilterTable() throws Exception {
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.start();
        for (int i = 0; i < 3; i++) {
            r.report(web(i), false);
            r.report(web(i), false);
        }
        assertThat(r.rejecting()).containsExactly("web");
        assertThat(rules()).contains("-A INPUT -m comment --comment \"nflb services without backends\" -j NFLB-REJECT",
                "-A FORWARD -m comment --comment \"nflb services without backends\" -j NFLB-REJECT",
                "-A NFLB-REJECT -d 10.0.0.1/32 -p tcp -m comment --comment \"web has no usable backend\""
                        + " -m conntrack --ctstate NEW -m tcp --dport 80 -j REJECT --reject-with tcp-reset")
                .doesNotContain("-j DNAT --to-destination 192.168.2.2");
        assertThat(rules()).contains("-A NFLB-SERVICES -d 10.0.0.1/32 -p tcp -m comment --comment \"web portal\"");

        r.admin(new BackendKey("dns", "192.168.2.5:53"), BackendState.Admin.DISABLED);
        assertThat(r.rejecting()).containsExactly("web", "dns");
        assertThat(dataplane.rejecting()).containsExactlyInAnyOrder("web", "dns");
        assertThat(rules()).contains("-m udp --dport 53 -j REJECT --reject-with icmp-port-unreachable");

        r.report(web(0), true);
        r.report(web(0), true);
        r.admin(new BackendKey("dns", "192.168.2.5:53"), BackendState.Admin.NORMAL);
        assertThat(r.rejecting()).isEmpty();
        assertThat(dataplane.rejecting()).isEmpty();
        assertThat(rules()).doesNotContain("NFLB-REJECT").contains("--to-destination 192.168.2.2:80");
    }

    @Test
    void drainingTakesABackendOutOfSelectionAndBackWithoutWaitingForChecks() throws Exception {
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.start();
        r.admin(web(2), BackendState.Admin.DRAINING);
        assertThat(r.status(web(2))).contains(BackendState.Status.DRAINING);
        assertThat(rules()).doesNotContain("192.168.2.4:80");
        r.admin(web(2), BackendState.Admin.NORMAL);
        assertThat(rules()).contains("192.168.2.4:80");
    }

    @Test
    void reloadKeepsVerdictsStartsNewCheckedBackendsDownAndIgnoresRemovedOnes() throws Exception {
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.start();
        r.report(web(0), false);
        r.report(web(0), false);
        String next = YAML.replace("- {address: 192.168.2.4}", "- {address: 192.168.2.7}");
        assertThat(r.reload(config(next)).changed()).isTrue();
        assertThat(r.status(web(0))).contains(BackendState.Status.DOWN);
        assertThat(r.status(web(2))).isEmpty();
        assertThat(r.status(web(5))).contains(BackendState.Status.DOWN);
        assertThat(rules()).doesNotContain("192.168.2.4:80", "192.168.2.7:80", "192.168.2.2:80").contains("192.168.2.3:80");
        assertThat(r.report(web(2), false)).isFalse();
        r.report(web(5), true);
        r.report(web(5), true);
        assertThat(rules()).contains("--to-destination 192.168.2.7:80");
        assertThat(r.targets()).extracting(HealthChecker.Target::key).contains(web(5)).doesNotContain(web(2));
    }

    @Test
    void aReloadTheKernelRefusesLeavesTheRunningConfigAndRules() throws Exception {
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.start();
        String before = rules();
        Config old = r.config();
        tool.refuseLinesContaining("192.168.2.9");
        assertThatThrownBy(() -> r.reload(config(YAML.replace("192.168.2.6", "192.168.2.9")))).isInstanceOf(RuntimeException.class);
        assertThat(r.config()).isSameAs(old);
        assertThat(rules()).isEqualTo(before);
        tool.refuseLinesContaining(null);
        r.report(web(0), false);
        r.report(web(0), false);
        assertThat(rules()).doesNotContain("192.168.2.2:80").contains("192.168.2.6:8080");
    }

    @Test
    void aFailedApplyIsRetriedOnTheNextResult() throws Exception {
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.start();
        tool.refuseLinesContaining("NFLB-SVC-web");
        r.report(web(1), false);
        r.report(web(1), false); // flips; the kernel refuses
        assertThat(rules()).contains("192.168.2.3:80");
        tool.refuseLinesContaining(null);
        r.report(web(0), true); // nothing flips, but the pending change goes in
        assertThat(rules()).doesNotContain("192.168.2.3:80");
    }

    @Test
    void checkerTicksDriveTheReconcilerThroughItsProbe() throws Exception {
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.start();
        ManualTicker ticker = new ManualTicker();
        boolean[] healthy = {true, true, true};
        HealthChecker checker = new HealthChecker(ticker, Runnable::run,
                t -> t.service().equals("web") ? healthy[t.backend().address().toString().charAt(10) - '2'] : true,
                r::report);
        checker.update(r.targets());
        assertThat(checker.size()).isEqualTo(4); // web x3 and dns's exec; api is unchecked
        assertThat(ticker.intervals).containsOnly(java.time.Duration.ofMillis(200), java.time.Duration.ofSeconds(2));
        healthy[0] = false;
        ticker.tickAll();
        assertThat(rules()).contains("192.168.2.2:80");
        ticker.tickAll();
        assertThat(rules()).doesNotContain("192.168.2.2:80");
        // A reload that drops a backend stops its check.
        r.reload(config(YAML.replace("      - {address: 192.168.2.4}\n", "")));
        checker.update(r.targets());
        assertThat(checker.size()).isEqualTo(3);
        assertThat(ticker.live()).isEqualTo(3);
        checker.close();
        assertThat(ticker.live()).isZero();
    }

    @Test
    void aHungCheckNeverDelaysAnotherBackendsCheck() throws Exception {
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.start();
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch otherDown = new CountDownLatch(1);
        HealthChecker.Probe probe = t -> {
            if (t.key().equals(web(0))) {
                release.await(30, TimeUnit.SECONDS); // hangs (past its own timeout) until the test ends
                return true;
            }
            return !t.key().equals(web(1));
        };
        try (HealthChecker checker = HealthChecker.standard(probe, (key, ok) -> {
            r.report(key, ok);
            if (r.status(web(1)).orElseThrow() == BackendState.Status.DOWN) otherDown.countDown();
        })) {
            checker.update(r.targets());
            assertThat(otherDown.await(10, TimeUnit.SECONDS)).as("web(1) marked down while web(0)'s check hangs").isTrue();
            assertThat(rules()).doesNotContain("192.168.2.3:80").contains("192.168.2.2:80");
        } finally {
            release.countDown();
        }
    }

    /** Ticks when told to. */
    static final class ManualTicker implements HealthChecker.Ticker {
        final List<java.time.Duration> intervals = new ArrayList<>();
        private final List<Runnable> ticks = new ArrayList<>();
        private final List<boolean[]> alive = new ArrayList<>();

        @Override
        public Runnable every(java.time.Duration interval, Runnable tick) {
            boolean[] on = {true};
            intervals.add(interval);
            ticks.add(tick);
            alive.add(on);
            return () -> on[0] = false;
        }

        void tickAll() {
            for (int i = 0; i < ticks.size(); i++) {
                if (alive.get(i)[0]) ticks.get(i).run();
            }
        }

        int live() {
            return (int) alive.stream().filter(a -> a[0]).count();
        }
    }
}
