package io.nflb.daemon;

import io.nflb.model.DaemonSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The daemon's one thread that touches the kernel. Check results and operators only ask for a sync; this thread
 * applies everything pending in one transaction, at most every {@code min_sync_interval}. After a refused sync it
 * tries again on a timer with backoff (up to {@value #MAX_BACKOFF_SECONDS} s), whether or not anything else
 * changes. Every {@code resync_interval} it reads nflb's rules back and repairs what someone else flushed or
 * edited. Reloads run here too, so nothing else applies while one does. Nothing thrown here, Errors included,
 * ends the thread: it is counted and reported, and the loop goes on.
 */
final class SyncLoop implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SyncLoop.class);
    static final int MAX_BACKOFF_SECONDS = 30;
    /** Results that arrive together (one phase of the checks) are gathered this long before a sync starts. */
    static final long GATHER_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    /** Reloads waiting at once; more are refused at once (the operator is told). */
    static final int MAX_QUEUED_RELOADS = 4;

    /** What the loop reports to the daemon. */
    interface Listener {
        void synced(Reconciler.Synced s, long nanos);

        void syncFailed(Throwable e, long nanos, Duration retryIn);

        void verified(Reconciler.Synced s, long nanos);

        void failed(String what, Throwable e);
    }

    private final Reconciler reconciler;
    private final Supplier<DaemonSettings> settings;
    private final Listener listener;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    private final Condition progress = lock.newCondition();
    private record Job(Runnable run, CompletableFuture<?> done) {
    }

    private final ArrayDeque<Job> jobs = new ArrayDeque<>();
    private final Thread thread;
    private boolean wanted;
    private long wantedSince;
    private long lastSyncEnd = Long.MIN_VALUE / 2;
    private long retryAt = Long.MAX_VALUE;
    private int failures;
    private long nextVerify;
    private boolean stopped;
    /** A read-back runs on a thread of its own; what it read waits here for its check on this loop's thread. */
    private boolean reading;
    private Read read;
    /** Read-backs in a row that syncs made stale; past {@link #MAX_STALE_READS} the next one runs on this thread. */
    private int staleReads;

    /** What a read-back thread hands over: what it read (empty: the dataplane reads within verify), or why not. */
    private record Read(java.util.Optional<io.nflb.dataplane.Dataplane.ReadBack> read, Throwable failure, long start) {
    }

    static final int MAX_STALE_READS = 3;

    SyncLoop(Reconciler reconciler, Supplier<DaemonSettings> settings, Listener listener) {
        this.reconciler = reconciler;
        this.settings = settings;
        this.listener = listener;
        this.thread = new Thread(this::loop, "nflb-sync");
        thread.setDaemon(true);
    }

    void start() {
        nextVerify = System.nanoTime() + settings.get().resyncInterval().toNanos();
        thread.start();
    }

    /** Something changed that the kernel should get. Never blocks. */
    void request() {
        lock.lock();
        try {
            if (!wanted) {
                wanted = true;
                wantedSince = System.nanoTime();
            }
            wake.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Runs {@code job} on the sync thread, after whatever runs now; its future completes with its result. */
    <T> CompletableFuture<T> submit(Supplier<T> job) {
        CompletableFuture<T> f = new CompletableFuture<>();
        lock.lock();
        try {
            if (stopped) {
                f.completeExceptionally(new IllegalStateException("the daemon is stopping"));
            } else if (jobs.size() >= MAX_QUEUED_RELOADS) {
                f.completeExceptionally(new IllegalStateException(jobs.size() + " reloads already wait; try again"));
            } else {
                jobs.add(new Job(() -> {
                    try {
                        f.complete(job.get());
                    } catch (Throwable t) {
                        f.completeExceptionally(t);
                        if (t instanceof Error e) listener.failed("reload", e);
                    }
                }, f));
                wake.signalAll();
            }
        } finally {
            lock.unlock();
        }
        return f;
    }

    /** Waits until the kernel has every change up to {@code version}; false when it has not within {@code timeout}. */
    boolean awaitSynced(long version, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (reconciler.appliedVersion() < version) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || stopped) return false;
                progress.awaitNanos(left);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    private void loop() {
        while (true) {
            Job job = null;
            boolean sync = false;
            boolean verify = false;
            Read check = null;
            lock.lock();
            try {
                while (true) {
                    if (stopped) return;
                    long now = System.nanoTime();
                    DaemonSettings s = settings.get();
                    job = jobs.poll();
                    if (job != null) break;
                    long syncAt = Long.MAX_VALUE;
                    if (wanted) syncAt = Math.max(wantedSince + GATHER_NANOS, lastSyncEnd + s.minSyncInterval().toNanos());
                    if (failures > 0) syncAt = retryAt;
                    if (syncAt <= now) {
                        sync = true;
                        wanted = false;
                        break;
                    }
                    if (read != null) {
                        // Checked only while no sync is due: a change never waits for more than this check.
                        check = read;
                        read = null;
                        break;
                    }
                    if (nextVerify <= now && !reading) {
                        verify = true;
                        break;
                    }
                    long until = Math.min(syncAt, nextVerify) - now;
                    wake.awaitNanos(Math.min(until, TimeUnit.SECONDS.toNanos(60)));
                }
            } catch (InterruptedException e) {
                return;
            } finally {
                lock.unlock();
            }
            try {
                if (job != null) job.run().run();
                else if (sync) runSync();
                else if (check != null) runCheck(check);
                else if (verify) runVerify();
            } catch (Throwable t) {
                listener.failed(job != null ? "reload" : sync ? "sync" : "read-back", t);
            }
            lock.lock();
            try {
                progress.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    private void runSync() {
        long start = System.nanoTime();
        try {
            Reconciler.Synced s = reconciler.sync();
            failures = 0;
            retryAt = Long.MAX_VALUE;
            listener.synced(s, System.nanoTime() - start);
        } catch (Throwable t) {
            failed(t, start);
            if (t instanceof Error e && !(t instanceof StackOverflowError) && !(t instanceof OutOfMemoryError)) throw e;
        } finally {
            lastSyncEnd = System.nanoTime();
            lock.lock();
            try {
                // A change that arrived during the sync is still wanted; a failed one is retried on the timer.
                if (reconciler.pending() && failures == 0 && !wanted) {
                    wanted = true;
                    wantedSince = System.nanoTime();
                }
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * Starts a read-back of the kernel on a thread of its own, so the syncs of changes that arrive meanwhile wait
     * for nothing; its check then runs here. After {@link #MAX_STALE_READS} read-backs in a row that syncs made
     * stale, one reads on this thread (while nothing is pending), so the rules are verified even under steady churn.
     */
    private void runVerify() {
        nextVerify = System.nanoTime() + settings.get().resyncInterval().toNanos();
        if (reconciler.pending()) {
            runSync(); // whatever is pending goes first; the read-back follows on the next round
            return;
        }
        long start = System.nanoTime();
        if (staleReads >= MAX_STALE_READS) {
            staleReads = 0;
            try {
                listener.verified(reconciler.verify(), System.nanoTime() - start);
            } catch (RuntimeException e) {
                failed(e, start);
            }
            return;
        }
        lock.lock();
        try {
            reading = true;
        } finally {
            lock.unlock();
        }
        Thread reader = new Thread(() -> {
            Read done;
            try {
                done = new Read(reconciler.readBack(), null, start);
            } catch (Throwable t) {
                done = new Read(java.util.Optional.empty(), t, start);
            }
            lock.lock();
            try {
                reading = false;
                read = done;
                wake.signalAll();
            } finally {
                lock.unlock();
            }
        }, "nflb-read-back");
        reader.setDaemon(true);
        reader.start();
    }

    /** Checks a finished read-back against the plan and repairs what someone else changed. */
    private void runCheck(Read r) {
        if (r.failure() != null) {
            if (r.failure() instanceof RuntimeException e) failed(e, r.start());
            else listener.failed("read-back", r.failure());
            return;
        }
        try {
            java.util.Optional<Reconciler.Synced> s = reconciler.verify(r.read().orElse(null));
            if (s.isEmpty()) {
                staleReads++;
                nextVerify = System.nanoTime(); // read again at the next quiet moment
                return;
            }
            staleReads = 0;
            listener.verified(s.get(), System.nanoTime() - r.start());
        } catch (RuntimeException e) {
            failed(e, r.start());
        }
    }

    /** Counts a refusal and sets the retry timer. */
    private void failed(Throwable t, long start) {
        failures++;
        Duration backoff = backoff(settings.get().minSyncInterval(), failures);
        retryAt = System.nanoTime() + backoff.toNanos();
        listener.syncFailed(t, System.nanoTime() - start, backoff);
    }

    /** min_sync_interval doubled per failure in a row, at least 100 ms, at most 30 s. */
    static Duration backoff(Duration minSync, int failures) {
        long base = Math.max(100, minSync.toMillis());
        long ms = base << Math.min(failures - 1, 20);
        return Duration.ofMillis(Math.min(ms, MAX_BACKOFF_SECONDS * 1000L));
    }

    /** Reads the kernel back at the next chance (tests, and operators through the control socket). */
    void verifySoon() {
        lock.lock();
        try {
            nextVerify = System.nanoTime();
            wake.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            stopped = true;
            for (Job j = jobs.poll(); j != null; j = jobs.poll()) {
                j.done().completeExceptionally(new IllegalStateException("the daemon stopped"));
            }
            wake.signalAll();
            progress.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            thread.join(TimeUnit.SECONDS.toMillis(70));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) log.warn("the sync thread did not stop within 70 s");
    }
}
