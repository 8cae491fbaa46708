package io.nflb.config;

import io.nflb.bench.NftCostBench;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * FastYaml against SnakeYAML Engine, the composer it stands in for: on every input the fast path either
 * declines or gives SnakeYAML's very tree (kinds, tags, values, the start line and column of every node), and
 * it never accepts a document SnakeYAML refuses. Inputs: every YAML file of the repository, generated configs
 * as the benchmarks write them, a config using every construct of the subset, and thousands of random edits of
 * them (characters, YAML's indicators, non-ASCII, whole lines moved, indented or dropped), from fixed seeds.
 */
class FastYamlDifferentialTest {

    /** Every construct of the subset, and a few just outside it, in one file. */
    static final String SUBSET = """
            # nflb.yaml – with a comment in UTF-8: ünïcödé → ✓ €
            backend: nftables   # trailing comment
            'quoted key': "double \\"quoted\\" \\\\ value\\t/"
            "k2": 'single ''quoted'' value'
            empty:
            empty_then_comment: # nothing
            nulls: [~, null, Null, NULL]
            bools: {a: true, b: False, c: TRUE}
            numbers: [0, -1, +2, 0x1F, 0o17, 1.5, .5, 1e3, .inf, -.Inf, .nan, 010, 1_000]
            words: [yes, no, on, off, y, n, "", '', a b c, a#b, x-y, <<, $x, a?b]
            ip: 10.0.0.1
            ip6: "2001:db8::5"
            url: http://example.com/a?b=c
            services:
            - name: web
              listen: {address: 192.168.2.1, port: 80}
              backends:
              - {address: 10.0.0.2, port: 8080, weight: 3}
              -   address: 10.0.0.3
                  health: {type: tcp}
              -
                address: 10.0.0.4
              -
            - name: "dns"
              protocol: udp
              listen:
                port: 53

              backends: [{address: "2001:db8::6"}, {address: '2001:db8::7', health: {type: exec, command: [/bin/true, x]}}]
              nested: [[a, [b, c]], {d: [e]}, []]
            - - a
              - b
            - [a, {b: c}]
            firewall:
              allow:
                - {protocol: tcp, ports: [22, "8000-8100"], from: [10.0.0.0/8]}
              log_drops: {prefix: "nflb-drop ", rate: 5/s}
            last: value
            """;

    /** What an edit inserts: YAML's indicators and the strings whose tags and errors matter. */
    private static final String[] PIECES = {
            " ", "  ", "\n", "\n  ", "\n- ", "- ", ":", ": ", "#", " #", "{", "}", "[", "]", ",", ", ", "'", "\"", "''",
            "\\", "\\n", "\\x41", "&a ", "*a", "!!str ", "!x ", "? ", "|", ">", "%", "@", "`", "---", "...", "---\n",
            "\t", "\r", "\r\n", "\u0000", "\u007f", "\u0085", "\u00a0", "é", "\u2028", "\uFEFF", "😀", "~", "null",
            "true", "False", "0x1F", "0o8", "1.5", "1.2.3", "1.", ".", ".inf", "-", "-1", "+", "<<", "$", "${X}", "a",
            "x: y", "{a: b}", "[a, b]", "a".repeat(1030) + ": b",
    };

    static List<Path> repositoryFiles() throws IOException {
        List<Path> out = new ArrayList<>();
        for (String root : List.of("examples", "packaging", "src/test/resources")) {
            try (Stream<Path> s = Files.walk(Path.of(root))) {
                s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().forEach(out::add);
            }
        }
        return out;
    }

    /** The inputs edits start from: the repository's files, generated configs, the subset. */
    static List<String> bases() throws IOException {
        List<String> out = new ArrayList<>();
        for (Path p : repositoryFiles()) out.add(Files.readString(p));
        for (String scheduler : List.of("random", "round-robin", "maglev")) out.add(NftCostBench.config(scheduler, 3, 0, true));
        out.add(SUBSET);
        return out;
    }

    @Test
    void everyRepositoryFileAndGeneratedConfigIsComposedAsSnakeYamlDoes() throws IOException {
        int accepted = 0, configs = 0;
        for (Path p : repositoryFiles()) {
            boolean composed = check(Files.readString(p), p.toString());
            // lint's expected reports are YAML too, not configs: they are compared, not counted.
            if (p.startsWith("src/test/resources/lint")) continue;
            configs++;
            accepted += composed ? 1 : 0;
        }
        // The configs nflb's own examples and tests are written in are the subset: the fast path takes them (all but
        // the one with a syntax error).
        assertThat(accepted).as("repository configs the fast path composed").isEqualTo(configs - 1);
        for (String scheduler : List.of("random", "round-robin", "maglev")) {
            for (int variant = 0; variant < 4; variant++) {
                String yaml = NftCostBench.config(scheduler, 200, variant, true);
                assertThat(check(yaml, scheduler + " " + variant)).as("generated config composed by the fast path").isTrue();
            }
        }
        assertThat(check(SUBSET, "subset")).as("the subset config").isTrue();
    }

    static LongStream seeds() {
        SplittableRandom seeds = new SplittableRandom(20261214L);
        return LongStream.generate(seeds::nextLong).limit(60);
    }

    /** 60 seeds x 100 edited inputs: 6,000 documents, most of them broken somewhere. */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void randomEditsAreComposedAsSnakeYamlDoesOrDeclined(long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<String> bases = bases();
        int composed = 0;
        for (int i = 0; i < 100; i++) {
            String base = bases.get(rnd.nextInt(bases.size()));
            String edited = edit(base, rnd);
            if (check(edited, "seed " + seed + " input " + i)) composed++;
        }
        // Most edits leave a valid document: a fast path that declined them all would prove nothing here.
        assertThat(composed).as("edited documents the fast path composed").isGreaterThanOrEqualTo(10);
    }

    /**
     * The whole loader, fast path (services bound as they are composed) against SnakeYAML's tree bound whole: the
     * same config, or the same errors at the same places, refusals included; a {@code backend:} written after the
     * services, which the streamed services could not know, among the edits.
     */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void loadingGivesWhatSnakeYamlAloneGives(long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<String> bases = bases();
        bases.add(NftCostBench.config("maglev", 3, 0, true) + "backend: iptables\n");
        bases.add("services:\n  - name: a\n    listen: {port: 80}\n    scheduler: maglev\n    backends: [{address: 10.0.0.1}]\nbackend: iptables\n");
        bases.add("backend: auto\nservices:\n  - name: abcdefghij-service-long\n    listen: {address: 10.99.0.1, port: 80}\n"
                + "    backends: [{address: 10.99.1.2}]\n  - name: " + io.nflb.dataplane.iptables.IptablesNames.service("abcdefghij-service-long").substring("NFLB-SVC-".length()) + "\n"
                + "    listen: {address: 10.99.0.2, port: 80}\n    backends: [{address: 10.99.1.2}, {address: 10.99.1.3}]\n");
        for (int i = 0; i < 30; i++) {
            String base = bases.get(rnd.nextInt(bases.size()));
            String yaml = i < 3 ? base : edit(base, rnd);
            assertThat(outcome(() -> ConfigLoader.parse("t.yaml", yaml, io.nflb.dataplane.Dataplanes::refusals)))
                    .as("seed " + seed + " input " + i + ":\n" + yaml)
                    .isEqualTo(outcome(() -> ConfigLoader.parseWithSnakeYaml("t.yaml", yaml, io.nflb.dataplane.Dataplanes::refusals)));
        }
    }

    private interface Load {
        Object run() throws ConfigException;
    }

    /** The config, or the errors as printed. */
    private static Object outcome(Load load) {
        try {
            return load.run();
        } catch (ConfigException e) {
            return e.getMessage();
        }
    }

    /** Whether the fast path composed {@code yaml}; fails when it differs from SnakeYAML or accepts its error. */
    static boolean check(String yaml, String what) {
        Tree fast = FastYaml.compose(yaml);
        Optional<Tree> slow;
        try {
            slow = ConfigLoader.snakeYaml("x.yaml", yaml).map(Tree::of);
        } catch (RuntimeException | StackOverflowError e) {
            if (fast != null) fail("the fast path accepted what SnakeYAML refuses (" + e.getMessage() + ") in " + what + ":\n" + yaml);
            return false;
        }
        if (fast == null) return false;
        if (slow.isEmpty()) fail("the fast path composed a document SnakeYAML finds empty in " + what + ":\n" + yaml);
        String difference = difference(fast, slow.get(), "$");
        if (difference != null) fail("the fast path differs from SnakeYAML at " + difference + " in " + what + ":\n" + yaml);
        return true;
    }

    /** Where two trees differ, or null. */
    static String difference(Tree a, Tree b, String path) {
        if (a.kind != b.kind) return path + ": " + a.kind + " vs " + b.kind;
        if (!a.tag.equals(b.tag)) return path + ": tag " + a.tag + " vs " + b.tag;
        if (a.line != b.line || a.column != b.column) {
            return path + ": at " + (a.line + 1) + ":" + (a.column + 1) + " vs " + (b.line + 1) + ":" + (b.column + 1);
        }
        if (a.kind == Tree.Kind.SCALAR) return a.value.equals(b.value) ? null : path + ": '" + a.value + "' vs '" + b.value + "'";
        if (a.items.length != b.items.length) return path + ": " + a.items.length + " items vs " + b.items.length;
        for (int i = 0; i < a.items.length; i++) {
            String d = difference(a.items[i], b.items[i], path + "[" + i + "]");
            if (d != null) return d;
        }
        return null;
    }

    /** One to three edits: a character or piece inserted, replaced or deleted, or a line dropped, doubled or re-indented. */
    static String edit(String base, SplittableRandom rnd) {
        StringBuilder sb = new StringBuilder(base);
        int edits = 1 + rnd.nextInt(3);
        for (int e = 0; e < edits && sb.length() > 0; e++) {
            int at = rnd.nextInt(sb.length());
            String piece = PIECES[rnd.nextInt(PIECES.length)];
            int lineStart = sb.lastIndexOf("\n", at) + 1;
            int lineEnd = sb.indexOf("\n", at);
            if (lineEnd < 0) lineEnd = sb.length();
            switch (rnd.nextInt(7)) {
                case 0 -> sb.deleteCharAt(at);
                case 1 -> sb.insert(at, piece);
                case 2 -> sb.replace(at, Math.min(sb.length(), at + 1 + rnd.nextInt(3)), piece);
                case 3 -> sb.delete(lineStart, Math.min(sb.length(), lineEnd + 1));
                case 4 -> sb.insert(lineStart, sb.substring(lineStart, Math.min(sb.length(), lineEnd + 1)));
                case 5 -> sb.insert(lineStart, rnd.nextBoolean() ? " " : "  ");
                default -> {
                    if (lineStart < sb.length() && sb.charAt(lineStart) == ' ') sb.deleteCharAt(lineStart);
                    else sb.insert(at, piece);
                }
            }
        }
        return sb.toString();
    }
}
