package io.nflb.daemon;

import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The daemon's Unix socket for operators: `nflb backend drain|enable|disable`, `nflb status`, `nflb reload`.
 * Only root may use it, twice over: the socket file is 0600 in a 0700 directory, and each peer's credentials
 * (SO_PEERCRED) are checked, so a permissive umask or a copied file descriptor does not open it up.
 * One request line in, one answer out: "ok" or "error" on the first line, then text.
 * <p>
 * It cannot be held: one selector thread reads requests and writes answers without blocking; a request line
 * must arrive within {@value #READ_SECONDS} s and an answer be taken within {@value #WRITE_SECONDS} s, at most
 * {@value #MAX_CONNECTIONS} connections are open at once (more are closed at accept), and commands run on
 * {@value #WORKERS} workers with a queue of {@value #QUEUE}.
 */
public final class ControlSocket implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ControlSocket.class);
    static final int MAX_REQUEST = 4096;
    static final int READ_SECONDS = 5;
    static final int WRITE_SECONDS = 30;
    static final int MAX_CONNECTIONS = 256;
    static final int WORKERS = 4;
    static final int QUEUE = 32;

    /** What `nflb reload` asks of the daemon: re-read its file and apply it; returns the answer's text or throws. */
    @FunctionalInterface
    public interface Reloader {
        String reload() throws Exception;
    }

    private final Path path;
    private Daemon daemon;
    private Reloader reloader;
    private final ServerSocketChannel server;
    private final Selector selector;
    private final Thread thread;
    private final ThreadPoolExecutor workers;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final PriorityQueue<Conn> deadlines = new PriorityQueue<>((a, b) -> Long.compare(a.deadline, b.deadline));
    private int open;
    private volatile boolean closed;

    private static final class Conn {
        final SocketChannel channel;
        final ByteBuffer in = ByteBuffer.allocate(MAX_REQUEST);
        ByteBuffer out;
        long deadline;
        boolean done;

        Conn(SocketChannel channel, long deadline) {
            this.channel = channel;
            this.deadline = deadline;
        }
    }

    private ControlSocket(Path path, ServerSocketChannel server) throws IOException {
        this.path = path;
        this.server = server;
        this.selector = Selector.open();
        this.workers = new ThreadPoolExecutor(WORKERS, WORKERS, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(QUEUE), r -> {
            Thread t = new Thread(null, r, "nflb-control-cmd", 512 * 1024);
            t.setDaemon(true);
            return t;
        });
        workers.allowCoreThreadTimeOut(true);
        this.thread = new Thread(this::loop, "nflb-control");
        thread.setDaemon(true);
    }

    /**
     * Binds {@code path} (replacing a stale socket no daemon answers on); nothing is answered until {@link #serve}.
     * Fails when another daemon answers there.
     */
    public static ControlSocket bind(Path path) throws IOException {
        Path dir = path.toAbsolutePath().getParent();
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        if (Files.exists(path)) {
            if (ControlClient.answers(path)) throw new IOException("another nflb daemon answers on " + path);
            Files.delete(path);
        }
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path), 512); // above the connection cap: a burst queues, it is not refused
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        try {
            return new ControlSocket(path, server);
        } catch (IOException e) {
            server.close();
            throw e;
        }
    }

    /** A bound socket that answers for {@code daemon}; {@code reloader} null: `reload` is refused. */
    public ControlSocket serve(Daemon daemon, Reloader reloader) throws IOException {
        this.daemon = daemon;
        this.reloader = reloader;
        server.configureBlocking(false);
        server.register(selector, SelectionKey.OP_ACCEPT);
        thread.start();
        return this;
    }

    /** Binds and serves: what tests and simple callers use. */
    public static ControlSocket open(Path path, Daemon daemon) throws IOException {
        return bind(path).serve(daemon, null);
    }

    private void loop() {
        while (!closed) {
            try {
                for (Runnable t = tasks.poll(); t != null; t = tasks.poll()) t.run();
                long now = System.nanoTime();
                while (!deadlines.isEmpty() && (deadlines.peek().done || deadlines.peek().deadline <= now)) {
                    Conn c = deadlines.poll();
                    if (!c.done) {
                        daemon.metrics().refused("control", c.out == null ? "read timeout" : "write timeout");
                        drop(c);
                    }
                }
                long wait = deadlines.isEmpty() ? 60_000 : Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlines.peek().deadline - now) + 1);
                if (!tasks.isEmpty()) selector.selectNow();
                else selector.select(wait);
                for (SelectionKey k : selector.selectedKeys()) {
                    if (!k.isValid()) continue;
                    if (k.isAcceptable()) accept();
                    else if (k.isReadable()) read(k, (Conn) k.attachment());
                    else if (k.isWritable()) write(k, (Conn) k.attachment());
                }
                selector.selectedKeys().clear();
            } catch (Throwable t) {
                if (!closed) log.error("control socket: {}", t.toString());
            }
        }
    }

    private void accept() throws IOException {
        for (SocketChannel ch = server.accept(); ch != null; ch = server.accept()) {
            if (open >= MAX_CONNECTIONS) {
                daemon.metrics().refused("control", "too many connections");
                ch.close();
                continue;
            }
            open++;
            Conn c = new Conn(ch, System.nanoTime() + TimeUnit.SECONDS.toNanos(READ_SECONDS));
            try {
                ch.configureBlocking(false);
                UnixDomainPrincipal peer = ch.getOption(ExtendedSocketOptions.SO_PEERCRED);
                if (!"root".equals(peer.user().getName())) {
                    deadlines.add(c);
                    answer(c, "error\nonly root may control nflb (you are " + peer.user().getName() + ")\n");
                    continue;
                }
                ch.register(selector, SelectionKey.OP_READ, c);
                deadlines.add(c);
            } catch (IOException e) {
                drop(c);
            }
        }
    }

    private void read(SelectionKey k, Conn c) {
        try {
            int n = c.channel.read(c.in);
            for (int i = 0; i < c.in.position(); i++) {
                if (c.in.get(i) == '\n') {
                    String request = new String(c.in.array(), 0, i, StandardCharsets.UTF_8);
                    k.interestOps(0);
                    dispatch(c, request);
                    return;
                }
            }
            if (n < 0 || !c.in.hasRemaining()) answer(c, "error\nrequest too long or not a line\n");
        } catch (IOException e) {
            drop(c);
        }
    }

    private void dispatch(Conn c, String request) {
        try {
            workers.execute(() -> {
                String a;
                try {
                    a = answer(request);
                } catch (Throwable t) {
                    daemon.metrics().error("control");
                    a = "error\nthe daemon failed: " + t + "\n";
                }
                String text = a;
                tasks.add(() -> answer(c, text));
                selector.wakeup();
            });
        } catch (RejectedExecutionException e) {
            daemon.metrics().refused("control", "busy");
            answer(c, "error\nthe daemon is busy with " + (WORKERS + QUEUE) + " commands; try again\n");
        }
    }

    /** Starts writing {@code text}; the connection closes once it is written or its write time is over. */
    private void answer(Conn c, String text) {
        if (c.done) return;
        c.out = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        c.deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WRITE_SECONDS);
        deadlines.add(c);
        try {
            c.channel.write(c.out);
            if (!c.out.hasRemaining()) {
                finish(c);
                return;
            }
            SelectionKey k = c.channel.keyFor(selector);
            if (k == null) c.channel.register(selector, SelectionKey.OP_WRITE, c);
            else k.interestOps(SelectionKey.OP_WRITE);
        } catch (IOException e) {
            drop(c);
        }
    }

    private void write(SelectionKey k, Conn c) {
        try {
            c.channel.write(c.out);
            if (!c.out.hasRemaining()) finish(c);
        } catch (IOException e) {
            drop(c);
        }
    }

    private void finish(Conn c) {
        drop(c);
    }

    private void drop(Conn c) {
        if (c.done) return;
        c.done = true;
        open--;
        try {
            c.channel.close();
        } catch (IOException e) {
            // a client that went away
        }
    }

    /** The answer to one request line; public for tests that skip the socket. */
    public String answer(String request) {
        List<String> words = List.of(request.strip().split("\\s+"));
        try {
            return switch (words.get(0)) {
                case "ping" -> "ok\npong\n";
                case "states" -> "ok\n" + states();
                case "drain", "disable", "enable" -> {
                    if (words.size() != 3) yield "error\nusage: " + words.get(0) + " SERVICE ADDRESS[:PORT]\n";
                    BackendState.Admin admin = switch (words.get(0)) {
                        case "drain" -> BackendState.Admin.DRAINING;
                        case "disable" -> BackendState.Admin.DISABLED;
                        default -> BackendState.Admin.NORMAL;
                    };
                    yield "ok\n" + daemon.admin(words.get(1), words.get(2), admin) + "\n";
                }
                case "reload" -> {
                    if (reloader == null) yield "error\nthis daemon does not reload over its socket\n";
                    try {
                        yield "ok\n" + reloader.reload().strip() + "\n";
                    } catch (Exception e) {
                        yield "error\n" + String.valueOf(e.getMessage()).strip() + "\n";
                    }
                }
                default -> "error\nunknown request '" + words.get(0) + "' (ping, states, drain, disable, enable, reload)\n";
            };
        } catch (IllegalArgumentException e) {
            return "error\n" + e.getMessage() + "\n";
        } catch (RuntimeException e) {
            return "error\nthe daemon failed: " + e.getMessage() + "\n";
        }
    }

    /**
     * One line per backend: "backend", service, endpoint, state, weight; then one per service that refuses
     * new connections: "rejecting", service; then "confirm", a problem with an apply --confirm. Tab-separated.
     */
    private String states() {
        StringBuilder sb = new StringBuilder();
        Daemon.Snapshot snap = daemon.snapshot();
        for (Daemon.BackendView b : snap.backends()) {
            sb.append("backend\t").append(b.key().service()).append('\t').append(b.key().endpoint()).append('\t')
                    .append(b.status().keyword()).append('\t').append(b.weight()).append('\n');
        }
        for (String s : daemon.rejecting()) sb.append("rejecting\t").append(s).append('\n');
        return sb.toString();
    }

    /** Open connections now (tests). */
    int openConnections() {
        java.util.concurrent.CompletableFuture<Integer> n = new java.util.concurrent.CompletableFuture<>();
        tasks.add(() -> n.complete(open));
        selector.wakeup();
        try {
            return n.get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            return -1;
        }
    }

    /** Workers now: never more than {@value #WORKERS}. */
    int workers() {
        return workers.getPoolSize();
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
        try {
            for (SelectionKey k : selector.keys()) k.channel().close();
            selector.close();
            server.close();
            Files.deleteIfExists(path);
        } catch (IOException e) {
            log.warn("could not remove {}: {}", path, e.getMessage());
        }
        workers.shutdownNow();
    }

}
