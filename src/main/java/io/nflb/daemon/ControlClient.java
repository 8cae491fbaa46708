package io.nflb.daemon;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Talks to a running daemon's {@link ControlSocket}, never waiting without end: connecting, sending and the
 * whole answer each have a deadline, so a daemon (or anything else) that listens and never answers makes the
 * command fail with a message instead of hanging.
 */
public final class ControlClient {

    /** Enough for any answer but a reload of a very large config, which waits longer. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(15);
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
    /** An answer larger than this is no answer of nflb's (states at 100,000 backends is about 6 MB). */
    static final int MAX_ANSWER = 64 * 1024 * 1024;

    /** The daemon's answer: whether it did it, and what it said. */
    public record Answer(boolean ok, String text) {
    }

    private ControlClient() {
    }

    public static Answer ask(Path socket, String request) throws IOException {
        return ask(socket, request, DEFAULT_TIMEOUT);
    }

    /** Sends one request line and reads the whole answer within {@code timeout}; IOException when no daemon answers. */
    public static Answer ask(Path socket, String request, Duration timeout) throws IOException {
        if (request.indexOf('\n') >= 0) throw new IllegalArgumentException("a request is one line");
        long deadline = System.nanoTime() + timeout.toNanos();
        try (SocketChannel ch = connect(socket, Math.min(deadline, System.nanoTime() + CONNECT_TIMEOUT.toNanos()));
             Selector selector = Selector.open()) {
            ByteBuffer out = ByteBuffer.wrap((request + "\n").getBytes(StandardCharsets.UTF_8));
            SelectionKey key = ch.register(selector, SelectionKey.OP_WRITE);
            while (out.hasRemaining()) {
                if (ch.write(out) == 0) await(selector, deadline, "sending to " + socket);
            }
            key.interestOps(SelectionKey.OP_READ);
            ByteArrayOutputStream in = new ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
            while (true) {
                int n = ch.read(buf);
                if (n < 0) break;
                if (n == 0) {
                    await(selector, deadline, "waiting for the answer on " + socket);
                    continue;
                }
                in.write(buf.array(), 0, buf.position());
                buf.clear();
                if (in.size() > MAX_ANSWER) throw new IOException("the answer on " + socket + " is larger than " + MAX_ANSWER + " bytes");
            }
            String text = in.toString(StandardCharsets.UTF_8);
            int nl = text.indexOf('\n');
            String head = nl < 0 ? text : text.substring(0, nl);
            if (!head.equals("ok") && !head.equals("error")) throw new IOException("no nflb answer on " + socket + ": '" + head + "'");
            return new Answer(head.equals("ok"), nl < 0 ? "" : text.substring(nl + 1));
        }
    }

    /**
     * A connected, non-blocking channel. A Unix socket's connect does not wait for room in the daemon's backlog: it
     * fails at once with EAGAIN while the daemon is busy accepting others, so it is tried again until {@code by}.
     */
    private static SocketChannel connect(Path socket, long by) throws IOException {
        while (true) {
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                ch.configureBlocking(false); // a blocking connect would wait for room in the backlog without end
                boolean connected = ch.connect(UnixDomainSocketAddress.of(socket));
                while (!connected) {
                    if (System.nanoTime() > by) throw new IOException("no answer in time while connecting to " + socket);
                    Thread.sleep(10);
                    connected = ch.finishConnect();
                }
                return ch;
            } catch (InterruptedException e) {
                ch.close();
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while connecting to " + socket, e);
            } catch (SocketException busy) {
                ch.close();
                if (!"Resource temporarily unavailable".equals(busy.getMessage()) || System.nanoTime() > by) throw busy;
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while connecting to " + socket, e);
                }
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
        }
    }

    private static void await(Selector selector, long deadline, String what) throws IOException {
        long left = deadline - System.nanoTime();
        if (left <= 0) throw new IOException("no answer in time while " + what);
        selector.select(Math.max(1, left / 1_000_000));
        selector.selectedKeys().clear();
    }

    /** Whether a daemon answers on {@code socket} (within a few seconds). */
    public static boolean answers(Path socket) {
        if (!Files.exists(socket)) return false;
        try {
            return ask(socket, "ping", Duration.ofSeconds(5)).ok();
        } catch (IOException e) {
            return false;
        }
    }
}
