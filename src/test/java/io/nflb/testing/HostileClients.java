package io.nflb.testing;

import java.io.IOException;
import java.net.Socket;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Clients that try to hold a daemon's local servers: HTTP connections that send half a request and then nothing,
 * and control-socket connections that send nothing at all. Closed together.
 */
public final class HostileClients implements AutoCloseable {

    private final List<Socket> slow = new ArrayList<>();
    private final List<SocketChannel> idle = new ArrayList<>();

    /** {@code count} slow HTTP clients on 127.0.0.1:{@code port} and as many idle ones on {@code socket} (null: none). */
    public static HostileClients open(int port, Path socket, int count) throws IOException {
        HostileClients h = new HostileClients();
        try {
            for (int i = 0; i < count; i++) {
                Socket s = new Socket("127.0.0.1", port);
                s.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII));
                h.slow.add(s);
                if (socket != null) h.idle.add(SocketChannel.open(UnixDomainSocketAddress.of(socket)));
            }
            return h;
        } catch (IOException e) {
            h.close();
            throw e;
        }
    }

    public List<Socket> slow() {
        return slow;
    }

    @Override
    public void close() throws IOException {
        for (Socket s : slow) s.close();
        for (SocketChannel c : idle) c.close();
    }
}
