package io.nflb.config;

import io.nflb.dataplane.Dataplanes;
import io.nflb.model.Config;
import io.nflb.plan.Planner;
import io.nflb.testing.FakeKernel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Mutated configs, from a seed each: every outcome is either a config that both rule languages render (what
 * validate accepts, apply does not refuse) or a ConfigException whose every error has a line and a column;
 * never another exception, never a stack trace, and each within a time bound.
 */
class ConfigFuzzTest {

    /** Generous: the machine is shared and has 2 cores; a well-behaved parse of these takes milliseconds. */
    private static final Duration BOUND = Duration.ofSeconds(5);

    private static final String BASE = """
            backend: auto
            daemon: {min_sync_interval: 100ms, resync_interval: 30s}
            services:
              - name: web
                protocol: tcp
                listen: {address: 192.168.2.1, port: 80, interface: eth0}
                scheduler: round-robin
                snat: masquerade
                affinity: {timeout: 3h}
                health: {type: http, path: /healthz, expect_status: 200, interval: 2s, timeout: 1s, rise: 2, fall: 3}
                limits: {per_source_rate: 50/s, burst: 100, max_connections_per_source: 20}
                backends:
                  - &b {address: 192.168.2.2, port: 8080, weight: 3}
                  - {address: 192.168.2.3, health: {type: tcp}}
              - name: dns
                protocol: udp
                listen: {port: 53}
                scheduler: maglev
                maglev: {table_size: 251}
                backends: [{address: "2001:db8::5"}, {address: "2001:db8::6", health: {type: exec, command: [/bin/true, x]}}]
            firewall:
              policy: {input: drop, forward: drop, output: accept}
              ping: true
              allow:
                - {protocol: tcp, ports: [22, "8000-8100"], from: [10.0.0.0/8]}
              forward:
                - {protocol: udp, to: ["2001:db8::/32"], interface: eth1}
              log_drops: {prefix: "nflb-drop ", rate: 5/s}
            """;

    /** Pieces a mutation inserts: YAML syntax, edge values, things that once broke validate. */
    private static final String[] PIECES = {
            "[", "]", "{", "}", ":", ": ", "- ", "&a ", "*a", "*b", "!!int ", "!!str ", "!!binary ", "? ", "|", ">", "#", "'", "\"",
            "\t", "\n", "\n  ", "\r\n", "\u0000", "\u0085", "\uFEFF", "\uD83D\uDE00", "~", "null", "true", "0x7fffffff", "0o777",
            "99999999999999999999", "-1", "0", "65536", "999999999d", "1ms", "999d", "1500ms", "31d", "1h30m", "$", "\\",
            "nflb-drop $x", "a".repeat(40), "x".repeat(5000), "[[[[[[[[[[[[[[[[", "{{{{{{{{", "---\n", "...\n", "%YAML 1.2\n",
            "weight: 1001", "interval: 2h", "timeout: 3s", "table_size: 131073", "name: " + "abcdefghij-" + "0".repeat(8),
            "<<: *b", "backend: iptables", "scheduler: maglev", "min_sync_interval: 1ms", "resync_interval: 2d",
    };

    static LongStream seeds() {
        SplittableRandom seeds = new SplittableRandom(20261201L);
        return LongStream.generate(seeds::nextLong).limit(400);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void everyInputIsAConfigOrErrorsWithPositions(long seed) {
        String yaml = mutate(BASE, new SplittableRandom(seed));
        long start = System.nanoTime();
        try {
            Config c = ConfigLoader.parse("f.yaml", yaml, Dataplanes::refusals);
            // Accepted: both rule languages must render it (what apply and run would do with it).
            for (FakeKernel.Language l : FakeKernel.Language.values()) {
                if (l == FakeKernel.Language.IPTABLES && c.services().stream().anyMatch(s -> s.scheduler() == io.nflb.model.Scheduler.MAGLEV)) continue;
                if (l == FakeKernel.Language.IPTABLES && c.backend() == io.nflb.model.BackendKind.NFTABLES) continue;
                if (l == FakeKernel.Language.NFTABLES && c.backend() == io.nflb.model.BackendKind.IPTABLES) continue;
                assertThat(new FakeKernel(l).dataplane().plan(Planner.plan(c), false)).as(l + " rules").isNotNull();
            }
        } catch (ConfigException e) {
            assertThat(e.errors()).isNotEmpty();
            for (ConfigError err : e.errors()) {
                assertThat(err.line()).as("line of " + err).isPositive();
                assertThat(err.column()).as("column of " + err).isPositive();
                assertThat(err.message()).as("one line: " + err).doesNotContain("\n").doesNotContain("Exception");
            }
        } catch (RuntimeException | StackOverflowError e) {
            fail("seed " + seed + ": " + e + " for input:\n" + yaml, e);
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("time for seed " + seed).isLessThan(BOUND);
    }

    /** One to four edits: insert a piece, delete a range, duplicate or swap lines, re-indent, truncate. */
    static String mutate(String text, SplittableRandom r) {
        StringBuilder sb = new StringBuilder(text);
        int edits = 1 + r.nextInt(4);
        for (int e = 0; e < edits; e++) {
            int at = r.nextInt(sb.length() + 1);
            switch (r.nextInt(7)) {
                case 0, 1 -> sb.insert(at, PIECES[r.nextInt(PIECES.length)]);
                case 2 -> sb.delete(at, Math.min(sb.length(), at + 1 + r.nextInt(20)));
                case 3 -> {
                    List<String> lines = new ArrayList<>(List.of(sb.toString().split("\n", -1)));
                    int i = r.nextInt(lines.size());
                    lines.add(i, lines.get(r.nextInt(lines.size())));
                    sb = new StringBuilder(String.join("\n", lines));
                }
                case 4 -> {
                    List<String> lines = new ArrayList<>(List.of(sb.toString().split("\n", -1)));
                    int i = r.nextInt(lines.size());
                    int j = r.nextInt(lines.size());
                    String x = lines.get(i);
                    lines.set(i, lines.get(j));
                    lines.set(j, x);
                    sb = new StringBuilder(String.join("\n", lines));
                }
                case 5 -> sb.insert(at, " ".repeat(1 + r.nextInt(4)));
                default -> sb.setLength(at);
            }
        }
        if (r.nextInt(20) == 0) return "k: [" + "[".repeat(20_000) + "\n";
        if (r.nextInt(20) == 0) return "a: &a [x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\n"
                + "d: &d [*c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d]\nservices: [*e, *e, *e, *e, *e, *e, *e, *e]\n";
        return sb.toString();
    }
}
