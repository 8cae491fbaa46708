package io.nflb.lint;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.iptables.IptablesRenderer;
import io.nflb.model.IpAddress;
import io.nflb.plan.Planner;
import io.nflb.plan.Rational;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class LinterTest {

    /** The tutorial's rules as iptables-save would print them, beside a router firewall that drops forwarding. */
    static final String TUTORIAL = """
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD DROP [0:0]
            :OUTPUT ACCEPT [0:0]
            COMMIT
            *nat
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            -A PREROUTING -i eth1 -p tcp -m tcp --dport 80 -m state --state NEW -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 192.168.2.2:80
            -A PREROUTING -i eth1 -p tcp -m tcp --dport 80 -m state --state NEW -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 192.168.2.3:80
            -A PREROUTING -i eth1 -p tcp -m tcp --dport 8080 -m state --state NEW -m statistic --mode nth --every 2 --packet 0 -j DNAT --to-destination 192.168.2.2:80
            -A PREROUTING -i eth1 -p tcp -m tcp --dport 8080 -m state --state NEW -m statistic --mode nth --every 2 --packet 1 -j DNAT --to-destination 192.168.2.3:80
            COMMIT
            """;

    @Test
    void findsBothOfTheTutorialsBugsWithTheirExactShares() {
        LintReport r = Linter.lint(TUTORIAL);
        assertThat(r.hasErrors()).isTrue();
        assertThat(r.findings()).filteredOn(f -> f.severity() == Finding.Severity.ERROR)
                .extracting(Finding::line, Finding::code)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(11, "independent-probabilities"),
                        org.assertj.core.groups.Tuple.tuple(13, "nth-per-rule-counters"));
        assertThat(r.groups()).hasSize(2);
        for (LintReport.Group g : r.groups()) {
            assertThat(g.shares()).containsEntry("192.168.2.2:80", Rational.of(1, 2)).containsEntry("192.168.2.3:80", Rational.of(1, 4));
            assertThat(g.unbalanced()).isEqualTo(Rational.of(1, 4));
        }
        assertThat(r.groups().get(1).period()).isEqualTo(4);
        assertThat(r.findings()).filteredOn(f -> f.code().equals("state-new-in-nat")).hasSize(4);
        assertThat(r.findings()).filteredOn(f -> f.code().equals("dnat-without-forward")).extracting(Finding::line)
                .containsExactly(11, 12, 13, 14);
    }

    @Test
    void aForwardRuleForDnatedConnectionsIsAPath() {
        String withPath = TUTORIAL.replace(":OUTPUT ACCEPT [0:0]\nCOMMIT\n*nat",
                ":OUTPUT ACCEPT [0:0]\n-A FORWARD -m conntrack --ctstate DNAT -j ACCEPT\nCOMMIT\n*nat");
        assertThat(Linter.lint(withPath).findings()).noneMatch(f -> f.code().equals("dnat-without-forward"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"round-robin", "random"})
    void nflbsOwnRulesAreClean(String scheduler) throws Exception {
        String yaml = """
                services:
                  - name: web
                    listen: {address: 10.0.0.1, port: 80}
                    scheduler: %s
                    backends: [{address: 10.0.1.1, weight: 1}, {address: 10.0.1.2, weight: 2}, {address: 10.0.1.3, weight: 3}]
                """.formatted(scheduler);
        String rules = IptablesRenderer.restoreText(IptablesRenderer.render(Planner.plan(ConfigLoader.parse("t", yaml)),
                IpAddress.Family.V4));
        LintReport r = Linter.lint(rules);
        assertThat(r.findings()).isEmpty();
        assertThat(r.groups()).hasSize(1);
        assertThat(r.groups().get(0).unbalanced()).isEqualTo(Rational.ZERO);
        // Round-robin is exact; random is the kernel's 31-bit probabilities, within 1e-6 of the weights.
        double tolerance = scheduler.equals("round-robin") ? 0 : 1e-6;
        assertThat(r.groups().get(0).shares().get("10.0.1.1:80").toDouble()).isCloseTo(1 / 6.0, org.assertj.core.data.Offset.offset(tolerance + 1e-15));
        assertThat(r.groups().get(0).shares().get("10.0.1.3:80").toDouble()).isCloseTo(1 / 2.0, org.assertj.core.data.Offset.offset(tolerance + 1e-15));
        if (scheduler.equals("round-robin")) assertThat(r.groups().get(0).shares()).containsEntry("10.0.1.1:80", Rational.of(1, 6));
    }

    @Test
    void unreachableRulesAreFoundAndUncertainMatchesNeverShadow() {
        String dump = """
                *filter
                :INPUT DROP [0:0]
                -A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT
                -A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -m comment --comment "again" -j LOG
                -A INPUT -m limit --limit 5/s -j ACCEPT
                -A INPUT -p udp -j DROP
                -A INPUT -p tcp -j ACCEPT
                -A INPUT -p tcp -m tcp --dport 443 -j DROP
                COMMIT
                """;
        assertThat(Linter.lint(dump).findings()).extracting(Finding::line, Finding::code)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(4, "unreachable"), org.assertj.core.groups.Tuple.tuple(8, "unreachable"));
    }

    /** Large, realistic firewalls in many match modules: lint must read them all and never fail. */
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3})
    void parsesLargeRealisticDumpsWithoutFailing(long seed) {
        String dump = RealisticDump.generate(new SplittableRandom(seed), 4000);
        LintReport r = Linter.lint(dump);
        assertThat(r.rules()).isEqualTo(RealisticDump.ruleCount(dump));
        assertThat(r.rules()).isGreaterThan(4000);
        assertThat(r.groups()).isNotEmpty();
    }

    @Test
    void rulesThatTogetherHideALaterOneAreNamedTogether() {
        String dump = """
                *filter
                :INPUT DROP [0:0]
                -A INPUT -p tcp -j DROP
                -A INPUT -i lo -j ACCEPT
                -A INPUT ! -p tcp -j DROP
                -A INPUT -s 10.0.0.1/32 -j ACCEPT
                COMMIT
                """;
        assertThat(Linter.lint("t", dump, Linter.Options.builtIn()).findings()).singleElement().satisfies(f -> {
            assertThat(f.line()).isEqualTo(6);
            assertThat(f.relatedLines()).containsExactlyInAnyOrder(5, 3);
            assertThat(f.message()).contains("lines 3, 5 together catch every packet it would");
        });
    }

    @Test
    void aJumpLoopIsRefusedAndAnUnusedChainNoted() {
        String dump = """
                *filter
                :INPUT ACCEPT [0:0]
                :a - [0:0]
                :b - [0:0]
                :spare - [0:0]
                -A INPUT -j a
                -A a -j b
                -A b -p tcp -j a
                -A spare -j DROP
                COMMIT
                """;
        LintReport r = Linter.lint("t", dump, Linter.Options.builtIn());
        assertThat(r.findings()).extracting(Finding::line, Finding::code).contains(
                org.assertj.core.groups.Tuple.tuple(8, "rejected-by-iptables"), org.assertj.core.groups.Tuple.tuple(9, "unused-chain"));
        assertThat(r.exitCode()).isEqualTo(1);
    }

    @Test
    void aBudgetOfRuleVisitsBoundsTheWorkAndSaysSo() {
        LintReport r = Linter.lint("t", RealisticDump.generate(new SplittableRandom(1), 4000), new Linter.Options(
                io.nflb.dataplane.iptables.NetworkNames.builtIn(), 1000));
        assertThat(r.notes()).anyMatch(n -> n.contains("budget of rule visits was spent"));
        assertThat(r.rules()).isGreaterThan(4000);
    }

    @Test
    void everyRuleIsCountedAndTheSummarySaysHowMany() {
        String dump = """
                *filter
                :INPUT ACCEPT [0:0]
                -A INPUT -p tcp -m tcp --dport nosuch -j ACCEPT
                -A INPUT -m frobnicate --frob 1 -j ACCEPT
                -A INPUT -p tcp -m tcp --dport 70000 -j ACCEPT
                -A INPUT -j ACCEPT
                COMMIT
                """;
        LintReport r = Linter.lint("t", dump, Linter.Options.builtIn());
        assertThat(r.rules()).isEqualTo(4);
        assertThat(r.notUnderstood()).isEqualTo(2);
        assertThat(r.refused()).isEqualTo(1);
        assertThat(r.opaque()).isEqualTo(3);
        assertThat(r.toText()).contains("4 rules read, 2 not understood (1 refused by iptables), 3 with conditions lint does not model");
        assertThat(r.findings()).extracting(Finding::line, Finding::code).containsExactly(
                org.assertj.core.groups.Tuple.tuple(3, "not-understood"), org.assertj.core.groups.Tuple.tuple(5, "rejected-by-iptables"));
    }

    /** A dump cut anywhere (a full disk, an interrupted copy) or with words mangled never makes lint fail. */
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2})
    void noCutOrMangledDumpMakesLintFail(long seed) throws Exception {
        String dump = LintDumpsTest.resource("k8s-node.rules") + LintDumpsTest.resource("shorewall-router.rules");
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < 40; i++) {
            String cut = dump.substring(0, rnd.nextInt(dump.length()));
            LintReport r = Linter.lint("cut", cut, Linter.Options.builtIn());
            assertThat(r.exitCode()).isBetween(0, 2);
            boolean insideTable = false;
            for (String line : cut.split("\n")) {
                if (line.startsWith("*")) insideTable = true;
                else if (line.strip().equals("COMMIT")) insideTable = false;
            }
            if (insideTable) assertThat(r.exitCode()).as(cut).isEqualTo(2);
            StringBuilder mangled = new StringBuilder(dump);
            for (int k = 0; k < 20; k++) {
                int at = rnd.nextInt(mangled.length());
                String noise = " !-:/,\"x09A+";
                mangled.setCharAt(at, noise.charAt(rnd.nextInt(noise.length())));
            }
            LintReport m = Linter.lint("mangled", mangled.toString(), Linter.Options.builtIn());
            assertThat(m.exitCode()).isBetween(0, 2);
            m.toJson();
            m.toSarif("test");
        }
    }

    @Test
    void aGroupReachedTwoWaysThatSharesThemOtherwiseSaysSo() {
        String dump = """
                *nat
                :PREROUTING ACCEPT [0:0]
                :INPUT ACCEPT [0:0]
                :OUTPUT ACCEPT [0:0]
                :POSTROUTING ACCEPT [0:0]
                :SVC - [0:0]
                :EP1 - [0:0]
                :EP2 - [0:0]
                -A PREROUTING -d 192.0.2.10/32 -p tcp -m tcp --dport 80 -j SVC
                -A PREROUTING -d 192.0.2.11/32 -p tcp -m tcp --dport 8080 -j SVC
                -A SVC -m statistic --mode random --probability 0.50000000000 -j EP1
                -A SVC -j EP2
                -A EP1 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.1:80
                -A EP2 -p tcp -j DNAT --to-destination 10.0.0.2:80
                COMMIT
                """;
        LintReport r = Linter.lint("t", dump, Linter.Options.builtIn());
        assertThat(r.groups()).singleElement().satisfies(g -> {
            assertThat(g.probe()).isEqualTo("tcp/80 to 192.0.2.10");
            assertThat(g.shares()).containsEntry("10.0.0.1:80", Rational.of(1, 2)).containsEntry("10.0.0.2:80", Rational.of(1, 2));
            assertThat(g.notes()).anyMatch(n -> n.contains("connections like tcp/8080 to 192.0.2.11") && n.contains("10.0.0.2:80 100.00%"));
        });
    }
}
