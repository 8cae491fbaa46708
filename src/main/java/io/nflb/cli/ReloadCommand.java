package io.nflb.cli;

import io.nflb.config.ConfigException;
import io.nflb.host.Exec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "reload", description = {
        "Check the config, then tell the running daemon (`nflb run`) to re-read it (SIGHUP).",
        "An invalid file is refused here with its errors, and the daemon is not disturbed."})
final class ReloadCommand implements Callable<Integer> {

    static final String DEFAULT_PID_FILE = "/run/nflb/nflb.pid";

    @Mixin
    ConfigOption config;

    @Option(names = "--pid-file", paramLabel = "FILE", defaultValue = DEFAULT_PID_FILE,
            description = "The running daemon's pid file (default: ${DEFAULT-VALUE}).")
    Path pidFile;

    @Override
    public Integer call() throws ConfigException, IOException {
        config.load(); // the daemon would refuse it too; saying so here gives the errors to whoever typed the command
        Long pid = livePid(pidFile);
        if (pid == null) throw new IllegalStateException("no running nflb daemon (pid file " + pidFile + ")");
        Exec.host().check(List.of("kill", "-HUP", String.valueOf(pid)));
        System.out.println("asked nflb (pid " + pid + ") to reload " + config.file + "; its log shows the result");
        return Main.OK;
    }

    /** The pid in {@code pidFile} when that process is alive and is nflb; null when there is none. */
    static Long livePid(Path pidFile) throws IOException {
        String text;
        try {
            text = Files.readString(pidFile).strip();
        } catch (NoSuchFileException e) {
            return null;
        }
        if (!text.matches("[0-9]{1,10}")) throw new IllegalStateException(pidFile + " does not hold a pid");
        long pid = Long.parseLong(text);
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                // A stale file whose pid was reused by another program must not get our signal.
                .filter(p -> p.info().commandLine().map(cl -> cl.contains("nflb")).orElse(true))
                .map(ProcessHandle::pid).orElse(null);
    }
}
