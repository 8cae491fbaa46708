package io.nflb.ha;

import io.nflb.dataplane.HaHold;
import io.nflb.host.Exec;
import io.nflb.model.Config;
import io.nflb.model.Ha;
import io.nflb.model.IpAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What `nflb run` does with a router's ha engines: renders their files into its ha directory, installs the
 * hold before anything starts, runs conntrackd (when the state is synced) and keepalived in the foreground as
 * its children, and reads keepalived's transitions from a FIFO (no process per transition: the hold comes off
 * as soon as the commit is done). When keepalived exits for any reason, SIGKILL included, whatever is left of
 * it (its VRRP child, from the pid files, only while it is a live keepalived) is killed, the pid files go (a
 * restarted keepalived would refuse "already running"), and the fault transition removes the virtual
 * addresses it can no longer remove; then it is restarted after a back-off, a bounded number of times.
 */
public final class Supervisor implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger("nflb.ha");
    private static final Pattern FIFO_LINE = Pattern.compile("INSTANCE \"([^\"]+)\" (MASTER|BACKUP|FAULT|STOP)\\b.*");
    static final int MAX_RESTARTS = 5;
    static final Duration RESTART_WINDOW = Duration.ofMinutes(10);
    static final Duration READY_WITHIN = Duration.ofSeconds(15);
    static final Duration POLL_EVERY = Duration.ofSeconds(2);

    private final Config config;
    private final HaLayout layout;
    private final Exec exec;
    private final HaHold hold;
    private final String routerName;
    private final Consumer<String> onGiveUp;
    private final ExecutorService transitionsRunner = Executors.newSingleThreadExecutor(daemonThread("nflb-ha-transitions"));
    private final Map<String, String> instances = new ConcurrentHashMap<>();
    private final List<Long> restartTimes = new ArrayList<>();
    private volatile boolean stopping;
    private volatile Process keepalived;
    private volatile Process conntrackd;
    private volatile FileChannel fifo;
    private volatile Transitions transitions;
    private volatile HaPlan plan;
    private volatile String role = "starting";
    private volatile Instant since = Instant.now();
    private volatile String cause = "starting";
    private volatile int restarts;
    private volatile Optional<SyncCounters> counters = Optional.empty();
    private Thread poller;

    /** {@code onGiveUp}: called once keepalived died more often than {@link #MAX_RESTARTS} times in {@link #RESTART_WINDOW}. */
    public Supervisor(Config config, HaLayout layout, Exec exec, HaHold hold, String routerName, Consumer<String> onGiveUp) {
        this.config = config;
        this.layout = layout;
        this.exec = exec;
        this.hold = hold;
        this.routerName = routerName;
        this.onGiveUp = onGiveUp;
    }

    /** Renders, holds, starts conntrackd (ready when it answers) and keepalived. Throws when either cannot start. */
    public synchronized void start() throws IOException {
        Files.createDirectories(layout.dir());
        HaFiles files = HaFiles.write(config, HaFacts.read(exec, config), layout, routerName, new KeepalivedConf.Hooks.Fifo(layout.fifo()), exec);
        plan = files.plan();
        transitions = new Transitions(plan, layout, exec, hold);
        transitions.holdAtStart();
        if (plan.conntrackdConf().isPresent()) startConntrackd();
        openFifo();
        startKeepalived();
        poller = daemonThread("nflb-ha-poll").newThread(this::poll);
        poller.start();
    }

    private void startConntrackd() throws IOException {
        Files.deleteIfExists(layout.conntrackdLock());
        Files.deleteIfExists(layout.conntrackdSocket());
        Process p = exec.spawn(List.of("conntrackd", "-C", layout.conntrackdConf().toString()), layout.conntrackdOut());
        conntrackd = p;
        long deadline = System.nanoTime() + READY_WITHIN.toNanos();
        while (!conntrackdAnswers()) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new IllegalStateException("conntrackd did not start: " + tail(layout.conntrackdOut()) + " " + tail(layout.conntrackdLog()));
            }
            sleep(50);
        }
        p.onExit().thenRun(() -> conntrackdExited(p));
        log.info("ha: conntrackd running (pid {})", p.pid());
    }

    private boolean conntrackdAnswers() {
        try {
            return exec.run(List.of("conntrackd", "-C", layout.conntrackdConf().toString(), "-s"), null, Duration.ofSeconds(5)).ok();
        } catch (Exec.ExecException e) {
            return false;
        }
    }

    private void conntrackdExited(Process p) {
        if (stopping || p != conntrackd) return;
        log.error("ha: conntrackd exited ({}); restarting it: the peer's entries it held are lost until the next resync", p.exitValue());
        transitionsRunner.execute(() -> {
            sleep(1000);
            if (stopping) return;
            try {
                startConntrackd();
                String conf = layout.conntrackdConf().toString();
                List<String> after = role.equals("primary") ? List.of("-R", "-B") : List.of("-n");
                for (String r : after) exec.run(List.of("conntrackd", "-C", conf, r), null, Transitions.CONNTRACKD_TIMEOUT);
            } catch (IOException | RuntimeException e) {
                log.error("ha: conntrackd could not be restarted: {}", e.getMessage());
            }
        });
    }

    private void openFifo() throws IOException {
        Files.deleteIfExists(layout.fifo());
        Exec.host().check(List.of("mkfifo", "-m", "600", layout.fifo().toString()));
        // Read and write: opening a FIFO for reading alone blocks until a writer comes, and keepalived must never
        // find it without a reader.
        fifo = FileChannel.open(layout.fifo(), StandardOpenOption.READ, StandardOpenOption.WRITE);
        daemonThread("nflb-ha-fifo").newThread(this::readFifo).start();
    }

    private void readFifo() {
        ByteBuffer buf = ByteBuffer.allocate(4096);
        StringBuilder line = new StringBuilder();
        try {
            while (!stopping) {
                buf.clear();
                if (fifo.read(buf) < 0) return;
                buf.flip();
                String chunk = StandardCharsets.UTF_8.decode(buf).toString();
                for (char c : chunk.toCharArray()) {
                    if (c != '\n') {
                        if (line.length() < 1024) line.append(c);
                        continue;
                    }
                    String l = line.toString();
                    line.setLength(0);
                    event(l);
                }
            }
        } catch (IOException e) {
            if (!stopping) log.error("ha: lost keepalived's FIFO: {}", e.getMessage());
        }
    }

    /** One line of keepalived's FIFO: INSTANCE "nflb_51" MASTER 150. */
    void event(String line) {
        if (stopping) return;
        Matcher m = FIFO_LINE.matcher(line.strip());
        if (!m.matches()) return;
        String instance = m.group(1);
        String state = m.group(2);
        instances.put(instance, state.toLowerCase(java.util.Locale.ROOT));
        Ha ha = config.ha().orElseThrow();
        if (ha.mode() == Ha.Mode.ECMP) {
            role = "active";
            since = Instant.now();
            cause = "gateway " + instance + " " + state.toLowerCase(java.util.Locale.ROOT);
            return;
        }
        if (!instance.equals(KeepalivedConf.instance(ha))) return;
        Transitions.Role next = switch (state) {
            case "MASTER" -> Transitions.Role.PRIMARY;
            case "BACKUP" -> Transitions.Role.BACKUP;
            default -> Transitions.Role.FAULT;
        };
        transitionsRunner.execute(() -> transition(next, "keepalived: " + state.toLowerCase(java.util.Locale.ROOT)));
    }

    private void transition(Transitions.Role next, String why) {
        try {
            transitions.to(next, why);
            role = next.keyword();
            since = Instant.now();
            cause = why;
        } catch (RuntimeException e) {
            log.error("ha: transition to {} failed: {}", next.keyword(), e.getMessage());
        }
    }

    private synchronized void startKeepalived() {
        deleteQuietly(layout.keepalivedPid());
        deleteQuietly(layout.vrrpPid());
        Process p = exec.spawn(List.of("keepalived", "-n", "-l", "-D", "-P", "-f", layout.keepalivedConf().toString(),
                "-p", layout.keepalivedPid().toString(), "-r", layout.vrrpPid().toString()), layout.keepalivedLog());
        keepalived = p;
        log.info("ha: keepalived running (pid {})", p.pid());
        p.onExit().thenRun(() -> keepalivedExited(p));
    }

    private void keepalivedExited(Process p) {
        if (p != keepalived) return;
        int rc = p.exitValue();
        killLeftovers();
        instances.clear();
        if (stopping) return;
        log.error("ha: keepalived exited ({}); its virtual addresses are removed and it is restarted", rc);
        transitionsRunner.execute(() -> {
            // Ecmp mode has no conntrackd and no hold; removing the gateway addresses is what counts there too.
            transition(Transitions.Role.FAULT, "keepalived exited (" + rc + ")");
            long now = System.nanoTime();
            synchronized (restartTimes) {
                restartTimes.removeIf(t -> now - t > RESTART_WINDOW.toNanos());
                if (restartTimes.size() >= MAX_RESTARTS) {
                    role = "failed";
                    cause = "keepalived exited " + (MAX_RESTARTS + 1) + " times within " + RESTART_WINDOW.toMinutes() + " minutes";
                    log.error("ha: {}; giving up", cause);
                    onGiveUp.accept(cause);
                    return;
                }
                restartTimes.add(now);
                restarts++;
            }
            sleep(Math.min(10_000, 1000L << Math.min(4, restartTimes.size() - 1)));
            if (!stopping) startKeepalived();
        });
    }

    /** Kills what the pid files name, only while it is a live keepalived (a zombie still reads keepalived), and removes the files. */
    private void killLeftovers() {
        for (Path f : List.of(layout.vrrpPid(), layout.keepalivedPid())) {
            try {
                if (!Files.exists(f)) continue;
                String text = Files.readString(f).strip();
                if (text.matches("\\d{1,10}")) {
                    long pid = Long.parseLong(text);
                    Path proc = Path.of("/proc", text);
                    String comm = Files.exists(proc) ? Files.readString(proc.resolve("comm")).strip() : "";
                    String stat = Files.exists(proc) ? Files.readString(proc.resolve("stat")) : "";
                    String state = stat.contains(") ") ? stat.substring(stat.lastIndexOf(") ") + 2, stat.lastIndexOf(") ") + 3) : "";
                    if (comm.equals("keepalived") && !state.equals("Z")) {
                        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
                        log.warn("ha: killed keepalived's leftover process {} ({})", pid, f.getFileName());
                    }
                }
                Files.deleteIfExists(f);
            } catch (IOException e) {
                log.warn("ha: could not clean up {}: {}", f, e.getMessage());
            }
        }
    }

    private void poll() {
        while (!stopping) {
            if (plan != null && plan.conntrackdConf().isPresent()) {
                try {
                    Exec.Result r = exec.run(List.of("conntrackd", "-C", layout.conntrackdConf().toString(), "-s"), null, Duration.ofSeconds(5));
                    counters = r.ok() ? Optional.of(SyncCounters.parse(r.stdout())) : Optional.empty();
                } catch (Exec.ExecException e) {
                    counters = Optional.empty();
                }
            }
            sleep(POLL_EVERY.toMillis());
        }
    }

    /** The router's ha state now, from memory: no tool runs. */
    public HaStatus status() {
        Ha ha = config.ha().orElseThrow();
        Process k = keepalived;
        String engines = k != null && k.isAlive() ? "running (pid " + k.pid() + ")" : stopping ? "stopped" : "not running";
        return new HaStatus(ha.mode().keyword(), role, Optional.of(since), cause, ha.peers().stream().map(IpAddress::toString).toList(),
                engines, restarts, counters, Map.copyOf(instances));
    }

    /** Stops keepalived (which gives the addresses up with a priority-0 advert) and conntrackd; the hold stays. */
    @Override
    public synchronized void close() {
        stopping = true;
        Process k = keepalived;
        if (k != null) {
            k.destroy();
            try {
                if (!k.waitFor(5, TimeUnit.SECONDS)) k.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            killLeftovers();
        }
        transitionsRunner.shutdown();
        try {
            transitionsRunner.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // A stopped router holds nothing: what a transition may still have left is removed here.
        if (plan != null && transitions != null && !role.equals("starting")) {
            try {
                new Transitions(plan, layout, exec, hold).to(Transitions.Role.FAULT, "nflb stopped");
                role = "fault";
            } catch (RuntimeException e) {
                log.warn("ha: {}", e.getMessage());
            }
        }
        Process c = conntrackd;
        if (c != null) {
            c.destroy();
            try {
                if (!c.waitFor(5, TimeUnit.SECONDS)) c.destroyForcibly();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        FileChannel f = fifo;
        if (f != null) {
            try {
                f.close();
            } catch (IOException ignored) {
                // closing is all that is left
            }
        }
        deleteQuietly(layout.fifo());
    }

    private static String tail(Path f) {
        try {
            if (!Files.exists(f)) return "";
            String s = Files.readString(f).strip();
            return s.length() > 600 ? s.substring(s.length() - 600) : s;
        } catch (IOException e) {
            return "";
        }
    }

    private static void deleteQuietly(Path f) {
        try {
            Files.deleteIfExists(f);
        } catch (IOException ignored) {
            // best effort
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static java.util.concurrent.ThreadFactory daemonThread(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }
}
