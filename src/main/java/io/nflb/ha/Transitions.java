package io.nflb.ha;

import io.nflb.dataplane.HaHold;
import io.nflb.host.Exec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A router's VRRP transitions, in the order the conntrack-tools manual and issue 12's measurements give:
 * <ul>
 * <li>primary: {@code conntrackd -c} (commit the peer's entries; returns when they are in the kernel), then the
 * hold comes off, then {@code -f} (flush the caches), {@code -R} (resync with the kernel), {@code -B} (send
 * everything to the peer). A failed commit still removes the hold: a primary that drops everything is worse
 * than one whose established flows reset.</li>
 * <li>backup: the hold goes on, {@code -t} (short kernel timers for the old primary's entries), {@code -n}
 * (ask the peer for a full resync).</li>
 * <li>fault (also: keepalived died): the hold goes on, this router's virtual addresses are deleted (a killed
 * keepalived leaves them, and two routers answering ARP for them split flows), {@code -t}.</li>
 * </ul>
 * One transition at a time (keepalived does not wait for one notify before the next; in-process a lock, across
 * processes a file lock), each step timed into transitions.log, the role kept in a file that status reads.
 */
public final class Transitions {

    private static final Logger log = LoggerFactory.getLogger("nflb.ha");
    /** A commit of 100,000 entries took 0.8 s in the research; a stuck conntrackd must not keep the hold forever. */
    static final Duration CONNTRACKD_TIMEOUT = Duration.ofSeconds(30);
    static final Duration LOCK_TIMEOUT = Duration.ofSeconds(15);
    private static final long MAX_LOG = 1 << 20;

    public enum Role {
        PRIMARY, BACKUP, FAULT;

        public String keyword() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Role of(String keyword) {
            return valueOf(keyword.toUpperCase(Locale.ROOT));
        }
    }

    private final HaPlan plan;
    private final HaLayout layout;
    private final Exec exec;
    private final HaHold hold;
    private final ReentrantLock lock = new ReentrantLock();

    public Transitions(HaPlan plan, HaLayout layout, Exec exec, HaHold hold) {
        this.plan = plan;
        this.layout = layout;
        this.exec = exec;
        this.hold = hold;
    }

    /** Runs the transition to {@code role}; {@code cause} goes to the log and the role file. Returns the steps taken. */
    public List<String> to(Role role, String cause) {
        long deadline = System.nanoTime() + LOCK_TIMEOUT.toNanos();
        try {
            if (!lock.tryLock(LOCK_TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("another transition is still running after " + LOCK_TIMEOUT.toSeconds() + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for the transition lock", e);
        }
        try (FileChannel ch = FileChannel.open(layout.notifyLock(), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = fileLock(ch, deadline)) {
            return run(role, cause);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } finally {
            lock.unlock();
        }
    }

    private static FileLock fileLock(FileChannel ch, long deadline) throws IOException {
        while (true) {
            FileLock l = ch.tryLock();
            if (l != null) return l;
            if (System.nanoTime() > deadline) throw new IllegalStateException("another nflb ha notify holds the lock");
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted waiting for the notify lock", e);
            }
        }
    }

    private List<String> run(Role role, String cause) {
        List<String> steps = new ArrayList<>();
        step(steps, role, "start (" + cause + ")");
        switch (role) {
            case PRIMARY -> {
                boolean committed = plan.conntrackdConf().isEmpty() || conntrackd(steps, role, "-c");
                if (!committed) step(steps, role, "commit failed; releasing the hold anyway");
                holdOff(steps, role);
                if (plan.conntrackdConf().isPresent()) {
                    conntrackd(steps, role, "-f");
                    conntrackd(steps, role, "-R");
                    conntrackd(steps, role, "-B");
                }
            }
            case BACKUP -> {
                holdOn(steps, role);
                if (plan.conntrackdConf().isPresent()) {
                    conntrackd(steps, role, "-t");
                    conntrackd(steps, role, "-n");
                }
            }
            case FAULT -> {
                holdOn(steps, role);
                for (HaPlan.Vip v : plan.vips()) {
                    Exec.Result r = exec.run(List.of("ip", "addr", "del", v.address().toString(), "dev", v.iface()), null, Duration.ofSeconds(10));
                    if (r.ok()) step(steps, role, "removed " + v);
                }
                if (plan.conntrackdConf().isPresent()) conntrackd(steps, role, "-t");
            }
        }
        writeRole(role, cause);
        step(steps, role, "done");
        return steps;
    }

    /** Installs the hold without a transition: at start, before keepalived runs, a router is never without it. */
    public void holdAtStart() {
        if (plan.holds()) hold.hold(plan.hold());
    }

    private void holdOn(List<String> steps, Role role) {
        if (!plan.holds()) return;
        try {
            hold.hold(plan.hold());
            step(steps, role, "hold on");
        } catch (RuntimeException e) {
            step(steps, role, "hold on FAILED: " + e.getMessage());
        }
    }

    private void holdOff(List<String> steps, Role role) {
        if (!plan.holds()) return;
        try {
            hold.release();
            step(steps, role, "hold off");
        } catch (RuntimeException e) {
            step(steps, role, "hold off FAILED: " + e.getMessage());
        }
    }

    private boolean conntrackd(List<String> steps, Role role, String request) {
        List<String> argv = List.of("conntrackd", "-C", plan.conntrackdConf().orElseThrow().toString(), request);
        try {
            Exec.Result r = exec.run(argv, null, CONNTRACKD_TIMEOUT);
            step(steps, role, "conntrackd " + request + " rc=" + r.exitCode() + (r.ok() ? "" : " " + r.describeFailure()));
            return r.ok();
        } catch (Exec.ExecException e) {
            step(steps, role, "conntrackd " + request + " failed: " + e.getMessage());
            return false;
        }
    }

    private void step(List<String> steps, Role role, String what) {
        Instant now = Instant.now();
        String line = String.format(Locale.ROOT, "%d.%03d %s %s", now.getEpochSecond(), now.getNano() / 1_000_000, role.keyword(), what);
        steps.add(line);
        log.info("ha {}: {}", role.keyword(), what);
        try {
            Path f = layout.transitions();
            if (Files.exists(f) && Files.size(f) > MAX_LOG) Files.move(f, f.resolveSibling("transitions.log.1"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.writeString(f, line + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            log.warn("could not write {}: {}", layout.transitions(), e.getMessage());
        }
    }

    private void writeRole(Role role, String cause) {
        try {
            Path tmp = layout.role().resolveSibling("role.tmp");
            Files.writeString(tmp, role.keyword() + " " + System.currentTimeMillis() + " " + cause.replace('\n', ' ') + "\n");
            Files.move(tmp, layout.role(), java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            log.warn("could not write {}: {}", layout.role(), e.getMessage());
        }
    }
}
