package io.nflb.lint;

import io.nflb.plan.Rational;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The realistic dumps of issue 11 (src/test/resources/lint, each with what iptables-save printed for it and
 * the findings a sysadmin should see, in *.expected.yaml): exit code, rules read and not understood, exactly
 * these findings (code, severity, line, related lines; message fragments), no finding on the lines that must
 * stay quiet, and the balancing groups with their exact shares. Plus the generated dumps: the large router
 * (7,080 rules, 517 chains) and the 1,000-member groups.
 */
class LintDumpsTest {

    private static final List<String> SINGLE = List.of("k8s-node", "docker-host", "shorewall-router", "old-1.3-sysconfig", "ip6-host");

    static Stream<Arguments> dumps() throws IOException {
        List<Arguments> out = new ArrayList<>();
        for (String name : SINGLE) out.add(Arguments.of(name + ".rules", yaml(name + ".expected.yaml")));
        for (String folder : List.of("problems", "dnat")) {
            Map<String, Object> all = yaml(folder + "/" + folder + ".expected.yaml");
            for (Map.Entry<String, Object> e : all.entrySet()) {
                if (e.getKey().contains("1000")) continue; // generated, see below
                out.add(Arguments.of(folder + "/" + e.getKey(), map(e.getValue())));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dumps")
    void findsWhatASysadminShouldSee(String dump, Map<String, Object> expected) throws IOException {
        LintReport report = Linter.lint(dump, resource(dump), Linter.Options.builtIn());
        check(report, expected);
    }

    @Test
    void theLargeRoutersPlantedProblemsAndNothingElse() throws Exception {
        LargeDump large = LargeDump.generate(11, 220);
        // Byte for byte what src/test/resources/lint/gen-large.py writes (its line numbers were checked against a kernel).
        assertThat(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(large.text.getBytes(StandardCharsets.UTF_8))))
                .isEqualTo(LargeDump.SEED_11_SHA256);
        assertThat(large.rules).isEqualTo(7080);
        assertThat(large.chains).isEqualTo(517);
        LintReport report = Linter.lint("large.rules", large.text, Linter.Options.builtIn());
        assertThat(report.rules()).isEqualTo(7080);
        assertThat(report.notUnderstood()).isZero();
        assertThat(report.exitCode()).isEqualTo(1);
        Set<String> want = new TreeSet<>();
        for (LargeDump.Planted p : large.planted) want.add(key(p.code(), p.severity(), p.line(), p.related()));
        assertThat(keys(report)).isEqualTo(want);
        assertThat(report.groups()).hasSize(40);
        assertThat(report.groups()).allMatch(LintReport.Group::evaluated);
        // Every UDP service is evaluated with a UDP probe through its endpoint chains (issue 11, problem 1).
        assertThat(report.groups()).filteredOn(g -> g.probe().startsWith("udp/53")).hasSize(6)
                .filteredOn(g -> g.unbalanced().isZero()).hasSize(5);
        assertThat(report.findings()).filteredOn(f -> f.line() == 624).singleElement()
                .satisfies(f -> assertThat(f.message()).contains("and 13 more like it (lines 625-637)"));
    }

    /** One group of 1,000 --probability rules, 1/1000, 1/999, ..., 1/2, then an unconditional rule. */
    static String randomGroup(int n) {
        return group(n, i -> "-m statistic --mode random --probability " + LargeDump.kernelProbability(1.0 / (n - i)));
    }

    /** The right round-robin cascade: --every n, n-1, ..., 2 (--packet 0), then an unconditional rule. */
    static String nthGroup(int n) {
        return group(n, i -> "-m statistic --mode nth --every " + (n - i) + " --packet 0");
    }

    private static String group(int n, java.util.function.IntFunction<String> statistic) {
        StringBuilder sb = new StringBuilder("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n");
        for (int i = 0; i < n; i++) {
            sb.append("-A PREROUTING -d 192.0.2.1/32 -p tcp -m tcp --dport 80 ");
            if (i < n - 1) sb.append(statistic.apply(i)).append(' ');
            sb.append("-j DNAT --to-destination 10.1.").append(i / 256).append('.').append(i % 256).append(":80\n");
        }
        return sb.append("COMMIT\n").toString();
    }

    @Test
    void aGroupOfAThousandProbabilityRulesIsExact() {
        LintReport report = Linter.lint("group1000.rules", randomGroup(1000), Linter.Options.builtIn());
        assertThat(report.exitCode()).isZero();
        assertThat(report.findings()).isEmpty();
        LintReport.Group g = report.groups().get(0);
        assertThat(g.members()).hasSize(1000);
        assertThat(g.probe()).startsWith("tcp/80 to 192.0.2.1");
        assertThat(g.shares()).hasSize(1000);
        Rational sum = g.unbalanced();
        for (Rational share : g.shares().values()) {
            assertThat(share.toDouble()).isCloseTo(0.001, org.assertj.core.data.Offset.offset(1e-8));
            sum = sum.add(share);
        }
        assertThat(g.unbalanced()).isEqualTo(Rational.ZERO);
        assertThat(sum).isEqualTo(Rational.ONE);
        assertThat(g.shares().get("10.1.0.0:80").den().bitCount()).isEqualTo(1); // k/2^31, exactly
    }

    @Test
    void aThousandNthRulesInTheRightCascadeShareOneCycle() {
        LintReport report = Linter.lint("nth1000.rules", nthGroup(1000), Linter.Options.builtIn());
        assertThat(report.exitCode()).isZero();
        assertThat(report.findings()).isEmpty();
        LintReport.Group g = report.groups().get(0);
        assertThat(g.members()).hasSize(1000);
        assertThat(g.period()).isEqualTo(1000);
        assertThat(g.shares().values()).hasSize(1000).allMatch(s -> s.equals(Rational.of(1, 1000)));
        assertThat(g.unbalanced()).isEqualTo(Rational.ZERO);
    }

    // ------------------------------------------------------------------ expectations

    @SuppressWarnings("unchecked")
    private static void check(LintReport report, Map<String, Object> exp) {
        assertThat(report.exitCode()).as("exit code\n%s", report.toText()).isEqualTo(num(exp.get("exit")));
        if (num(exp.get("exit")) == 2) {
            assertThat(report.fatal()).isPresent();
            assertThat(report.fatal().get().line()).isEqualTo(num(exp.get("error_line")));
            for (Object fragment : (List<Object>) exp.get("error_contains")) assertThat(report.fatal().get().message()).contains((String) fragment);
            assertThat(report.findings()).isEmpty();
            assertThat(report.toJson()).contains("\"error\":{\"line\":" + num(exp.get("error_line")));
            return;
        }
        assertThat(report.rules()).as("rules read").isEqualTo(num(exp.get("rules")));
        assertThat(report.notUnderstood()).as("rules not understood").isEqualTo(exp.containsKey("not_understood") ? num(exp.get("not_understood")) : 0);
        List<Object> findings = (List<Object>) exp.getOrDefault("findings", List.of());
        Set<String> want = new TreeSet<>();
        for (Object o : findings) {
            Map<String, Object> f = map(o);
            want.add(key((String) f.get("code"), (String) f.get("severity"), num(f.get("line")), ints(f.get("related"))));
            for (Object fragment : (List<Object>) f.getOrDefault("message_contains", List.of())) {
                assertThat(report.findings()).filteredOn(x -> x.line() == num(f.get("line")) && x.code().equals(f.get("code")))
                        .singleElement().satisfies(x -> assertThat(x.message()).contains((String) fragment));
            }
        }
        assertThat(keys(report)).as("findings\n%s", report.toText()).isEqualTo(want);
        Map<Object, Object> quiet = (Map<Object, Object>) exp.getOrDefault("not_reported", Map.of());
        for (Object line : quiet.keySet()) assertThat(report.findings()).noneMatch(f -> f.line() == num(line));
        if (exp.containsKey("groups")) groups(report, (List<Object>) exp.get("groups"));
    }

    @SuppressWarnings("unchecked")
    private static void groups(LintReport report, List<Object> expected) {
        assertThat(report.groups()).extracting(LintReport.Group::line)
                .containsExactlyElementsOf(expected.stream().map(o -> num(map(o).get("line"))).toList());
        for (int i = 0; i < expected.size(); i++) {
            Map<String, Object> e = map(expected.get(i));
            LintReport.Group g = report.groups().get(i);
            if (e.get("members") instanceof List<?> members) assertThat(g.members()).isEqualTo(ints(members));
            if (e.containsKey("probe")) assertThat(g.probe()).startsWith(e.get("probe") + " to ");
            assertThat(g.evaluated()).isEqualTo(!Boolean.FALSE.equals(e.get("evaluated")));
            if (e.containsKey("shares")) {
                Map<Object, Object> shares = (Map<Object, Object>) e.get("shares");
                assertThat(g.shares().keySet()).containsExactlyInAnyOrderElementsOf(shares.keySet().stream().map(Object::toString).toList());
                shares.forEach((endpoint, fraction) -> assertThat(g.shares().get(endpoint.toString())).isEqualTo(rational(fraction.toString())));
            }
            if (e.containsKey("not_balanced")) assertThat(g.unbalanced()).isEqualTo(rational(e.get("not_balanced").toString()));
            for (Object fragment : (List<Object>) e.getOrDefault("notes_contain", List.of())) {
                assertThat(g.notes()).anyMatch(n -> n.contains((String) fragment));
            }
        }
    }

    static Set<String> keys(LintReport report) {
        Set<String> out = new TreeSet<>();
        for (Finding f : report.findings()) out.add(key(f.code(), f.severity().keyword(), f.line(), f.relatedLines()));
        return out;
    }

    private static String key(String code, String severity, int line, List<Integer> related) {
        return String.format(Locale.ROOT, "line %5d %s %s related %s", line, severity, code, new TreeSet<>(related));
    }

    private static Rational rational(String text) {
        String[] nd = text.split("/");
        return new Rational(new BigInteger(nd[0].trim()), nd.length == 1 ? BigInteger.ONE : new BigInteger(nd[1].trim()));
    }

    private static int num(Object o) {
        return o instanceof Number n ? n.intValue() : Integer.parseInt(o.toString());
    }

    private static List<Integer> ints(Object o) {
        if (o == null) return List.of();
        List<Integer> out = new ArrayList<>();
        for (Object x : (List<?>) o) out.add(num(x));
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }

    static Map<String, Object> yaml(String path) throws IOException {
        return map(new Load(LoadSettings.builder().build()).loadFromString(resource(path)));
    }

    static String resource(String path) throws IOException {
        try (InputStream in = LintDumpsTest.class.getResourceAsStream("/lint/" + path)) {
            if (in == null) throw new IOException("no test resource lint/" + path);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
