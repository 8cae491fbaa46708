package io.nflb.cli;

import io.nflb.host.Exec;
import io.nflb.lint.LintReport;
import io.nflb.lint.Linter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "lint", sortOptions = false, description = {
        "Check any iptables-save or ip6tables-save dump, nflb's or not, and report what is wrong in it.",
        "Every rule is read or reported (line, word, why). "
                + "Reports rules that can never match (across chains, naming the rule that hides them), balancing groups with the "
                + "exact share each DNAT target gets (and the tutorial's two mistakes by name), DNAT with no FORWARD path (naming "
                + "the rule or policy that drops it), and --state NEW in nat.",
        "Exit codes: 0 no error found; 1 at least one finding of severity error; 2 the input is not an iptables-save dump "
                + "(or is truncated), the file cannot be read, iptables-save fails, or lint itself fails."},
        footer = {"", "Examples:", "  iptables-save | nflb lint -", "  nflb lint --format sarif dump.rules > lint.sarif",
                "  nflb lint --live --netns ns1"})
final class LintCommand implements Callable<Integer> {

    @Parameters(arity = "0..1", paramLabel = "FILE", description = "An iptables-save or ip6tables-save dump ('-' for standard input).")
    String file;

    @Option(names = "--live", description = "Read the kernel's rules (iptables-save) instead of a file.")
    boolean live;

    @Option(names = "--ipv6", description = "With --live: read ip6tables-save instead.")
    boolean ipv6;

    @Mixin
    NetnsOption netns;

    @Option(names = "--format", paramLabel = "FORMAT", description = "text (default), json or sarif (SARIF 2.1.0, for code scanners and CI).")
    String format;

    @Option(names = "--json", description = "Same as --format json.")
    boolean json;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private static final Duration SAVE_TIMEOUT = Duration.ofSeconds(60);

    @Override
    public Integer call() {
        if (live == (file != null)) throw new Main.UsageException("lint needs a FILE or --live (one of them)");
        if (ipv6 && !live) throw new Main.UsageException("--ipv6 goes with --live");
        String fmt = format == null ? (json ? "json" : "text") : format;
        if (!List.of("text", "json", "sarif").contains(fmt) || (json && !fmt.equals("json"))) {
            throw new Main.UsageException("--format takes text, json or sarif" + (json ? " (and --json means json)" : ""));
        }
        PrintStream out = System.out;
        String artifact;
        String text;
        try {
            if (live) {
                artifact = ipv6 ? "ip6tables-save" : "iptables-save";
                Exec.Result r = netns.exec().run(List.of(artifact), "", SAVE_TIMEOUT);
                if (!r.ok()) return unusable(artifact + " failed: " + r.describeFailure());
                text = r.stdout();
            } else if (file.equals("-")) {
                artifact = "stdin";
                text = new String(System.in.readAllBytes(), StandardCharsets.UTF_8);
            } else {
                artifact = file;
                text = Files.readString(Path.of(file), StandardCharsets.UTF_8);
            }
        } catch (NoSuchFileException e) {
            return unusable(file + ": no such file");
        } catch (IOException | RuntimeException e) {
            return unusable(live ? String.valueOf(e.getMessage()) : "cannot read " + file + ": " + e.getMessage());
        }
        LintReport report;
        try {
            report = Linter.lint(artifact, text, Linter.Options.system());
        } catch (RuntimeException | StackOverflowError e) {
            return unusable("internal error: " + e + "; please report it with the dump");
        }
        // A text that is no dump: the error (FILE:LINE:COL) on stderr; JSON and SARIF still get their document.
        if (report.fatal().isPresent()) error("nflb: " + report.toText().strip());
        switch (fmt) {
            case "json" -> out.print(report.toJson());
            case "sarif" -> out.print(report.toSarif(BuildInfo.version()));
            default -> {
                if (report.fatal().isEmpty()) out.print(report.toText());
            }
        }
        out.flush();
        return report.exitCode();
    }

    private int unusable(String message) {
        error("nflb: " + message);
        return LintReport.UNUSABLE;
    }

    private void error(String line) {
        spec.commandLine().getErr().println(line);
        spec.commandLine().getErr().flush();
    }
}
