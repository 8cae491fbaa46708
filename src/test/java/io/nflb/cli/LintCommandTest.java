package io.nflb.cli;

import io.nflb.dataplane.Dataplanes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** nflb lint as a user runs it: help, exit codes, text, JSON and SARIF 2.1.0 (its required properties checked). */
class LintCommandTest {

    @TempDir
    Path dir;

    private Path dump(String resource) throws IOException {
        Path p = dir.resolve(resource.substring(resource.lastIndexOf('/') + 1));
        try (InputStream in = getClass().getResourceAsStream("/lint/" + resource)) {
            Files.write(p, in.readAllBytes());
        }
        return p;
    }

    private static Cli.Ran lint(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "lint";
        System.arraycopy(args, 0, all, 1, args.length);
        return Cli.run(Dataplanes.REAL, all);
    }

    @Test
    void helpSaysWhatTheExitCodesMean() {
        Cli.Ran r = lint("--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("Usage: nflb lint", "--format", "sarif", "Exit codes: 0 no error found; 1 at least one");
    }

    @Test
    void exitCodesCleanErrorsAndUnusableInput() throws IOException {
        assertThat(lint(dump("docker-host.rules").toString()).code()).isZero();
        Cli.Ran errors = lint(dump("dnat/dnat-policy-drop.rules").toString());
        assertThat(errors.code()).isEqualTo(1);
        assertThat(errors.out()).contains("[dnat-without-forward]", "9 rules read, 0 not understood");

        Path garbage = dump("problems/garbage.txt");
        Cli.Ran bad = lint(garbage.toString());
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.out()).isEmpty();
        assertThat(bad.err()).contains(garbage + ":1:1: error: '<html>' is not iptables-save output");

        Cli.Ran missing = lint(dir.resolve("nothing.rules").toString());
        assertThat(missing.code()).isEqualTo(2);
        assertThat(missing.err()).contains("nothing.rules: no such file");

        // iptables-save that cannot run (here: a namespace that does not exist) is a tool failure, not "errors found".
        Cli.Ran live = lint("--live", "--netns", "nflb-t-lint-no-such-namespace");
        assertThat(live.code()).isEqualTo(2);
        assertThat(live.err()).contains("iptables-save");

        assertThat(lint("--format", "xml", garbage.toString()).code()).isEqualTo(2);
        assertThat(lint().code()).isEqualTo(2);
    }

    @Test
    void jsonHasTheAccountingFindingsAndGroups() throws IOException {
        Cli.Ran r = lint("--json", dump("problems/every-zero.rules").toString());
        assertThat(r.code()).isEqualTo(1);
        Map<String, Object> json = json(r.out());
        assertThat(json).containsEntry("rules", 4).containsEntry("notUnderstood", 1).containsEntry("refused", 1).containsEntry("exitCode", 1);
        List<Map<String, Object>> findings = list(json.get("findings"));
        assertThat(findings).singleElement().satisfies(f -> {
            assertThat(f).containsEntry("line", 8).containsEntry("code", "rejected-by-iptables").containsEntry("severity", "error");
            assertThat((String) f.get("message")).contains("--every 0");
            assertThat((int) f.get("column")).isGreaterThan(1);
        });
        assertThat(list(json.get("groups"))).singleElement().satisfies(g -> assertThat(g).containsEntry("evaluated", false));
    }

