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
import java.time.Duration;
import io.nflb.daemon.ControlClient;

@Command(name = "reload", description = {
        "Check the config, then have the running daemon (`nflb run`) re-read and apply it, and print what it did.",
        "The daemon is asked over its control socket and answers with the outcome, or why it refused (exit 1). "
                + "An invalid file is refused here with its errors, and the daemon is not disturbed. When no daemon "
                + "answers on the socket, SIGHUP is sent to the pid in --pid-file instead; its outcome is then unknown "
                + "(see the daemon's log), and the exit code says so (1)."})
final class ReloadCommand implements Callable<Integer> {

    static final String DEFAULT_PID_FILE = "/run/nflb/nflb.pid";
    /** A reload of a very large config can take minutes on iptables; the daemon itself gives up after 5. */
    static final Duration RELOAD_TIMEOUT = Duration.ofMinutes(6);

    @Mixin
    ConfigOption config;

    @Option(names = "--pid-file", paramLabel = "FILE", defaultValue = DEFAULT_PID_FILE,
            description = "The running daemon's pid file, for the SIGHUP fallback (default: ${DEFAULT-VALUE}).")
    Path pidFile;

    @Option(names = "--socket", paramLabel = "FILE", defaultValue = RunCommand.DEFAULT_SOCKET,
            description = "The daemon's control socket (default: ${DEFAULT-VALUE}).")
    Path socket;

    @Override
    public Integer call() throws ConfigException, IOException {
        config.load(); // the daemon would refuse it too; saying so here gives the errors to whoever typed the command
        String noAnswer;
        try {
            ControlClient.Answer a = ControlClient.ask(socket, "reload", RELOAD_TIMEOUT);
            if (a.ok()) {
                System.out.print(a.text());
                return Main.OK;
            }
            System.err.print(a.text());
            return Main.FAILURE;
        } catch (IOException e) {
            noAnswer = e.getMessage();
        }
        Long pid = livePid(pidFile);
        if (pid == null) {
            throw new IllegalStateException("no nflb daemon answers on " + socket + " (" + noAnswer + ") and none runs by "
                    + pidFile + "; is `nflb run` running?");
        }
        Exec.host().check(List.of("kill", "-HUP", String.valueOf(pid)));
        System.err.println("nflb: no daemon answers on " + socket + " (" + noAnswer + "); sent SIGHUP to pid " + pid
                + " instead. Whether it reloaded " + config.file + " is not known here: see its log.");
        return Main.FAILURE;
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
