package io.nflb.cli;

import io.nflb.lint.LintReport;
import io.nflb.lint.Linter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "lint", description = {
        "Check any iptables-save dump, nflb's or not, and report what is wrong in it.",
        "It shows balancing groups and the share each target really gets (the tutorial's two bugs by name), "
                + "rules that can never match, DNAT with no forwarding path, and --state NEW in nat.",
        "Exit code 1 when an error is found."})
final class LintCommand implements Callable<Integer> {

    @Parameters(arity = "0..1", paramLabel = "FILE", description = "An iptables-save dump ('-' for standard input).")
    Path file;

    @Option(names = "--live", description = "Read the kernel's rules (iptables-save) instead of a file.")
    boolean live;

    @Mixin
    NetnsOption netns;

    @Mixin
    JsonOption output;

    @Override
    public Integer call() throws Exception {
        if (live == (file != null)) throw new Main.UsageException("lint needs a FILE or --live (one of them)");
        String text = live ? netns.exec().check(List.of("iptables-save")).stdout()
                : file.toString().equals("-") ? new String(System.in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
                : Files.readString(file);
        LintReport report = Linter.lint(text);
        System.out.print(output.json ? report.toJson() : report.toText());
        return report.hasErrors() ? Main.FAILURE : Main.OK;
    }
}
