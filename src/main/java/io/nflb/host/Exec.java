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
        return run(argv, env, stdin, timeout, MAX_OUTPUT);
    }

    /**
     * Runs {@code argv} with at most {@code maxOutput} bytes of stdout and of stderr kept (the rest is read and
     * dropped, so a chatty program neither blocks nor fills memory). The program runs in a process group of its
     * own (setsid); at the timeout, and once it has exited, whatever is left of that group is killed, so a
     * child that keeps a pipe open or lingers in the background never outlives the call. stdin is written to a
     * file before the program starts: a caller killed halfway never hands it half a transaction.
     */
    public Result run(List<String> argv, java.util.Map<String, String> env, String stdin, Duration timeout, int maxOutput) {
        return run(argv, env, stdin, timeout, maxOutput, false);
    }

    /**
     * A health check's program: like {@link #run(List, java.util.Map, String, Duration, int)}, and when it
     * ends, whatever it left running in its process group is killed too.
     */
    public Result runCheck(List<String> argv, java.util.Map<String, String> env, Duration timeout, int maxOutput) {
        return run(argv, env, null, timeout, maxOutput, true);
    }

    private Result run(List<String> argv, java.util.Map<String, String> env, String stdin, Duration timeout, int maxOutput,
                       boolean killLeftovers) {
        List<String> cmd = command(argv);
        List<String> started = new ArrayList<>();
        if (SETSID != null) started.add(SETSID);
        started.addAll(cmd);
        ProcessBuilder pb = new ProcessBuilder(started);
        pb.environment().putAll(env);
        pb.environment().put("LC_ALL", "C");
        java.nio.file.Path input = null;
        Process p;
        try {
            if (stdin != null && !stdin.isEmpty()) {
                input = java.nio.file.Files.createTempFile("nflb-stdin-", ".txt");
                java.nio.file.Files.writeString(input, stdin);
                pb.redirectInput(input.toFile());
            } else {
                pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            }
            p = pb.start();
        } catch (IOException e) {
            throw new ExecException("cannot run " + cmd.get(0) + ": " + e.getMessage(), e);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            throw new ExecException("too many programs running at once to run " + cmd.get(0), e);
        } finally {
            deleteQuietly(input);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        CompletableFuture<byte[]> out;
        CompletableFuture<byte[]> err;
        try {
            out = drain(p.getInputStream(), maxOutput);
            err = drain(p.getErrorStream(), maxOutput);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            killGroup(p);
            throw new ExecException("too many programs running at once to run " + cmd.get(0), e);
        }
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                killGroup(p);
                p.waitFor(5, TimeUnit.SECONDS);
                throw new ExecException(String.join(" ", cmd) + " did not finish within " + timeout.toMillis() + " ms", null);
            }
            // A child still holding the pipes must not keep us past the timeout: its group goes with it.
            long left = Math.max(0, deadline - System.nanoTime());
            try {
                CompletableFuture.allOf(out, err).get(Math.max(left, TimeUnit.MILLISECONDS.toNanos(100)), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                killGroup(p);
            }
            if (killLeftovers) killGroup(p);
            return new Result(cmd, p.exitValue(),
                    new String(out.get(5, TimeUnit.SECONDS), StandardCharsets.UTF_8),
                    new String(err.get(5, TimeUnit.SECONDS), StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            killGroup(p);
            Thread.currentThread().interrupt();
            throw new ExecException("interrupted while running " + cmd.get(0), e);
        } catch (ExecutionException | TimeoutException e) {
            killGroup(p);
            throw new ExecException("lost the output of " + cmd.get(0) + ": " + e.getMessage(), e);
        }
    }

    /** Kills the process and, when it leads a group of its own (setsid), every process left in that group. */
    private static void killGroup(Process p) {
        if (SETSID != null) {
            // setsid made the program a group leader: its pid is the group's id. kill(2) on -pgid reaches the
            // processes that reparented away from it, which descendants() no longer finds.
            try {
                new ProcessBuilder(KILL, "-KILL", "--", "-" + p.pid()).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(5, TimeUnit.SECONDS);
            } catch (IOException e) {
                // fall through to the descendants we can still see
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }

    private static void deleteQuietly(java.nio.file.Path p) {
        if (p == null) return;
        try {
            java.nio.file.Files.deleteIfExists(p);
        } catch (IOException e) {
            // a temp file; the OS cleans /tmp
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

    /** Reads {@code stream} to its end on a pool thread, keeping the first {@code max} bytes. */
    private static CompletableFuture<byte[]> drain(InputStream stream, int max) {
        return CompletableFuture.supplyAsync(() -> {
            try (InputStream s = stream) {
                ByteArrayOutputStream buf = new ByteArrayOutputStream();
                byte[] chunk = new byte[8192];
                for (int n = s.read(chunk); n >= 0; n = s.read(chunk)) {
                    int keep = Math.min(n, max - buf.size());
                    if (keep > 0) buf.write(chunk, 0, keep);
                }
                return buf.toByteArray();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, DaemonThreads.POOL);
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

    /**
     * Starts a long-lived program (a daemon nflb supervises) in this Exec's namespace, its stdout and stderr
     * appended to {@code log}: no pipe to drain, however much it writes. The caller waits for it and ends it.
     */
    public Process spawn(List<String> argv, java.nio.file.Path log) {
        List<String> cmd = command(argv);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("LC_ALL", "C");
        try {
            return pb.start();
        } catch (IOException e) {
            throw new ExecException("cannot run " + cmd.get(0) + ": " + e.getMessage(), e);
        }
    }

    /** A running program from {@link #start}: lines in, stderr lines out, killed on close. */
    public static final class Session implements AutoCloseable {
        private final List<String> command;
        private final Process process;
        private final OutputStream in;
        private final java.util.concurrent.BlockingQueue<String> errors = new java.util.concurrent.LinkedBlockingQueue<>();

        private Session(List<String> command, Process process) {
            this.command = List.copyOf(command);
            this.process = process;
            this.in = process.getOutputStream();
            drain(process.getInputStream(), 0);
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

        /** One write of the whole text: a short one reaches the pipe whole or not at all. */
        public void write(String text) throws IOException {
            in.write(text.getBytes(StandardCharsets.UTF_8));
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

    /**
     * The threads that drain programs' output: two per running program, at most {@value #MAX_THREADS} in all
     * (past that a run fails at once instead of creating more), idle ones end after a minute. Daemon threads,
     * so a stuck pipe can never keep the JVM alive.
     */
    private static final class DaemonThreads {
        static final java.util.concurrent.ThreadPoolExecutor POOL = new java.util.concurrent.ThreadPoolExecutor(0, MAX_THREADS,
                60, TimeUnit.SECONDS, new java.util.concurrent.SynchronousQueue<>(), r -> {
            Thread t = new Thread(null, r, "nflb-exec", 256 * 1024);
            t.setDaemon(true);
            return t;
        });
    }

    /** Output kept per stream by default: far more than any kernel tool prints for nflb's tables. */
    public static final int MAX_OUTPUT = 256 * 1024 * 1024;
    static final int MAX_THREADS = 48;
    private static final String SETSID = Tools.has("setsid") ? "setsid" : null;
    private static final String KILL = "kill";
}
