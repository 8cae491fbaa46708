package io.nflb.dataplane.iptables;

import io.nflb.dataplane.iptables.IptablesRuleset.Jump;
import io.nflb.host.KernelException;
import io.nflb.model.IpAddress.Family;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** IptablesKernel's whole apply/flush/counters cycle against the in-memory iptables. */
class IptablesKernelFakeTest {

    private static String golden(String name) throws IOException {
        return Files.readString(Path.of("src/test/resources/golden/kernel/iptables", name));
    }

    @Test
    void secondApplyIsANoOpAndRunsNothing() {
        FakeIptablesTool fake = new FakeIptablesTool(Family.V4);
        IptablesKernel kernel = new IptablesKernel(fake);

        IptablesTransaction first = kernel.apply(Rulesets.web(true));
        String afterFirst = kernel.save();
        IptablesTransaction second = kernel.apply(Rulesets.web(true));

        assertThat(first.isEmpty()).isFalse();
        assertThat(first.chainsWritten()).isEqualTo(8);
        assertThat(first.jumpsInserted()).isEqualTo(3);
        assertThat(second.isEmpty()).isTrue();
        assertThat(second.text()).isEmpty();
        assertThat(kernel.save()).isEqualTo(afterFirst);
        assertThat(fake.committed()).hasSize(1);
    }

    @Test
    void anApplyRunsTheRestoreOnceAndARefusalChangesNothing() {
        FakeIptablesTool fake = new FakeIptablesTool(Family.V4);
        IptablesKernel kernel = new IptablesKernel(fake);
        kernel.apply(Rulesets.web(true));
        assertThat(fake.restores()).as("no --test run before the real one").isEqualTo(1);
        String before = kernel.save();
        fake.refuseLinesContaining("NFLB-SVC-db");
        assertThatThrownBy(() -> kernel.apply(Rulesets.web(false))).isInstanceOf(KernelException.class);
        assertThat(fake.restores()).isEqualTo(2);
        assertThat(kernel.save()).isEqualTo(before);
    }

    /** Rules loaded by an nflb with a chain per backend become today's layout in one transaction. */
    @Test
    void anUpgradeFromPerBackendChainsIsOneTransaction() throws IOException {
        String old = Files.readString(Path.of("src/test/resources/kernel/iptables-per-backend-chains.rules"));
        FakeIptablesTool fake = new FakeIptablesTool(Family.V4);
        fake.restore(old);
        IptablesKernel kernel = new IptablesKernel(fake);
        IptablesRuleset wanted = IptablesRenderer.render(Fixtures.goldens().get("two-services"), Family.V4);

        IptablesTransaction tx = kernel.apply(wanted);

        assertThat(fake.restores()).isEqualTo(2);
        assertThat(tx.chainsRemoved()).isEqualTo(5);
        assertThat(tx.chainsWritten()).as("the two service chains").isEqualTo(2);
        assertThat(kernel.save()).doesNotContain("NFLB-SEP-");
        assertThat(kernel.apply(wanted).isEmpty()).isTrue();
    }

    @Test
    void removingAServiceDeletesItsChains() {
        IptablesKernel kernel = new IptablesKernel(new FakeIptablesTool(Family.V4));
        kernel.apply(Rulesets.web(true));

        IptablesTransaction r = kernel.apply(Rulesets.web(false));

        assertThat(r.chainsRemoved()).isEqualTo(2);
        assertThat(r.chainsWritten()).isEqualTo(1);
        assertThat(kernel.save()).doesNotContain("NFLB-SVC-db").doesNotContain("NFLB-SEP-db-0").contains("NFLB-SVC-web");
    }

    @Test
    void refusedTransactionChangesNothingAndNamesTheLine() {
        FakeIptablesTool fake = new FakeIptablesTool(Family.V4);
        IptablesKernel kernel = new IptablesKernel(fake);
        kernel.apply(Rulesets.web(true));
        String before = kernel.save();

        assertThatThrownBy(() -> kernel.apply(Rulesets.web(false, "2")))
                .isInstanceOfSatisfying(KernelException.class, e -> {
                    // *nat, four chain declarations, the NFLB-SERVICES rule, then the bad one
                    assertThat(e.line()).isEqualTo(7);
                    assertThat(e.lineText()).contains("--probability 2 -j NFLB-SEP-web-0");
                    assertThat(e.getMessage()).contains("at line 7").contains("probability");
                });
        assertThat(kernel.save()).isEqualTo(before);
        assertThat(fake.committed()).hasSize(1);
    }

    @Test
    void aRefusalOfTheRealRunAfterAPassingTestLeavesTheKernelAsItWas() {
        FakeIptablesTool fake = new FakeIptablesTool(Family.V4);
        IptablesKernel kernel = new IptablesKernel(fake);
        fake.refuseLinesContaining("-X NFLB-SVC-db");
        kernel.apply(Rulesets.web(true));
        String before = kernel.save();

        assertThatThrownBy(() -> kernel.apply(Rulesets.web(false))).isInstanceOf(KernelException.class)
                .hasMessageContaining("-X NFLB-SVC-db");
        assertThat(kernel.save()).isEqualTo(before);
    }

    @Test
    void aKernelRefusalInALaterTablePutsTheEarlierTablesBack() {
        FakeIptablesTool fake = new FakeIptablesTool(Family.V4);
        IptablesKernel kernel = new IptablesKernel(fake);
        kernel.apply(Rulesets.web(true));
        String before = kernel.save();
        fake.refuseLinesContaining("-A NFLB-FORWARD -j DNAT");

        assertThatThrownBy(() -> kernel.apply(Rulesets.withExtraRule(Rulesets.web(false), "filter", "-A NFLB-FORWARD -j DNAT --to-destination 10.99.0.2")))
                .isInstanceOf(KernelException.class).hasMessageContaining("put back");
        assertThat(kernel.save()).isEqualTo(before);
        // the first apply, the partly committed one, and the one putting nat back
        assertThat(fake.committed()).hasSize(3);
    }

