package io.nflb.lab;

import io.nflb.host.Exec;
import io.nflb.model.BackendKind;
import io.nflb.model.Scheduler;
import io.nflb.plan.Rational;
import io.nflb.testing.KernelTests;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** The lab end to end on a real kernel: real namespaces, real web servers, real connections. */
class LabTest {

    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();

    @BeforeEach
    void requireKernel() {
        KernelTests.require("ip", "iptables-restore", "iptables-save", "sysctl");
    }

    private static String prefix() {
        return "nflb-t-lab" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xfffffL) + "-";
    }

    private List<LabRun> run(LabOptions options) throws Exception {
        try {
            List<LabRun> runs = new Lab(options, new PrintStream(printed, true, StandardCharsets.UTF_8)).run();
            for (LabRun r : runs) {
                // Measured figures in the build log: what real connections did under each set of rules.
                System.out.printf("lab: %s over %d connections: %s, not balanced %d%n", r.title(), r.connections(),
                        r.rows().stream().map(x -> x.name() + "=" + x.observed()).toList(), r.notBalanced());
            }
            return runs;
        } finally {
            assertThat(namespacesStartingWith(options.prefix())).as("namespaces left behind").isEmpty();
        }
    }

    @Test
    void roundRobinOneTwoThreeGivesExactlyOneHundredTwoHundredThreeHundredOf600() throws Exception {
        LabOptions options = new LabOptions(3, List.of(1, 2, 3), Scheduler.ROUND_ROBIN, BackendKind.IPTABLES, 600, false, false, prefix());
        LabRun nflb = run(options).get(0);
        assertThat(List.of(nflb.observed("s1"), nflb.observed("s2"), nflb.observed("s3"))).containsExactly(100, 200, 300);
        assertThat(nflb.notBalanced()).isZero();
        assertThat(nflb.rows()).extracting(LabRun.Row::predicted)
                .containsExactly(Rational.of(1, 6), Rational.of(1, 3), Rational.of(1, 2));
        assertThat(nflb.pass()).isTrue();
        assertThat(nflb.verdict()).startsWith("EXACT");
    }

    @Test
    void tutorialRulesLoseAQuarterWhileNflbRandomLosesNoneOver2000() throws Exception {
        int n = 2000;
        LabOptions options = new LabOptions(2, List.of(1, 1), Scheduler.RANDOM, BackendKind.IPTABLES, n, true, false, prefix());
        List<LabRun> runs = run(options);
        assertThat(runs).hasSize(3);

        LabRun seedRandom = runs.get(0);
        assertThat(seedRandom.predictedNotBalanced()).isEqualTo(Rational.of(1, 4));
        assertThat(seedRandom.notBalanced()).isBetween((int) (0.15 * n), (int) (0.35 * n));
        assertThat(seedRandom.pass()).isFalse();

        // Per-rule nth counters: a deterministic 4-connection cycle s1, none, s1, s2.
        LabRun seedNth = runs.get(1);
        assertThat(List.of(seedNth.observed("s1"), seedNth.observed("s2"), seedNth.notBalanced())).containsExactly(1000, 500, 500);

        LabRun nflb = runs.get(2);
        assertThat(nflb.notBalanced()).isZero();
        double sigma = Math.sqrt(n * 0.25);
        assertThat((double) nflb.observed("s1")).isBetween(n / 2.0 - 4 * sigma, n / 2.0 + 4 * sigma);
        assertThat(nflb.observed("s1") + nflb.observed("s2")).isEqualTo(n);
        assertThat(nflb.pass()).isTrue();

        String out = printed.toString(StandardCharsets.UTF_8);
        assertThat(out).contains("side by side", "BROKEN", "not balanced");
    }

    static List<String> namespacesStartingWith(String prefix) {
        return List.of(Exec.host().run(List.of("ip", "netns", "list")).stdout().split("\n")).stream()
                .map(l -> l.strip().split("\\s+")[0]).filter(ns -> ns.startsWith(prefix)).toList();
    }
}
