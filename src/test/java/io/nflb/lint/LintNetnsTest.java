package io.nflb.lint;

import io.nflb.cli.Main;
import io.nflb.host.Exec;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fixtures are what iptables-save prints: each loadable one is loaded by the real iptables-restore in a
 * namespace of our own, saved back and compared line by line (so the lines the expectations name are real),
 * and `nflb lint --live --netns` on the kernel's rules finds exactly what lint finds in the file.
 */
class LintNetnsTest {

    private static final Pattern MATCH_SET = Pattern.compile("--match-set (\\S+) ");
    private static final Duration RESTORE = Duration.ofSeconds(180);

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"k8s-node.rules", "docker-host.rules", "shorewall-router.rules", "ip6-host.rules",
            "problems/cidr-shadow.rules", "problems/fifteen-copies.rules", "problems/iface-wildcard.rules",
            "problems/jump-to-logdrop.rules", "problems/port-in-range.rules", "problems/statistic-then-mark.rules",
            "problems/tcpflags-duplicate.rules", "dnat/dnat-policy-drop.rules", "dnat/dnat-restricted.rules",
            "dnat/dnat-rhel-reject.rules", "dnat/dnat-user-chain.rules"})
    void theKernelSavesTheFixtureAsItIsAndLintFindsTheSameLive(String fixture) throws IOException {
        KernelTests.require("ip", "iptables-restore", "iptables-save", "ip6tables-restore", "ip6tables-save", "ipset");
        roundTrip(fixture, LintDumpsTest.resource(fixture));
    }

    @Test
    void theLargeRouterToo() {
        KernelTests.require("ip", "iptables-restore", "iptables-save", "ipset");
        roundTrip("large.rules", LargeDump.generate(11, 220).text);
    }

    private static void roundTrip(String fixture, String text) {
        boolean v6 = text.contains("ip6tables-save");
        boolean counters = text.lines().anyMatch(l -> l.startsWith("[") && !l.startsWith("[0:0]"));
        try (Netns ns = Netns.create("lint")) {
            Exec exec = ns.exec();
            Set<String> sets = new TreeSet<>();
            Matcher m = MATCH_SET.matcher(text);
            while (m.find()) sets.add(m.group(1));
            for (String set : sets) exec.check(List.of("ipset", "create", set, "hash:net"));
            String restore = v6 ? "ip6tables-restore" : "iptables-restore";
            String save = v6 ? "ip6tables-save" : "iptables-save";
            Exec.Result loaded = exec.run(counters ? List.of(restore, "-c") : List.of(restore), text, RESTORE);
            assertThat(loaded.ok()).as("%s: %s", fixture, loaded.describeFailure()).isTrue();
            String saved = exec.run(counters ? List.of(save, "-c") : List.of(save), "", RESTORE).stdout();
            assertThat(withoutComments(saved)).as(fixture).isEqualTo(withoutComments(text));

            LintReport file = Linter.lint(fixture, text, Linter.Options.builtIn());
            Ran live = run(v6 ? List.of("lint", "--live", "--ipv6", "--netns", ns.name(), "--json")
                    : List.of("lint", "--live", "--netns", ns.name(), "--json"));
            assertThat(live.code()).as(live.err()).isEqualTo(file.exitCode());
            // Same findings at the same lines: the live dump differs from the file in its comment lines and counters only.
            for (Finding f : file.findings()) {
                assertThat(live.out()).containsPattern("\\{\"line\":" + f.line() + ",\"column\":\\d+,\"severity\":\""
                        + f.severity().keyword() + "\",\"code\":\"" + f.code() + "\"");
            }
            assertThat(live.out()).contains("\"rules\":" + file.rules() + ",").contains("\"notUnderstood\":0");
            assertThat(countFindings(live.out())).isEqualTo(file.findings().size());
        }
    }

    private record Ran(int code, String out, String err) {
    }

    /** The command line in process, both streams captured. */
    private static synchronized Ran run(List<String> args) {
        java.io.PrintStream out = System.out;
        java.io.PrintStream err = System.err;
        java.io.ByteArrayOutputStream o = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream e = new java.io.ByteArrayOutputStream();
        try {
            System.setOut(new java.io.PrintStream(o, true, java.nio.charset.StandardCharsets.UTF_8));
            System.setErr(new java.io.PrintStream(e, true, java.nio.charset.StandardCharsets.UTF_8));
            int code = Main.run(args.toArray(String[]::new));
            return new Ran(code, o.toString(java.nio.charset.StandardCharsets.UTF_8), e.toString(java.nio.charset.StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    private static int countFindings(String json) {
        Matcher m = Pattern.compile("\\{\"line\":\\d+,\"column\":\\d+,\"severity\":").matcher(json);
        int n = 0;
        while (m.find()) n++;
        return n;
    }

    private static List<String> withoutComments(String text) {
        return text.lines().filter(l -> !l.startsWith("#")).toList();
    }
}
