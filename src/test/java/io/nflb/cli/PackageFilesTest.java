package io.nflb.cli;

import io.nflb.config.ConfigLoader;
import io.nflb.config.ConfigSchema;
import io.nflb.config.Schema;
import io.nflb.host.Exec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;

/** What the build makes from the command-line model: man pages, the completion script, gzip, the version. */
class PackageFilesTest {

    @TempDir
    Path dir;

    @Test
    void aManPageForEveryVisibleCommandWithItsOptionsAndDefaults() {
        Map<String, String> pages = ManPages.render(Main.commandLine(), "1.2.3", "2026-11-30");
        assertThat(pages).containsKeys("nflb", "nflb-apply", "nflb-restore", "nflb-backend", "nflb-backend-drain", "nflb-lab-down")
                .doesNotContainKeys("nflb-help", "nflb-__complete");
        String apply = pages.get("nflb-apply");
        assertThat(apply).contains(".TH NFLB\\-APPLY 1 \"2026-11-30\" \"nflb 1.2.3\"",
                "nflb\\-apply \\- Load the config's rules in one atomic transaction",
                "\\fB\\-\\-state\\-dir\\fR=\\fIDIR\\fR\nWhere generations are kept (default: /var/lib/nflb).",
                "unless \\fBnflb confirm\\fR runs within DURATION", ".SH EXIT STATUS");
        assertThat(pages.get("nflb")).contains("\\fBnflb\\-restore\\fR(1)", ".SH FILES", "/etc/nflb/nflb.yaml");
        assertThat(pages.get("nflb-backend-drain")).contains("\\fISERVICE\\fR", "\\fBnflb\\-backend\\fR(1)");
        for (String page : pages.values()) {
            // Nothing the code writes may reach troff as a request or an unescaped backslash.
            assertThat(page.lines().filter(l -> !l.startsWith(".") && (l.startsWith("'") || l.matches(".*\\\\[^efI&(-].*"))))
                    .isEmpty();
        }
    }

    @Test
    void theConfigFilesPageHasEveryKeyOfTheSchemaWithWhatItTakesAndItsDefault() throws Exception {
        String page = ManPages.configFile("1.2.3", "2026-11-30");
        assertThat(page).contains(".TH NFLB.YAML 5 \"2026-11-30\" \"nflb 1.2.3\"", ".SS The top level\n", ".SS services[].listen\n",
                ".SS services[].backends[].health\nThe keys of \\fBservices[].health\\fR, above.",
                "\\fBweight\\fR\n\\fIinteger 1..1000\\fR; default: 1.", "\\fBprefix\\fR\n", "; default: \"nflb\\-drop \".",
                ".SH EXAMPLE", "/usr/share/nflb/nflb.schema.json", "\\fBnflb\\-schema\\fR(1)");
        int keys = 0;
        for (Schema.Section s : Schema.sections(ConfigSchema.ROOT)) {
            if (s.sameAs().isPresent()) continue;
            for (Schema.Key k : s.spec().keys()) {
                assertThat(page).contains(".TP\n\\fB" + ManPages.escape(k.name()) + "\\fR\n\\fI" + ManPages.escape(k.type().describe())
                        + "\\fR; " + ManPages.escape(k.presence().describe()) + ".\n.br\n" + ManPages.prose(k.doc()) + "\n");
                keys++;
            }
        }
        assertThat(keys).isGreaterThan(50);
        assertThat(page.lines().filter(l -> !l.startsWith(".") && (l.startsWith("'") || l.matches(".*\\\\[^efI&(-].*")))).isEmpty();
        ConfigLoader.parse("nflb.yaml(5)", ManPages.CONFIG_EXAMPLE);
        assertThat(ManPages.render(Main.commandLine(), "1.2.3", "2026-11-30").get("nflb-validate")).contains("\\fBnflb.yaml\\fR(5)");
    }

    @Test
    void troffEscapesWhatItWouldReadAsRequests() {
        assertThat(ManPages.prose(".hidden request \\ and `code`")).isEqualTo("\\&.hidden request \\e and \\fBcode\\fR");
        assertThat(ManPages.prose("'quote")).startsWith("\\&'");
    }