    @Test
    void sarifHasEveryRequiredProperty() throws IOException {
        Path file = dump("shorewall-router.rules");
        String relative = Path.of("").toAbsolutePath().relativize(file).toString();
        Cli.Ran r = lint("--format", "sarif", relative);
        assertThat(r.code()).isZero();
        Map<String, Object> log = json(r.out());
        assertThat(log).containsEntry("version", "2.1.0").containsKey("$schema");
        Map<String, Object> run = map(list(log.get("runs")).get(0));
        Map<String, Object> driver = map(map(run.get("tool")).get("driver"));
        assertThat(driver).containsEntry("name", "nflb lint");
        List<Map<String, Object>> rules = list(driver.get("rules"));
        assertThat(rules).extracting(x -> x.get("id")).contains("unreachable", "dnat-without-forward", "independent-probabilities",
                "not-understood", "rejected-by-iptables");
        for (Map<String, Object> rule : rules) {
            assertThat(rule).containsKeys("id", "shortDescription", "defaultConfiguration");
            assertThat(map(rule.get("shortDescription"))).containsKey("text");
        }
        assertThat(map(list(run.get("invocations")).get(0))).containsEntry("executionSuccessful", true).containsEntry("exitCode", 0);
        Map<String, Object> artifact = map(list(run.get("artifacts")).get(0));
        assertThat(map(artifact.get("location"))).containsEntry("uri", relative.replace('\\', '/'));
        List<Map<String, Object>> results = list(run.get("results"));
        assertThat(results).singleElement().satisfies(res -> {
            assertThat(res).containsEntry("ruleId", "unreachable").containsEntry("level", "warning");
            assertThat(rules.get((int) res.get("ruleIndex"))).containsEntry("id", "unreachable");
            assertThat((String) map(res.get("message")).get("text")).contains("line 35", "net-fw");
            Map<String, Object> location = map(map(list(res.get("locations")).get(0)).get("physicalLocation"));
            assertThat(map(location.get("artifactLocation"))).containsEntry("uri", relative.replace('\\', '/'));
            Map<String, Object> region = map(location.get("region"));
            assertThat(region).containsEntry("startLine", 36).containsEntry("startColumn", 1);
            assertThat((String) map(region.get("snippet")).get("text")).startsWith("-A INPUT -i eth0 -p tcp");
            assertThat(list(res.get("relatedLocations"))).extracting(x -> map(map(map(x).get("physicalLocation")).get("region")).get("startLine"))
                    .containsExactly(35, 155);
            assertThat(map(res.get("partialFingerprints"))).containsKey("nflbRule/v1");
        });
        assertThat(map(run.get("properties"))).containsEntry("rulesRead", 158).containsEntry("notUnderstood", 0);
    }

    @Test
    void sarifForATextThatIsNoDumpIsAFailedInvocationWithItsLocation() throws IOException {
        Path file = dump("problems/truncated.rules");
        Cli.Ran r = lint("--format", "sarif", file.toString());
        assertThat(r.code()).isEqualTo(2);
        Map<String, Object> run = map(list(json(r.out()).get("runs")).get(0));
        assertThat(list(run.get("results"))).isEmpty();
        Map<String, Object> invocation = map(list(run.get("invocations")).get(0));
        assertThat(invocation).containsEntry("executionSuccessful", false).containsEntry("exitCode", 2);
        Map<String, Object> note = map(list(invocation.get("toolExecutionNotifications")).get(0));
        assertThat((String) map(note.get("message")).get("text")).contains("ends inside table nat at line 148");
        assertThat(map(map(map(list(note.get("locations")).get(0)).get("physicalLocation")).get("region"))).containsEntry("startLine", 148);
        assertThat(r.err()).contains(":148:1: error:");
    }

    @Test
    void standardInputIsReadAndNamedStdin() throws IOException {
        byte[] text = Files.readAllBytes(dump("problems/cidr-shadow.rules"));
        var savedIn = System.in;
        try {
            System.setIn(new java.io.ByteArrayInputStream(text));
            Cli.Ran r = lint("--format", "sarif", "-");
            assertThat(r.code()).isZero();
            Map<String, Object> artifact = map(list(map(list(json(r.out()).get("runs")).get(0)).get("artifacts")).get(0));
            assertThat(map(artifact.get("location"))).containsEntry("uri", "stdin");
            assertThat((String) map(artifact.get("contents")).get("text")).isEqualTo(new String(text, StandardCharsets.UTF_8));
        } finally {
            System.setIn(savedIn);
        }
    }

    private static Map<String, Object> json(String text) {
        return map(new Load(LoadSettings.builder().build()).loadFromString(text));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> list(Object o) {
        return (List<Map<String, Object>>) o;
    }
}