    @Test
    void installedIsWhatApplyWrote() throws IOException {
        IptablesKernel kernel = new IptablesKernel(new FakeIptablesTool(Family.V4, golden("foreign-interleaved.live")));
        IptablesRuleset installed = kernel.installed();

        assertThat(installed.tables()).extracting(IptablesRuleset.Table::name).containsExactly("filter", "nat");
        assertThat(installed.tables().get(1).jumps()).containsExactly(
                new Jump("PREROUTING", Rulesets.PORTALS), new Jump("OUTPUT", Rulesets.PORTALS));
        assertThat(kernel.apply(installed).isEmpty()).isTrue();
        assertThat(kernel.apply(Rulesets.web(true)).isEmpty()).isTrue();
    }

    @Test
    void readBackInAnotherFormIsReported() {
        // The real tool would print "-m tcp" here; the fake keeps the text, so mimic a renderer slip by
        // making the kernel hold something else than asked: a foreign actor rewrote the chain in between.
        IptablesRuleset wanted = new IptablesRuleset(Family.V4, List.of(new IptablesRuleset.Table("nat",
                List.of("NFLB-SERVICES"), List.of(), List.of("-A NFLB-SERVICES -p tcp --dport 80 -j RETURN"))));
        IptablesTool tampering = new IptablesTool() {
            final FakeIptablesTool inner = new FakeIptablesTool(Family.V4);

            public Family family() {
                return Family.V4;
            }

            public String save(boolean counters) {
                return inner.save(counters).replace("-p tcp --dport 80", "-p tcp -m tcp --dport 80");
            }

            public void restore(String input) {
                inner.restore(input);
            }
        };
        assertThatThrownBy(() -> new IptablesKernel(tampering).apply(wanted)).isInstanceOf(KernelException.class)
                .hasMessageContaining("does not print what was wanted")
                .hasMessageContaining("-A NFLB-SERVICES -p tcp --dport 80 -j RETURN");
    }

    @Test
    void flushLeavesForeignRulesExactly() throws IOException {
        String live = golden("flush.live");
        FakeIptablesTool fake = new FakeIptablesTool(Family.V4, live);
        IptablesKernel kernel = new IptablesKernel(fake);
        String foreignOnly = new FakeIptablesTool(Family.V4, live.lines()
                .filter(l -> !l.matches("(^|.*\\] )-A NFLB-.*|^:NFLB-.*|.*-j NFLB-\\S+$")).reduce("", (a, b) -> a + b + "\n")).save(true);

        IptablesTransaction r = kernel.flush();

        assertThat(r.isEmpty()).isFalse();
        assertThat(r.chainsRemoved()).isEqualTo(8);
        assertThat(r.jumpsDeleted()).isEqualTo(3);
        assertThat(fake.save(true)).isEqualTo(foreignOnly).contains("see -j NFLB-SERVICES, not a jump");
        assertThat(kernel.flush().isEmpty()).isTrue();
    }

    @Test
    void countersComeFromNflbRulesOnly() throws IOException {
        IptablesKernel kernel = new IptablesKernel(new FakeIptablesTool(Family.V4, golden("foreign-interleaved.live")));

        List<RuleCounters> counters = kernel.counters();

        assertThat(counters).hasSize(14).allSatisfy(c -> assertThat(c.rule()).contains("NFLB-"));
        assertThat(counters).contains(
                new RuleCounters("nat", "PREROUTING", "-A PREROUTING " + Rulesets.PORTALS,
                        Optional.of("nflb service portals"), 37, 2220),
                new RuleCounters("nat", "NFLB-SEP-web-1",
                        "-A NFLB-SEP-web-1 -p tcp -m comment --comment \"web backend 10.99.0.3:8080\" -m tcp -j DNAT --to-destination 10.99.0.3:8080",
                        Optional.of("web backend 10.99.0.3:8080"), 12, 720));
        assertThat(counters).noneMatch(c -> c.rule().contains("not a jump"));
    }

    @Test
    void rulesetsThatCouldEscapeNflbsChainsAreRefusedBeforeAnythingRuns() {
        FakeIptablesTool fake = new FakeIptablesTool(Family.V4);
        IptablesKernel kernel = new IptablesKernel(fake);
        List<IptablesRuleset.Table> bad = List.of(
                table(List.of("-A INPUT -j ACCEPT"), List.of()),
                table(List.of("-A NFLB-X -j ACCEPT\nCOMMIT\n*filter\n-F INPUT"), List.of()),
                table(List.of("-A NFLB-X -j NFLB-UNDECLARED"), List.of()),
                table(List.of(), List.of(new Jump("NFLB-X", "-j NFLB-X"))),
                table(List.of(), List.of(new Jump("PREROUTING", "-j ACCEPT"))),
                new IptablesRuleset.Table("bogus", List.of("NFLB-X"), List.of(), List.of()));
        for (IptablesRuleset.Table t : bad) {
            assertThatThrownBy(() -> kernel.apply(new IptablesRuleset(Family.V4, List.of(t))))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("invalid iptables ruleset");
        }
        assertThat(fake.committed()).isEmpty();
    }

    private static IptablesRuleset.Table table(List<String> rules, List<Jump> jumps) {
        return new IptablesRuleset.Table("nat", List.of("NFLB-X"), jumps, rules);
    }
}