    @Test
    void gzipAsGzipNineNWritesIt() throws Exception {
        Path gz = dir.resolve("x.1.gz");
        String text = "hello \u00e9 ".repeat(1000);
        PackageFiles.writeGzip(gz, text);
        byte[] bytes = Files.readAllBytes(gz);
        assertThat(bytes[8]).as("XFL: maximum compression").isEqualTo((byte) 2);
        assertThat(bytes[9]).as("OS: Unix").isEqualTo((byte) 3);
        assertThat(bytes).hasSizeLessThan(200);
        try (InputStream in = new GZIPInputStream(Files.newInputStream(gz))) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(text);
        }
    }

    @Test
    void debianVersionsSortSnapshotsBeforeTheirRelease() {
        assertThat(PackageFiles.debianVersion("0.1.0-SNAPSHOT")).isEqualTo("0.1.0~SNAPSHOT");
        assertThat(PackageFiles.debianVersion("1.2.3")).isEqualTo("1.2.3");
        assertThat(PackageFiles.debianVersion("1.2_rc")).isEqualTo("1.2+rc");
    }

    @Test
    void theCommitIsUnknownOutsideAGitWorkTree() {
        assertThat(PackageFiles.gitCommit(dir)).isEqualTo("unknown");
    }

    /**
     * The completion script's own logic, in a real bash, against a stand-in nflb that answers __complete the
     * way the real one does (the package test drives the installed one): which words go to __complete, -c
     * and --config=, and ADDRESS:PORT split at ':' by bash.
     */
    @Test
    void backendCommandsCompleteServicesThenBackendsOfTheConfigGiven() throws Exception {
        Path script = dir.resolve("nflb-completion");
        Files.writeString(script, Completion.bash(Main.commandLine()));
        assertThat(Files.readString(script)).doesNotStartWith("#!").contains("_nflb_backend_admin _picocli_nflb_backend_drain");
        Path fake = dir.resolve("fake-nflb");
        Files.writeString(fake, """
                #!/bin/sh
                # __complete services|backends [SERVICE] -c FILE
                if [ "$2" = services ]; then printf '%s\\n' "$4" web web2 dns; fi
                if [ "$2" = backends ]; then printf '%s\\n' "$3-10.1.0.2" 10.1.0.3:80 10.1.0.3:8080; fi
                """);
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertThat(complete(script, fake, "backend drain ")).isEqualTo("/etc/nflb/nflb.yaml|dns|web|web2");
        assertThat(complete(script, fake, "backend drain -c /tmp/x.yaml we")).isEqualTo("web|web2");
        assertThat(complete(script, fake, "backend disable --config=/tmp/y.yaml ")).contains("/tmp/y.yaml");
        assertThat(complete(script, fake, "backend enable --socket /run/s web ")).isEqualTo("10.1.0.3:80|10.1.0.3:8080|web-10.1.0.2");
        assertThat(complete(script, fake, "backend drain web 10.1.0.3:8")).isEqualTo("80|8080");
        assertThat(complete(script, fake, "backend drain web 10.1.0.3:808")).isEqualTo("8080");
        assertThat(complete(script, fake, "backend drain web 10.1.0.3:80 ")).isEmpty();
        assertThat(complete(script, fake, "backend drain --so")).isEqualTo("--socket");
        assertThat(complete(script, fake, "ap")).isEqualTo("apply");
    }

    /** COMPREPLY, sorted and joined with '|', for the command line {@code nflb LINE} with the cursor at its end. */
    private static String complete(Path script, Path fake, String line) {
        String bash = """
                source "$1"
                COMP_LINE="$2 $3"; COMP_POINT=${#COMP_LINE}
                read -r -a COMP_WORDS <<< "${COMP_LINE//:/ : }"
                case $COMP_LINE in *' ') COMP_WORDS+=("") ;; esac
                COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
                _complete_nflb 2>/dev/null
                printf '%s\\n' "${COMPREPLY[@]}" | sort | paste -sd'|'
                """;
        Exec.Result r = Exec.host().run(List.of("bash", "-c", bash, "bash", script.toString(), fake.toString(), line),
                null, Duration.ofSeconds(30));
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        return r.stdout().strip();
    }
}
