package io.nflb.daemon;

import io.nflb.host.Exec;
import io.nflb.model.HealthCheck;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs every {@link Probe} on its interval from one thread: tcp and http checks are non-blocking sockets on
 * one selector, so thousands of endpoints cost one thread; exec checks (and a test's blocking probe) run on a
 * small pool with a bounded queue. A probe whose previous check still runs skips its tick; a tick the exec pool
 * cannot take is skipped and counted, never queued without bound. Probes with the same interval start in one of
 * {@value #PHASES} phases of it: checks are spread over the interval, and the results of endpoints that fail
 * together arrive in a few bursts, which the sync loop applies as a few transactions.
 * Results go to the {@link Listener} on this thread; it must not block.
 */
public final class HealthChecker implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(HealthChecker.class);

    static final int PHASES = 8;
    /** An http check reads at most this much: a status line, headers and a short body. */
    static final int MAX_RESPONSE = 64 * 1024;
    /** Exec checks (and blocking probes) at once, and ticks waiting for one of them. */
    static final int BLOCKING_THREADS = 4;
    static final int BLOCKING_QUEUE = 256;
    /** An exec check's output is read up to this much, for nothing: it only must not block or fill memory. */
    static final int EXEC_OUTPUT = 4096;

    /** Where results go. Called on the checker's thread. */
    @FunctionalInterface
    public interface Listener {
        void result(Probe probe, boolean ok, Duration took);
    }

    private final Listener listener;
    private final Exec exec;
    private final HealthProbe blocking;
    private final Selector selector;
    private final Thread thread;
    private final ThreadPoolExecutor pool;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final Map<Probe, Entry> entries = new HashMap<>();
    private final PriorityQueue<Entry> due = new PriorityQueue<>((a, b) -> Long.compare(a.due, b.due));
    private final PriorityQueue<Running> deadlines = new PriorityQueue<>((a, b) -> Long.compare(a.deadline, b.deadline));
    private final AtomicLong skipped = new AtomicLong();
    private final AtomicLong started = new AtomicLong();
    private volatile boolean closed;

    private static final class Entry {
        final Probe probe;
        long due;
        boolean running;
        boolean removed;

        Entry(Probe probe, long due) {
            this.probe = probe;
            this.due = due;
        }
    }

    /** One tcp or http check in flight on the selector. */
    private final class Running {
        final Entry entry;
        final long start;
        final long deadline;
        final SocketChannel channel;
        ByteBuffer request;
        ByteBuffer response;
        boolean done;

        Running(Entry entry, long start, SocketChannel channel) {
            this.entry = entry;
            this.start = start;
            this.deadline = start + entry.probe.check().timeout().toNanos();
            this.channel = channel;
        }
    }

    private HealthChecker(Listener listener, Exec exec, HealthProbe blocking) throws IOException {
        this.listener = listener;
        this.exec = exec;
        this.blocking = blocking;
        this.selector = Selector.open();
        this.pool = new ThreadPoolExecutor(BLOCKING_THREADS, BLOCKING_THREADS, 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(BLOCKING_QUEUE), r -> {
            Thread t = new Thread(null, r, "nflb-check-exec", 512 * 1024);
            t.setDaemon(true);
            return t;
        });
        pool.allowCoreThreadTimeOut(true);
        this.thread = new Thread(this::loop, "nflb-health");
        thread.setDaemon(true);
    }

    /** The daemon's checker: real tcp, http and exec checks; exec checks run through {@code exec}. */
    public static HealthChecker start(Exec exec, Listener listener) {
        return start(exec, null, listener);
    }

    /** With {@code blocking} non-null every check goes through it instead (tests). */
    public static HealthChecker start(Exec exec, HealthProbe blocking, Listener listener) {
        try {
            HealthChecker c = new HealthChecker(listener, exec, blocking);
            c.thread.start();
            return c;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot open a selector for the health checks", e);
        }
    }

    /**
     * Checks exactly {@code probes} from now on: unchanged ones go on undisturbed, new ones start within their
     * interval, removed ones stop (a result of theirs still running is dropped).
     */
    public void update(Collection<Probe> probes) {
        List<Probe> wanted = List.copyOf(new java.util.LinkedHashSet<>(probes));
        post(() -> {
            java.util.Set<Probe> keep = new java.util.HashSet<>(wanted);
            entries.values().removeIf(e -> {
                if (keep.contains(e.probe)) return false;
                e.removed = true;
                return true;
            });
            long now = System.nanoTime();
            for (Probe p : wanted) {
                if (entries.containsKey(p)) continue;
                long interval = p.check().interval().toNanos();
                Entry e = new Entry(p, now + Math.floorMod(p.hashCode(), PHASES) * (interval / PHASES));
                entries.put(p, e);
                due.add(e);
            }
            due.removeIf(e -> e.removed);
        });
    }

    /** Ticks skipped because the exec pool was full or a socket could not be opened. */
    public long skipped() {
        return skipped.get();
    }

    /** Checks started since the checker started. */
    public long started() {
        return started.get();
    }

    private void post(Runnable task) {
        tasks.add(task);
        selector.wakeup();
    }

    private void loop() {
        while (!closed) {
            try {
                for (Runnable t = tasks.poll(); t != null; t = tasks.poll()) t.run();
                long now = System.nanoTime();
                while (!due.isEmpty() && due.peek().due <= now) {
                    Entry e = due.poll();
                    if (e.removed) continue;
                    long interval = e.probe.check().interval().toNanos();
                    e.due = e.due + interval <= now ? now + interval : e.due + interval;
                    due.add(e);
                    if (e.running) continue;
                    begin(e, now);
                }
                expire(now);
                long wait = Long.MAX_VALUE;
                if (!due.isEmpty()) wait = due.peek().due - now;
                if (!deadlines.isEmpty()) wait = Math.min(wait, deadlines.peek().deadline - now);
                if (!tasks.isEmpty()) wait = 0;
                if (wait <= 0) selector.selectNow();
                else selector.select(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(wait) + 1, 60_000)));
                for (SelectionKey k : selector.selectedKeys()) ready(k);
                selector.selectedKeys().clear();
            } catch (Throwable t) {
                // Nothing a check does may stop the checks: log, and the next round goes on.
                log.error("health checker: {}", t.toString());
            }
        }
    }

    private void begin(Entry e, long now) {
        HealthCheck c = e.probe.check();
        if (blocking != null || c.type() == HealthCheck.Type.EXEC || c.type() == HealthCheck.Type.NONE) {
            e.running = true;
            try {
                pool.execute(() -> runBlocking(e));
                started.incrementAndGet();
            } catch (RejectedExecutionException full) {
                e.running = false;
                skipped.incrementAndGet();
            }
            return;
        }
        SocketChannel ch;
        try {
            // An IPv4 socket for an IPv4 endpoint: the default dual-stack socket would go through IPv6's code with a mapped address.
            ch = SocketChannel.open(e.probe.address().family() == io.nflb.model.IpAddress.Family.V4
                    ? java.net.StandardProtocolFamily.INET : java.net.StandardProtocolFamily.INET6);
            ch.configureBlocking(false);
            // A check every 2 s per endpoint would otherwise pile up TIME_WAIT sockets: close with a reset.
            ch.setOption(StandardSocketOptions.SO_LINGER, 0);
            // As HAProxy does for plain tcp checks: without quick ACKs the kernel holds back the handshake's last
            // ACK, and the reset on close comes first, so the backend never builds (or accepts) a connection.
            if (e.probe.check().type() == HealthCheck.Type.TCP) ch.setOption(jdk.net.ExtendedSocketOptions.TCP_QUICKACK, false);
        } catch (IOException ex) {
            // No local resources (file descriptors): not the backend's fault, so no result.
            skipped.incrementAndGet();
            log.warn("cannot open a socket to check {}: {}", e.probe, ex.getMessage());
            return;
        }
        Running r = new Running(e, now, ch);
        e.running = true;
        started.incrementAndGet();
        deadlines.add(r);
        try {
            if (ch.connect(new InetSocketAddress(e.probe.address().inet(), e.probe.port()))) connected(r);
            else ch.register(selector, SelectionKey.OP_CONNECT, r);
        } catch (IOException ex) {
            finish(r, false); // refused or unreachable at once
        }
    }

    private void ready(SelectionKey k) {
        Running r = (Running) k.attachment();
        if (r.done) return;
        try {
            if (k.isConnectable()) {
                if (!r.channel.finishConnect()) return;
                connected(r);
            } else if (k.isWritable()) {
                r.channel.write(r.request);
                if (!r.request.hasRemaining()) k.interestOps(SelectionKey.OP_READ);
            } else if (k.isReadable()) {
                int n = r.channel.read(r.response);
                if (n < 0 || !r.response.hasRemaining()) {
                    String text = new String(r.response.array(), 0, r.response.position(), StandardCharsets.ISO_8859_1);
                    finish(r, HealthChecks.matches(text, r.entry.probe.check()));
                }
            }
        } catch (IOException | RuntimeException e) {
            finish(r, false);
        }
    }

    private void connected(Running r) throws IOException {
        HealthCheck c = r.entry.probe.check();
        if (c.type() == HealthCheck.Type.TCP) {
            finish(r, true);
            return;
        }
        r.request = ByteBuffer.wrap(HealthChecks.request(r.entry.probe).getBytes(StandardCharsets.US_ASCII));
        r.response = ByteBuffer.allocate(MAX_RESPONSE);
        r.channel.register(selector, SelectionKey.OP_WRITE, r);
    }

    private void expire(long now) {
        while (!deadlines.isEmpty() && (deadlines.peek().done || deadlines.peek().deadline <= now)) {
            Running r = deadlines.poll();
            if (!r.done) finish(r, false);
        }
    }

    private void finish(Running r, boolean ok) {
        r.done = true;
        closeQuietly(r.channel);
        Entry e = r.entry;
        e.running = false;
        if (!e.removed) deliver(e.probe, ok, System.nanoTime() - r.start);
    }

    private void runBlocking(Entry e) {
        long start = System.nanoTime();
        boolean ok;
        try {
            ok = blocking != null ? blocking.check(e.probe) : runExec(e.probe);
        } catch (Exception ex) {
            log.debug("check {} failed: {}", e.probe, ex.toString());
            ok = false;
        }
        boolean result = ok;
        long took = System.nanoTime() - start;
        post(() -> {
            e.running = false;
            if (!e.removed) deliver(e.probe, result, took);
        });
    }

    private boolean runExec(Probe p) {
        HealthCheck c = p.check();
        if (c.type() == HealthCheck.Type.NONE) return true;
        Map<String, String> env = Map.of(
                "NFLB_BACKEND_ADDRESS", p.address().toString(),
                "NFLB_BACKEND_PORT", String.valueOf(p.port()));
        return exec.runCheck(c.command(), env, c.timeout(), EXEC_OUTPUT).ok();
    }

    private void deliver(Probe probe, boolean ok, long nanos) {
        try {
            listener.result(probe, ok, Duration.ofNanos(nanos));
        } catch (RuntimeException e) {
            log.error("handling the result of {}: {}", probe, e.toString());
        }
    }

    private static void closeQuietly(SocketChannel ch) {
        if (ch == null) return;
        try {
            ch.close();
        } catch (IOException e) {
            // closing a check socket: nothing to do
        }
    }

    @Override
    public void close() {
        closed = true;
        selector.wakeup();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (SelectionKey k : selector.keys()) closeQuietly((SocketChannel) k.channel());
        try {
            selector.close();
        } catch (IOException e) {
            // shutting down
        }
        pool.shutdownNow();
    }


}
