package io.nflb.host;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs kernel tools. Always an argument list (never a shell), stdin written and stdout/stderr drained on
 * their own threads so a chatty tool can never dead-lock on a full pipe, and a timeout after which the
 * process is killed. An Exec made with {@link #inNetns} runs everything inside that network namespace.
 */
public final class Exec {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    /**
     * How long a tool may take to load {@code input}: the default, plus 5 s a megabyte. nft -f and iptables-restore
     * take about a second a megabyte on a 2-core machine (100,000 round-robin services: 60 MB, 60 s), and several
     * times that under load.
     */
    public static Duration timeoutFor(String input) {
        return DEFAULT_TIMEOUT.plusSeconds(5L * (input == null ? 0 : input.length() >> 20));
    }

    private static final Exec HOST = new Exec(List.of(), null);

    private final List<String> prefix;
    private final String netns;

    private Exec(List<String> prefix, String netns) {
        this.prefix = List.copyOf(prefix);
        this.netns = netns;
    }

    /** Runs commands in the namespace nflb itself runs in. */
    public static Exec host() {
        return HOST;
    }

    /** Runs commands inside a named network namespace, through {@code ip netns exec}. */
    public static Exec inNetns(String name) {
        if (name == null || !name.matches("[A-Za-z0-9_.-]{1,64}")) {
            throw new IllegalArgumentException("bad network namespace name: " + name);
        }
        return new Exec(List.of("ip", "netns", "exec", name), name);
    }

    /** The namespace this Exec runs in, or null for the host's own. */
    public String netns() {
        return netns;
    }

    /** The full argument list that would be started for {@code argv}. */
    public List<String> command(List<String> argv) {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(argv);
        return cmd;
    }

    public Result run(List<String> argv) {
        return run(argv, null, DEFAULT_TIMEOUT);
    }

    public Result run(List<String> argv, String stdin) {
        return run(argv, stdin, timeoutFor(stdin));
    }

    /**
     * Runs {@code argv} to completion. Never throws for a non-zero exit: the caller decides. Throws
     * {@link ExecException} when the program cannot be started or does not finish within {@code timeout}.
     */
    public Result run(List<String> argv, String stdin, Duration timeout) {
        return run(argv, java.util.Map.of(), stdin, timeout);
    }

    /**
     * Like {@link #run(List, String, Duration)} with {@code env} added to the environment: how a health
     * check command learns which backend to check. Still an argument list, never a shell.
     */
    public Result run(List<String> argv, java.util.Map<String, String> env, String stdin, Duration timeout) {
        List<String> cmd = command(argv);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(env);
        pb.environment().put("LC_ALL", "C");
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new ExecException("cannot run " + cmd.get(0) + ": " + e.getMessage(), e);
        }
        CompletableFuture<byte[]> out = drain(p.getInputStream());
        CompletableFuture<byte[]> err = drain(p.getErrorStream());
        CompletableFuture<Void> in = CompletableFuture.runAsync(() -> feed(p.getOutputStream(), stdin), DaemonThreads.POOL);
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                throw new ExecException(String.join(" ", cmd) + " did not finish within " + timeout.toMillis() + " ms", null);
            }
            in.get(5, TimeUnit.SECONDS);
            return new Result(cmd, p.exitValue(),
                    new String(out.get(5, TimeUnit.SECONDS), StandardCharsets.UTF_8),
                    new String(err.get(5, TimeUnit.SECONDS), StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new ExecException("interrupted while running " + cmd.get(0), e);
        } catch (ExecutionException | TimeoutException e) {
            p.destroyForcibly();
            throw new ExecException("lost the output of " + cmd.get(0) + ": " + e.getMessage(), e);
        }
    }

    /** Like {@link #run(List, String)} but throws unless the exit code is 0, with stderr in the message. */
    public Result check(List<String> argv, String stdin) {
        Result r = run(argv, stdin, timeoutFor(stdin));
        if (r.exitCode() != 0) {
            throw new ExecException(r.describeFailure(), null);
        }
        return r;
    }

    public Result check(List<String> argv) {
        return check(argv, null);
    }

    private static CompletableFuture<byte[]> drain(InputStream stream) {
        return CompletableFuture.supplyAsync(() -> {
            try (InputStream s = stream) {
                ByteArrayOutputStream buf = new ByteArrayOutputStream();
                s.transferTo(buf);
                return buf.toByteArray();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, DaemonThreads.POOL);
    }

    private static void feed(OutputStream stream, String stdin) {
        try (OutputStream s = stream) {
            if (stdin != null) s.write(stdin.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // The program exited without reading all its input; its exit code tells the story.
        }
    }

    /**
     * Starts a long-lived program that reads commands line by line ({@code nft -i}): still an argument list
     * in this Exec's namespace; stdout is drained and dropped, stderr collected line by line for the caller.
     */
    public Session start(List<String> argv, java.util.Map<String, String> env) {
        List<String> cmd = command(argv);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(env);
        pb.environment().put("LC_ALL", "C");
        try {
            return new Session(cmd, pb.start());
        } catch (IOException e) {
            throw new ExecException("cannot run " + cmd.get(0) + ": " + e.getMessage(), e);
        }
    }

    /** A running program from {@link #start}: lines in, stderr lines out, killed on close. */
    public static final class Session implements AutoCloseable {
        private final List<String> command;
        private final Process process;
        private final java.io.Writer in;
        private final java.util.concurrent.BlockingQueue<String> errors = new java.util.concurrent.LinkedBlockingQueue<>();

        private Session(List<String> command, Process process) {
            this.command = List.copyOf(command);
            this.process = process;
            this.in = new java.io.OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            drain(process.getInputStream());
            DaemonThreads.POOL.execute(() -> {
                try (java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
                    for (String line = r.readLine(); line != null; line = r.readLine()) errors.add(line);
                } catch (IOException e) {
                    // The program ended; callers see it as a timeout or a dead session.
                }
            });
        }

        public List<String> command() {
            return command;
        }

        public boolean alive() {
            return process.isAlive();
        }

        public void write(String text) throws IOException {
            in.write(text);
            in.flush();
        }

        /** The next stderr line, or null when none came within {@code timeout}. */
        public String nextError(Duration timeout) throws InterruptedException {
            return errors.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public void close() {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
    }

    /** What a finished program did. */
    public record Result(List<String> command, int exitCode, String stdout, String stderr) {

        public boolean ok() {
            return exitCode == 0;
        }

        public String describeFailure() {
            String msg = stderr.isBlank() ? stdout.strip() : stderr.strip();
            return String.join(" ", command) + " failed (exit " + exitCode + ")" + (msg.isEmpty() ? "" : ": " + msg);
        }
    }

    /** A program that could not be started, timed out, or (from {@code check}) failed. */
    public static final class ExecException extends RuntimeException {
        public ExecException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Daemon threads so a stuck pipe can never keep the JVM alive. */
    private static final class DaemonThreads {
        static final java.util.concurrent.ExecutorService POOL = java.util.concurrent.Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "nflb-exec");
            t.setDaemon(true);
            return t;
        });
    }
}
