package io.nflb.daemon;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.Dataplane;
import io.nflb.dataplane.iptables.IptablesNames;
import io.nflb.model.Config;
import io.nflb.testing.FakeKernel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The daemon's core against an in-memory kernel of each rule language: check results in, rules out. No clocks,
 * no sleeps.
 */
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

    private static Config config(String yaml) throws Exception {
        return ConfigLoader.parse("t.yaml", yaml);
    }

    private static BackendKey web(int i) {
        return new BackendKey("web", "192.168.2." + (i + 2) + ":80");
    }

    private FakeKernel kernel;
    private Dataplane dataplane;

    private void use(FakeKernel.Language language) {
        kernel = new FakeKernel(language);
        dataplane = kernel.dataplane();
    }

    private String rules() {
        return kernel.rules();
    }

    /** How the kernel's rules name a backend of these services' ("192.168.2.3:80"). */
    private String ep(String endpoint) {
        return kernel.endpoint(endpoint);
    }

    private String lastTransaction() {
        return kernel.committed().get(kernel.committed().size() - 1);
    }

    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void startsWithEveryBackendUpAndAdoptsWhatIsAlreadyThere(FakeKernel.Language language) throws Exception {
        use(language);
        Reconciler r = new Reconciler(dataplane, config(YAML));
        assertThat(r.start().changed()).isTrue();
        assertThat(rules()).contains(ep("192.168.2.2:80"), ep("192.168.2.3:80"), ep("192.168.2.4:80"), ep("192.168.2.5:53"))
                .doesNotContain("REJECT", "rej4 {\n\t\ttype ipv4_addr . inet_proto . inet_service\n\t\telements");
        int commits = kernel.committed().size();
        // A restarted daemon: same config, same kernel, nothing sent.
        Reconciler again = new Reconciler(kernel.dataplane(), config(YAML));
        assertThat(again.start().changed()).isFalse();
        assertThat(kernel.committed()).hasSize(commits);
    }

    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void aBackendLeavesOnTheFallthFailureTouchingOnlyItsServiceAndComesBackAfterRise(FakeKernel.Language language) throws Exception {
        use(language);
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.start();
        int commits = kernel.committed().size();
        assertThat(r.report(web(1), false)).isFalse();
        assertThat(kernel.committed()).hasSize(commits);
        assertThat(r.report(web(1), false)).isTrue();
        assertThat(r.status(web(1))).contains(BackendState.Status.DOWN);
        assertThat(rules()).doesNotContain(ep("192.168.2.3:80")).contains(ep("192.168.2.2:80"), ep("192.168.2.4:80"));
        String tx = lastTransaction();
        if (language == FakeKernel.Language.IPTABLES) {
            assertThat(tx).contains(IptablesNames.service("web")).doesNotContain(IptablesNames.service("api"),
                    IptablesNames.service("dns"), IptablesNames.SERVICES + " ", "-A PREROUTING");
        } else {
            // A difference: web's chain and its slots only; nothing of the other services, no table replaced.
            assertThat(tx).contains("svc_web", "10.0.0.1 . 80 . ").doesNotContain("8080", " . 53", "table inet nflb {", "prerouting");
        }

        assertThat(r.report(web(1), true)).isFalse();
        assertThat(rules()).doesNotContain(ep("192.168.2.3:80"));
        assertThat(r.report(web(1), true)).isTrue();
        assertThat(rules()).contains(ep("192.168.2.3:80"));
    }

    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void aServiceWithNoUsableBackendRejectsNewConnectionsInTheFilterHooks(FakeKernel.Language language) throws Exception {
        use(language);
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.start();
        for (int i = 0; i < 3; i++) {
            r.report(web(i), false);
            r.report(web(i), false);
        }
        assertThat(r.rejecting()).containsExactly("web");
        assertThat(dataplane.rejecting()).containsExactly("web");
        if (language == FakeKernel.Language.IPTABLES) {
            assertThat(rules()).contains("-A INPUT -m comment --comment \"nflb services without backends\" -j NFLB-REJECT",
                    "-A FORWARD -m comment --comment \"nflb services without backends\" -j NFLB-REJECT",
                    "-A NFLB-REJECT -d 10.0.0.1/32 -p tcp -m comment --comment \"web has no usable backend\""
                            + " -m conntrack --ctstate NEW -m tcp --dport 80 -j REJECT --reject-with tcp-reset")
                    .doesNotContain("-j DNAT --to-destination 192.168.2.2");
            assertThat(rules()).contains("-A NFLB-SERVICES -d 10.0.0.1/32 -p tcp -m comment --comment \"web portal\"");
        } else {
            assertThat(rules()).contains("10.0.0.1 . tcp . 80 comment \"web\"").doesNotContain(ep("192.168.2.2:80"), "svc_web");
        }

        r.admin(new BackendKey("dns", "192.168.2.5:53"), BackendState.Admin.DISABLED);
        assertThat(r.rejecting()).containsExactly("web", "dns");
        assertThat(dataplane.rejecting()).containsExactlyInAnyOrder("web", "dns");
        if (language == FakeKernel.Language.IPTABLES) {
            assertThat(rules()).contains("-m udp --dport 53 -j REJECT --reject-with icmp-port-unreachable");
        } else {
            assertThat(rules()).contains("10.0.0.1 . udp . 53 comment \"dns\"");
        }

        r.report(web(0), true);
        r.report(web(0), true);
        r.admin(new BackendKey("dns", "192.168.2.5:53"), BackendState.Admin.NORMAL);
        assertThat(r.rejecting()).isEmpty();
        assertThat(dataplane.rejecting()).isEmpty();
        assertThat(rules()).doesNotContain("NFLB-REJECT", "comment \"web\" }").contains(ep("192.168.2.2:80"));
    }

    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void drainingTakesABackendOutOfSelectionAndBackWithoutWaitingForChecks(FakeKernel.Language language) throws Exception {
        use(language);
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.start();
        r.admin(web(2), BackendState.Admin.DRAINING);
        assertThat(r.status(web(2))).contains(BackendState.Status.DRAINING);
        assertThat(rules()).doesNotContain(ep("192.168.2.4:80"));
        r.admin(web(2), BackendState.Admin.NORMAL);
        assertThat(rules()).contains(ep("192.168.2.4:80"));
    }

    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void reloadKeepsVerdictsStartsNewCheckedBackendsDownAndIgnoresRemovedOnes(FakeKernel.Language language) throws Exception {
        use(language);
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.start();
        r.report(web(0), false);
        r.report(web(0), false);
        String next = YAML.replace("- {address: 192.168.2.4}", "- {address: 192.168.2.7}");
        assertThat(r.reload(config(next)).changed()).isTrue();
        assertThat(r.status(web(0))).contains(BackendState.Status.DOWN);
        assertThat(r.status(web(2))).isEmpty();
        assertThat(r.status(web(5))).contains(BackendState.Status.DOWN);
        assertThat(rules()).doesNotContain(ep("192.168.2.4:80"), ep("192.168.2.7:80"), ep("192.168.2.2:80")).contains(ep("192.168.2.3:80"));
        assertThat(r.report(web(2), false)).isFalse();
        r.report(web(5), true);
        r.report(web(5), true);
        assertThat(rules()).contains(ep("192.168.2.7:80"));
        assertThat(r.targets()).extracting(HealthChecker.Target::key).contains(web(5)).doesNotContain(web(2));
    }

    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void aReloadTheKernelRefusesLeavesTheRunningConfigAndRules(FakeKernel.Language language) throws Exception {
        use(language);
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.start();
        String before = rules();
        Config old = r.config();
        kernel.refuseLinesContaining("192.168.2.9");
        assertThatThrownBy(() -> r.reload(config(YAML.replace("192.168.2.6", "192.168.2.9")))).isInstanceOf(RuntimeException.class);
        assertThat(r.config()).isSameAs(old);
        assertThat(rules()).isEqualTo(before);
        kernel.refuseLinesContaining(null);
        r.report(web(0), false);
        r.report(web(0), false);
        assertThat(rules()).doesNotContain(ep("192.168.2.2:80")).contains(ep("192.168.2.6:8080"));
    }

    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void aFailedApplyIsRetriedOnTheNextResult(FakeKernel.Language language) throws Exception {
        use(language);
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.start();
        kernel.refuseLinesContaining(language == FakeKernel.Language.IPTABLES ? "NFLB-SVC-web" : "svc_web");
        r.report(web(1), false);
        r.report(web(1), false); // flips; the kernel refuses
        assertThat(rules()).contains(ep("192.168.2.3:80"));
        kernel.refuseLinesContaining(null);
        r.report(web(0), true); // nothing flips, but the pending change goes in
        assertThat(rules()).doesNotContain(ep("192.168.2.3:80"));
    }

    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void checkerTicksDriveTheReconcilerThroughItsProbe(FakeKernel.Language language) throws Exception {
        use(language);
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
        assertThat(rules()).contains(ep("192.168.2.2:80"));
        ticker.tickAll();
        assertThat(rules()).doesNotContain(ep("192.168.2.2:80"));
        // A reload that drops a backend stops its check.
        r.reload(config(YAML.replace("      - {address: 192.168.2.4}\n", "")));
        checker.update(r.targets());
        assertThat(checker.size()).isEqualTo(3);
        assertThat(ticker.live()).isEqualTo(3);
        checker.close();
        assertThat(ticker.live()).isZero();
    }

    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void aHungCheckNeverDelaysAnotherBackendsCheck(FakeKernel.Language language) throws Exception {
        use(language);
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.start();
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch otherDown = new CountDownLatch(1);
        HealthProbe probe = t -> {
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
            assertThat(rules()).doesNotContain(ep("192.168.2.3:80")).contains(ep("192.168.2.2:80"));
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
