package io.nflb.dataplane.iptables;

import io.nflb.explain.ConnectionProbe;
import io.nflb.explain.Distribution;
import io.nflb.explain.Outcome;
import io.nflb.model.IpAddress;
import io.nflb.model.Protocol;
import io.nflb.model.Scheduler;
import io.nflb.model.Snat;
import io.nflb.plan.Plan;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Real kernel: rendered text survives iptables-restore / iptables-save unchanged, and nth rules count as modelled. */
class IptablesKernelTest {

    static Stream<String> goldenNames() {
        return Fixtures.goldens().keySet().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goldenNames")
    void renderedRulesReadBackIdentically(String name) {
        KernelTests.require("ip", "iptables-restore", "iptables-save", "ip6tables-restore", "ip6tables-save");
        IptablesRuleset ruleset = Fixtures.renderedGoldens().get(name);
        String tool = IptablesTool.command(ruleset.family());
        try (Netns ns = Netns.create("rt")) {
            ns.exec().check(List.of(tool + "-restore"), IptablesRenderer.restoreText(ruleset));
            String live = ns.exec().check(List.of(tool + "-save", "-t", "nat")).stdout();
            assertThat(rulesByChain(live)).isEqualTo(rulesByChain(IptablesRenderer.restoreText(ruleset)));
        }
    }

    /** The seed's nth rules, counted by the kernel over 10 real connections: 5, 2 and 3 unbalanced. */
    @Test
    void tutorialNthRulesCountPerRuleInTheKernel() {
        KernelTests.require("ip", "iptables-restore", "iptables-save", "curl");
        String rules = """
                *nat
                :OUTPUT ACCEPT [0:0]
                -A OUTPUT -d 10.99.0.1/32 -p tcp -m tcp --dport 80 -m comment --comment all
                -A OUTPUT -d 10.99.0.1/32 -p tcp -m tcp --dport 80 -m statistic --mode nth --every 2 --packet 0 -j DNAT --to-destination 127.0.0.1:9001
                -A OUTPUT -d 10.99.0.1/32 -p tcp -m tcp --dport 80 -m statistic --mode nth --every 2 --packet 1 -j DNAT --to-destination 127.0.0.1:9002
                COMMIT
                """;
        try (Netns ns = Netns.create("nth")) {
            addVip(ns);
            ns.exec().check(List.of("iptables-restore"), rules);
            connect(ns, 10);
            List<Long> counts = counters(ns.exec().check(List.of("iptables-save", "-c", "-t", "nat")).stdout(), "OUTPUT");
            assertThat(counts).containsExactly(10L, 5L, 2L);
            Distribution d = IptablesExplainer.explainText(rules, ConnectionProbe.local(Protocol.TCP, vip(), 80));
            assertThat(d.firstConnections(10)).isEqualTo(Map.of(Outcome.dnat("127.0.0.1:9001"), 5,
                    Outcome.dnat("127.0.0.1:9002"), 2, Outcome.NOT_BALANCED, 3));
        }
    }

    /** nflb's own 1:2:3 round-robin, loaded as rendered: 12 connections give exactly 2, 4 and 6. */
    @Test
    void renderedRoundRobinIsAnExactCycleInTheKernel() {
        KernelTests.require("ip", "iptables-restore", "iptables-save", "curl");
        Plan plan = Fixtures.plan(Fixtures.service("rr", Fixtures.listen(80, "10.99.0.1", null), Scheduler.ROUND_ROBIN, Snat.NONE,
                Fixtures.backend("127.0.0.1", 9001, 1), Fixtures.backend("127.0.0.1", 9002, 2), Fixtures.backend("127.0.0.1", 9003, 3)));
        IptablesRuleset ruleset = IptablesRenderer.render(plan, IpAddress.Family.V4);
        try (Netns ns = Netns.create("rr")) {
            addVip(ns);
            ns.exec().check(List.of("iptables-restore"), IptablesRenderer.restoreText(ruleset));
            connect(ns, 12);
            String live = ns.exec().check(List.of("iptables-save", "-c", "-t", "nat")).stdout();
            // Each backend's DNAT rules (one per slot it owns) together took its share.
            List<Long> perBackend = new ArrayList<>();
            for (var b : plan.services().get(0).backends()) {
                String comment = "--comment \"" + IptablesNames.backendComment("rr", b.backend().endpoint()) + "\" ";
                perBackend.add(live.lines().filter(l -> l.contains(comment) && l.contains("-j DNAT"))
                        .map(l -> Long.parseLong(l.substring(1, l.indexOf(':')))).reduce(0L, Long::sum));
            }
            assertThat(perBackend).containsExactly(2L, 4L, 6L);
            // Slot k of the service chain took exactly the connections of its slot: 2 each per 12.
            assertThat(counters(live, IptablesNames.service("rr"))).containsOnly(2L).hasSize(6);
        }
    }

    private static IpAddress vip() {
        return IpAddress.parse("10.99.0.1").orElseThrow();
    }

    private static void addVip(Netns ns) {
        ns.exec().check(List.of("ip", "addr", "add", "10.99.0.1/32", "dev", "lo"));
    }

    /** Opens {@code n} new connections one after another; every one is refused (nothing listens), which is fine. */
    private static void connect(Netns ns, int n) {
        for (int i = 0; i < n; i++) {
            ns.exec().run(List.of("curl", "-s", "-o", "/dev/null", "--max-time", "2", "http://10.99.0.1:80/"));
        }
    }

    private static final Pattern COUNTED = Pattern.compile("^\\[(\\d+):\\d+\\] -A (\\S+) ");

    private static List<Long> counters(String save, String chain) {
        List<Long> counts = new ArrayList<>();
        for (String line : save.split("\n")) {
            Matcher m = COUNTED.matcher(line);
            if (m.find() && m.group(2).equals(chain)) counts.add(Long.parseLong(m.group(1)));
        }
        return counts;
    }

    /** nflb's chains' rules in order, per chain; iptables-save lists chains in its own order. */
    private static Map<String, List<String>> rulesByChain(String text) {
        Map<String, List<String>> byChain = new java.util.TreeMap<>();
        for (String line : text.split("\n")) {
            if (!line.startsWith("-A ")) continue;
            byChain.computeIfAbsent(line.split(" ")[1], c -> new ArrayList<>()).add(line);
        }
        return new LinkedHashMap<>(byChain);
    }
}
