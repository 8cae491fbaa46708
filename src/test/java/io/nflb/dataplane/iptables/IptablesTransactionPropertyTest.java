package io.nflb.dataplane.iptables;

import io.nflb.dataplane.iptables.IptablesRuleset.Jump;
import io.nflb.model.IpAddress.Family;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * From random earlier nflb states (with duplicated and stale jumps, stale chains, damaged chains) on top of
 * a foreign firewall, to a random wanted ruleset: one transaction gets there, foreign rules are untouched and
 * chains that were already right are not rewritten (their counters survive).
 */
class IptablesTransactionPropertyTest {

    static LongStream seeds() {
        SplittableRandom seeds = new SplittableRandom(20261125L);
        return LongStream.generate(seeds::nextLong).limit(300);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void oneTransactionReachesWantedAndTouchesNothingElse(long seed) throws IOException {
        check(new FakeIptablesTool(Family.V4), seed);
    }

    /** The same against the real iptables, so the fake's answers are not the only judge. */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("kernelSeeds")
    void theRealKernelAgrees(long seed) throws IOException {
        KernelTests.require("iptables-restore", "iptables-save", "ip");
        try (Netns ns = Netns.create("ipt-prop")) {
            check(IptablesTool.of(ns.exec(), Family.V4), seed);
        }
    }

    static LongStream kernelSeeds() {
        return seeds().limit(8);
    }

    private static void check(IptablesTool tool, long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        tool.restore(Files.readString(Path.of("src/test/resources/kernel/foreign-firewall.rules")));
        IptablesKernel kernel = new IptablesKernel(tool);
        kernel.apply(randomRuleset(rnd));
        damage(tool, rnd);
        String live = tool.save(false);
        IptablesRuleset wanted = randomRuleset(rnd);

        String tx = IptablesKernel.transaction(wanted, live);
        IptablesTransaction applied = kernel.apply(wanted); // runs tx, then reads back and verifies

        assertThat(applied.text()).isEqualTo(tx);
        assertThat(IptablesKernel.transaction(wanted, tool.save(false))).isEmpty();
        assertThat(foreign(tool.save(false))).isEqualTo(foreign(live));
        SavedTables before = SavedTables.parse(live);
        for (IptablesRuleset.Table t : wanted.tables()) {
            SavedTables.Table had = before.tables().get(t.name());
            for (String chain : t.chains()) {
                List<String> rules = t.rules().stream().filter(r -> r.startsWith("-A " + chain + " ")).toList();
                if (had != null && had.chains().containsKey(chain) && had.chains().get(chain).ruleTexts().equals(rules)) {
                    assertThat(tx).as("unchanged chain %s is left alone", chain).doesNotContain(":" + chain + " ");
                }
            }
        }
    }

    private static String foreign(String save) {
        return save.lines().filter(l -> !l.matches("#.*|-A NFLB-.*|:NFLB-.*|-A [A-Z]+ .*-[jg] NFLB-\\S+"))
                .collect(Collectors.joining("\n"));
    }

    private static IptablesRuleset randomRuleset(SplittableRandom rnd) {
        List<String> chains = new ArrayList<>(List.of("NFLB-SERVICES"));
        List<String> rules = new ArrayList<>();
        for (String svc : List.of("web", "db", "dns", "mail")) {
            if (rnd.nextInt(3) == 0) continue;
            int backends = 1 + rnd.nextInt(3);
            chains.add("NFLB-SVC-" + svc);
            rules.add("-A NFLB-SERVICES -d 10.99.0." + (1 + rnd.nextInt(3)) + "/32 -p tcp -m tcp --dport " + (80 + rnd.nextInt(2)) + " -j NFLB-SVC-" + svc);
            for (int b = 0; b < backends; b++) {
                // Probabilities that iptables-save prints back exactly as written.
                String p = b == backends - 1 ? "" : "-m statistic --mode random --probability "
                        + List.of("0.50000000000", "0.33333333349", "0.25000000000").get(rnd.nextInt(3)) + " ";
                rules.add("-A NFLB-SVC-" + svc + " " + p + "-j NFLB-SEP-" + svc + "-" + b);
                chains.add("NFLB-SEP-" + svc + "-" + b);
                rules.add("-A NFLB-SEP-" + svc + "-" + b + " -p tcp -m tcp -j DNAT --to-destination 10.0.0." + (b + 1 + rnd.nextInt(2)) + ":8080");
            }
        }
        List<Jump> jumps = new ArrayList<>();
        if (rnd.nextBoolean()) jumps.add(new Jump("PREROUTING", Rulesets.PORTALS));
        if (rnd.nextBoolean()) jumps.add(new Jump("OUTPUT", Rulesets.PORTALS));
        List<IptablesRuleset.Table> tables = new ArrayList<>(List.of(new IptablesRuleset.Table("nat", chains, jumps, rules)));
        if (rnd.nextBoolean()) {
            tables.add(new IptablesRuleset.Table("filter", List.of("NFLB-FORWARD"),
                    List.of(new Jump("FORWARD", "-j NFLB-FORWARD")), List.of("-A NFLB-FORWARD -m conntrack --ctstate DNAT -j ACCEPT")));
        }
        return new IptablesRuleset(Family.V4, tables);
    }

    /** What a crash, an older nflb or a hand edit may leave behind. */
    private static void damage(IptablesTool tool, SplittableRandom rnd) {
        StringBuilder nat = new StringBuilder("*nat\n");
        if (rnd.nextBoolean()) nat.append("-A PREROUTING ").append(Rulesets.PORTALS).append('\n');
        if (rnd.nextBoolean()) nat.append("-I OUTPUT 1 ").append(Rulesets.PORTALS).append('\n');
        if (rnd.nextBoolean()) nat.append(":NFLB-OLD - [0:0]\n-A NFLB-OLD -j RETURN\n-A OUTPUT -j NFLB-OLD\n-I PREROUTING 1 -g NFLB-OLD\n");
        if (rnd.nextBoolean()) nat.append(":NFLB-SVC-web - [0:0]\n-A NFLB-SVC-web -j RETURN\n");
        tool.restore(nat.append("COMMIT\n").toString());
    }
}
