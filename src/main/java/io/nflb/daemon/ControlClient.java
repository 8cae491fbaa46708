package io.nflb.daemon;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Talks to a running daemon's {@link ControlSocket}. */
public final class ControlClient {

    /** The daemon's answer: whether it did it, and what it said. */
    public record Answer(boolean ok, String text) {
    }

    private ControlClient() {
    }

    /** Sends one request line and reads the whole answer; IOException when no daemon listens there. */
    public static Answer ask(Path socket, String request) throws IOException {
        if (request.indexOf('\n') >= 0) throw new IllegalArgumentException("a request is one line");
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ByteBuffer out = ByteBuffer.wrap((request + "\n").getBytes(StandardCharsets.UTF_8));
            while (out.hasRemaining()) ch.write(out);
            ByteArrayOutputStream in = new ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(8192);
            while (ch.read(buf) >= 0) {
                in.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            String text = in.toString(StandardCharsets.UTF_8);
            int nl = text.indexOf('\n');
            String head = nl < 0 ? text : text.substring(0, nl);
            return new Answer(head.equals("ok"), nl < 0 ? "" : text.substring(nl + 1));
        }
    }

    /** Whether a daemon answers on {@code socket}. */
    public static boolean answers(Path socket) {
        if (!Files.exists(socket)) return false;
        try {
            return ask(socket, "ping").ok();
        } catch (IOException e) {
            return false;
        }
    }
}
