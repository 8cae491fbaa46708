package io.nflb.daemon;

import io.nflb.model.Backend;
import io.nflb.model.HealthCheck;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs every backend's check on its own interval. A tick only hands the check to a worker, so a slow or hung
 * backend never delays another's; a backend whose previous check is still running (it cannot outlive its
 * timeout, which is at most the interval) skips that tick. Time comes from a {@link Ticker}, so tests drive
 * ticks by hand instead of sleeping.
 */
public final class HealthChecker implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(HealthChecker.class);

    /** One backend to check, and how. */
    public record Target(BackendKey key, String service, Backend backend, HealthCheck check) {
    }

    /** Where results go: the {@link Reconciler}. */
    @FunctionalInterface
    public interface Listener {
        void result(BackendKey key, boolean ok);
    }

    /** Calls {@code tick} every {@code interval} until the returned handle is run. */
    @FunctionalInterface
    public interface Ticker {
        Runnable every(Duration interval, Runnable tick);
    }

    private final Ticker ticker;
    private final Executor workers;
    private final HealthProbe probe;
    private final Listener listener;
    private final Map<BackendKey, Scheduled> scheduled = new HashMap<>();
    private final Runnable onClose;

    private static final class Scheduled {
        final Target target;
        final AtomicBoolean running = new AtomicBoolean();
        volatile boolean cancelled;
        Runnable cancel = () -> { };

        Scheduled(Target target) {
            this.target = target;
        }
    }

    public HealthChecker(Ticker ticker, Executor workers, HealthProbe probe, Listener listener) {
        this(ticker, workers, probe, listener, () -> { });
    }

    private HealthChecker(Ticker ticker, Executor workers, HealthProbe probe, Listener listener, Runnable onClose) {
        this.ticker = ticker;
        this.workers = workers;
        this.probe = probe;
        this.listener = listener;
        this.onClose = onClose;
    }

    /** The daemon's checker: one scheduler thread for ticks, a thread per running check (daemon threads). */
    public static HealthChecker standard(HealthProbe probe, Listener listener) {
        ScheduledExecutorService clock = Executors.newSingleThreadScheduledExecutor(daemon("nflb-health-tick"));
        ExecutorService workers = Executors.newCachedThreadPool(daemon("nflb-health-check"));
        Ticker ticker = (interval, tick) -> {
            ScheduledFuture<?> f = clock.scheduleAtFixedRate(tick, 0, interval.toNanos(), TimeUnit.NANOSECONDS);
            return () -> f.cancel(false);
        };
        return new HealthChecker(ticker, workers, probe, listener, () -> {
            clock.shutdownNow();
            workers.shutdownNow();
        });
    }

    /**
     * Checks exactly {@code targets} from now on: unchanged targets go on undisturbed, changed ones restart,
     * removed ones stop (a result of theirs still running is dropped).
     */
    public synchronized void update(List<Target> targets) {
        Map<BackendKey, Target> wanted = new HashMap<>();
        for (Target t : targets) wanted.put(t.key(), t);
        scheduled.entrySet().removeIf(e -> {
            if (e.getValue().target.equals(wanted.get(e.getKey()))) return false;
            cancel(e.getValue());
            return true;
        });
        for (Target t : targets) {
            if (scheduled.containsKey(t.key())) continue;
            Scheduled s = new Scheduled(t);
            scheduled.put(t.key(), s);
            s.cancel = ticker.every(t.check().interval(), () -> tick(s));
        }
    }

    public synchronized int size() {
        return scheduled.size();
    }

    private void tick(Scheduled s) {
        if (s.cancelled || !s.running.compareAndSet(false, true)) return;
        try {
            workers.execute(() -> runCheck(s));
        } catch (RuntimeException rejected) {
            s.running.set(false); // shutting down
        }
    }

    private void runCheck(Scheduled s) {
        boolean ok;
        try {
            ok = probe.check(s.target);
        } catch (Exception e) {
            log.debug("check of {} failed: {}", s.target.key(), e.toString());
            ok = false;
        } finally {
            s.running.set(false);
        }
        if (!s.cancelled) listener.result(s.target.key(), ok);
    }

    private static void cancel(Scheduled s) {
        s.cancelled = true;
        s.cancel.run();
    }

    @Override
    public synchronized void close() {
        scheduled.values().forEach(HealthChecker::cancel);
        scheduled.clear();
        onClose.run();
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }
}
