package io.nflb.daemon;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.Dataplane;
import io.nflb.dataplane.iptables.IptablesNames;
import io.nflb.model.Config;
import io.nflb.testing.FakeKernel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;


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
        assertThat(r.sync().outcome().changed()).isTrue();
        assertThat(rules()).contains(ep("192.168.2.2:80"), ep("192.168.2.3:80"), ep("192.168.2.4:80"), ep("192.168.2.5:53"))
                .doesNotContain("REJECT", "rej4 {\n\t\ttype ipv4_addr . inet_proto . inet_service\n\t\telements");
        int commits = kernel.committed().size();
        // A restarted daemon: same config, same kernel, nothing sent.
        Reconciler again = new Reconciler(kernel.dataplane(), config(YAML));
        assertThat(again.sync().outcome().changed()).isFalse();
        assertThat(kernel.committed()).hasSize(commits);
    }

    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void aBackendLeavesOnTheFallthFailureTouchingOnlyItsServiceAndComesBackAfterRise(FakeKernel.Language language) throws Exception {
        use(language);
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.sync();
        int commits = kernel.committed().size();
        assertThat(r.report(web(1), false)).isFalse();
        assertThat(kernel.committed()).hasSize(commits);
        assertThat(r.report(web(1), false)).isTrue();
        assertThat(r.status(web(1))).contains(BackendState.Status.DOWN);
        assertThat(kernel.committed()).as("a result only records").hasSize(commits);
        assertThat(r.pending()).isTrue();
        r.sync();
        assertThat(r.pending()).isFalse();
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
        assertThat(r.pending()).isFalse();
        assertThat(r.report(web(1), true)).isTrue();
        r.sync();
        assertThat(rules()).contains(ep("192.168.2.3:80"));
    }

    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void aServiceWithNoUsableBackendRejectsNewConnectionsInTheFilterHooks(FakeKernel.Language language) throws Exception {
        use(language);
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.sync();
        for (int i = 0; i < 3; i++) {
            r.report(web(i), false);
            r.report(web(i), false);
        }
        int commits = kernel.committed().size();
        assertThat(r.sync().rejecting()).containsExactly("web");
        assertThat(kernel.committed()).as("three backends down, one transaction").hasSize(commits + 1);
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
        r.sync();
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
        r.sync();
        assertThat(r.rejecting()).isEmpty();
        assertThat(dataplane.rejecting()).isEmpty();
        assertThat(rules()).doesNotContain("NFLB-REJECT", "comment \"web\" }").contains(ep("192.168.2.2:80"));
    }

    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void drainingTakesABackendOutOfSelectionAndBackWithoutWaitingForChecks(FakeKernel.Language language) throws Exception {
        use(language);
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.sync();
        long v = r.admin(web(2), BackendState.Admin.DRAINING);
        assertThat(r.status(web(2))).contains(BackendState.Status.DRAINING);
        assertThat(r.sync().version()).isGreaterThanOrEqualTo(v);
        assertThat(r.appliedVersion()).isEqualTo(v);
        assertThat(rules()).doesNotContain(ep("192.168.2.4:80"));
        r.admin(web(2), BackendState.Admin.NORMAL);
        r.sync();
        assertThat(rules()).contains(ep("192.168.2.4:80"));
    }

    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void reloadKeepsVerdictsStartsNewCheckedBackendsDownAndIgnoresRemovedOnes(FakeKernel.Language language) throws Exception {
        use(language);
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.sync();
        r.report(web(0), false);
        r.report(web(0), false);
        r.sync();
        String next = YAML.replace("- {address: 192.168.2.4}", "- {address: 192.168.2.7}");
        assertThat(r.reload(config(next)).changed()).isTrue();
        assertThat(r.status(web(0))).contains(BackendState.Status.DOWN);
        assertThat(r.status(web(2))).isEmpty();
        assertThat(r.status(web(5))).contains(BackendState.Status.DOWN);
        assertThat(rules()).doesNotContain(ep("192.168.2.4:80"), ep("192.168.2.7:80"), ep("192.168.2.2:80")).contains(ep("192.168.2.3:80"));
        assertThat(r.report(web(2), false)).isFalse();
        r.report(web(5), true);
        r.report(web(5), true);
        r.sync();
        assertThat(rules()).contains(ep("192.168.2.7:80"));
        assertThat(r.probes()).extracting(Probe::endpoint).contains("192.168.2.7:80").doesNotContain("192.168.2.4:80");
    }

    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void aReloadTheKernelRefusesLeavesTheRunningConfigAndRules(FakeKernel.Language language) throws Exception {
        use(language);
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.sync();
        String before = rules();
        Config old = r.config();
        kernel.refuseLinesContaining("192.168.2.9");
        assertThatThrownBy(() -> r.reload(config(YAML.replace("192.168.2.6", "192.168.2.9")))).isInstanceOf(RuntimeException.class);
        assertThat(r.config()).isSameAs(old);
        assertThat(rules()).isEqualTo(before);
        assertThat(r.probes()).as("the old checks stay").extracting(Probe::endpoint).doesNotContain("192.168.2.9:8080");
        kernel.refuseLinesContaining(null);
        r.report(web(0), false);
        r.report(web(0), false);
        r.sync();
        assertThat(rules()).doesNotContain(ep("192.168.2.2:80")).contains(ep("192.168.2.6:8080"));
    }

    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void aRefusedSyncStaysPendingAndTheNextSyncAppliesIt(FakeKernel.Language language) throws Exception {
        use(language);
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.sync();
        kernel.refuseLinesContaining(language == FakeKernel.Language.IPTABLES ? "NFLB-SVC-web" : "svc_web");
        r.report(web(1), false);
        r.report(web(1), false);
        assertThatThrownBy(r::sync).isInstanceOf(RuntimeException.class);
        assertThat(r.pending()).isTrue();
        assertThat(rules()).contains(ep("192.168.2.3:80"));
        kernel.refuseLinesContaining(null);
        r.sync();
        assertThat(r.pending()).isFalse();
        assertThat(rules()).doesNotContain(ep("192.168.2.3:80"));
    }

    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void oneProbePerEndpointCountsForEveryServiceThatUsesIt(FakeKernel.Language language) throws Exception {
        use(language);
        StringBuilder yaml = new StringBuilder("services:\n");
        for (int i = 0; i < 50; i++) {
            yaml.append("  - name: s").append(i).append("\n    listen: {address: 10.0.1.").append(i + 1).append(", port: 80}\n")
                    .append("    health: {type: tcp, interval: 200ms, timeout: 100ms, rise: 1, fall: ").append(1 + i % 2).append("}\n")
                    .append("    backends: [{address: 192.168.2.2}, {address: 192.168.2.3}]\n");
        }
        Reconciler r = new Reconciler(dataplane, config(yaml.toString()));
        r.sync();
        assertThat(r.probes()).as("rise and fall are not part of a probe").hasSize(2);
        Probe first = r.probes().iterator().next();
        assertThat(r.report(first, false)).as("fall 1: half of the services flip").hasSize(25);
        assertThat(r.report(first, false)).as("fall 2: the others").hasSize(25);
        int commits = kernel.committed().size();
        r.sync();
        assertThat(kernel.committed()).as("50 flips, one transaction").hasSize(commits + 1);
        assertThat(rules()).doesNotContain(ep("192.168.2.2:80")).contains(ep("192.168.2.3:80"));
    }

    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void verifyRepairsATableSomeoneElseFlushedAndSaysSo(FakeKernel.Language language) throws Exception {
        use(language);
        Reconciler r = new Reconciler(dataplane, config(YAML));
        r.sync();
        String good = rules();
        assertThat(r.verify().outcome().changed()).as("nothing to repair").isFalse();
        if (language == FakeKernel.Language.IPTABLES) kernel.iptables().restore("*nat\n-F NFLB-SERVICES\nCOMMIT\n");
        else kernel.nft().transaction("delete table inet nflb\n");
        assertThat(rules()).isNotEqualTo(good);
        Reconciler.Synced repaired = r.verify();
        assertThat(repaired.outcome().changed()).isTrue();
        if (language == FakeKernel.Language.NFTABLES) assertThat(repaired.outcome().summary()).contains("table missing");
        assertThat(rules()).isEqualTo(good);
    }

    /** Plans handed to a dataplane, which applies nothing. */
    private static final class Recording implements Dataplane {
        final java.util.List<io.nflb.plan.Plan> plans = new java.util.ArrayList<>();

        @Override public String name() { return "recording"; }
        @Override public String plan(io.nflb.plan.Plan plan, boolean live) { return ""; }
        @Override public Outcome apply(io.nflb.plan.Plan plan) { plans.add(plan); return new Outcome(true, "", ""); }
        @Override public Outcome verify(io.nflb.plan.Plan plan) { return apply(plan); }
        @Override public java.util.List<String> enableForwarding(java.util.List<io.nflb.model.Service> services) { return java.util.List.of(); }
        @Override public Outcome flush() { return new Outcome(false, "", ""); }
        @Override public boolean installed() { return true; }
        @Override public String diff(io.nflb.plan.Plan plan, String source) { return ""; }
        @Override public io.nflb.explain.ShareReport explain(io.nflb.plan.Plan plan) { throw new UnsupportedOperationException(); }
        @Override public java.util.List<BackendTraffic> traffic() { return java.util.List.of(); }
        @Override public java.util.List<String> rejecting() { return java.util.List.of(); }
    }

    @org.junit.jupiter.api.Test
    void aFlipPlansItsServiceAgainAndHandsTheOthersOverAsTheSameObjects() throws Exception {
        Recording dp = new Recording();
        java.util.List<String> left = new java.util.ArrayList<>();
        Reconciler r = new Reconciler(dp, config(YAML), new Reconciler.Observer() {
            @Override
            public void udpBackendLeft(io.nflb.model.Service service, io.nflb.model.Backend backend) {
                left.add(service.name() + " " + backend.endpoint());
            }
        });
        r.sync();
        r.report(web(1), false);
        r.report(web(1), false);
        r.sync();
        var first = dp.plans.get(0).services();
        var second = dp.plans.get(1).services();
        assertThat(second.get(0)).as("web, planned again").isNotSameAs(first.get(0));
        assertThat(second.get(0).backends()).extracting(b -> b.backend().endpoint()).containsExactly("192.168.2.2:80", "192.168.2.4:80");
        assertThat(second.get(1)).as("dns").isSameAs(first.get(1));
        assertThat(second.get(2)).as("api").isSameAs(first.get(2));
        assertThat(left).as("web is TCP").isEmpty();

        // Drained and handed back before a sync: nothing to plan, the same object again.
        r.admin(web(0), BackendState.Admin.DRAINING);
        r.admin(web(0), BackendState.Admin.NORMAL);
        r.sync();
        assertThat(dp.plans.get(2).services().get(0)).isSameAs(second.get(0));

        r.admin(new BackendKey("dns", "192.168.2.5:53"), BackendState.Admin.DISABLED);
        r.sync();
        assertThat(left).containsExactly("dns 192.168.2.5:53");
        assertThat(dp.plans.get(3).services().get(0)).isSameAs(second.get(0));
        assertThat(dp.plans.get(3).services().get(1).rejects()).isTrue();
    }
}
