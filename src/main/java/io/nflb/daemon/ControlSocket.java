package io.nflb.daemon;

import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * The daemon's Unix socket for operators: `nflb backend drain|enable|disable` and `nflb status`. Only root
 * may use it, twice over: the socket file is 0600 in a 0700 directory, and each peer's credentials
 * (SO_PEERCRED) are checked, so a permissive umask or a copied file descriptor does not open it up.
 * One request line in, one answer out: "ok" or "error" on the first line, then text.
 */
public final class ControlSocket implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ControlSocket.class);
    static final int MAX_REQUEST = 4096;

    private final Path path;
    private final Daemon daemon;
    private final ServerSocketChannel server;
    private final Thread acceptor;

    private ControlSocket(Path path, Daemon daemon, ServerSocketChannel server) {
        this.path = path;
        this.daemon = daemon;
        this.server = server;
        this.acceptor = new Thread(this::acceptLoop, "nflb-control");
        this.acceptor.setDaemon(true);
    }

    /** Binds {@code path} (replacing a stale socket no daemon answers on) and starts answering. */
    public static ControlSocket open(Path path, Daemon daemon) throws IOException {
        Path dir = path.toAbsolutePath().getParent();
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        if (Files.exists(path)) {
            if (ControlClient.answers(path)) throw new IOException("another nflb daemon answers on " + path);
            Files.delete(path);
        }
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        ControlSocket socket = new ControlSocket(path, daemon, server);
        socket.acceptor.start();
        return socket;
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            try {
                SocketChannel client = server.accept();
                Thread t = new Thread(() -> serve(client), "nflb-control-client");
                t.setDaemon(true);
                t.start();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                log.warn("control socket: {}", e.getMessage());
            }
        }
    }

    private void serve(SocketChannel client) {
        try (client) {
            UnixDomainPrincipal peer = client.getOption(ExtendedSocketOptions.SO_PEERCRED);
            String answer;
            if (!"root".equals(peer.user().getName())) {
                answer = "error\nonly root may control nflb (you are " + peer.user().getName() + ")\n";
            } else {
                String request = readLine(client);
                answer = request == null ? "error\nrequest too long or not a line\n" : answer(request);
            }
            ByteBuffer out = ByteBuffer.wrap(answer.getBytes(StandardCharsets.UTF_8));
            while (out.hasRemaining()) client.write(out);
        } catch (IOException e) {
            log.debug("control client: {}", e.getMessage());
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
                default -> "error\nunknown request '" + words.get(0) + "' (ping, states, drain, disable, enable)\n";
            };
        } catch (IllegalArgumentException e) {
            return "error\n" + e.getMessage() + "\n";
        } catch (RuntimeException e) {
            return "error\nthe daemon failed: " + e.getMessage() + "\n";
        }
    }

    /**
     * One line per backend: "backend", service, endpoint, state, weight; then one per service that refuses
     * new connections: "rejecting", service. Tab-separated.
     */
    private String states() {
        StringBuilder sb = new StringBuilder();
        for (Daemon.BackendView b : daemon.backends()) {
            sb.append("backend\t").append(b.key().service()).append('\t').append(b.key().endpoint()).append('\t')
                    .append(b.status().keyword()).append('\t').append(b.weight()).append('\n');
        }
        for (String s : daemon.rejecting()) sb.append("rejecting\t").append(s).append('\n');
        return sb.toString();
    }

    private static String readLine(SocketChannel client) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(MAX_REQUEST);
        while (buf.hasRemaining()) {
            if (client.read(buf) < 0) break;
            for (int i = 0; i < buf.position(); i++) {
                if (buf.get(i) == '\n') return new String(buf.array(), 0, i, StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    @Override
    public void close() {
        try {
            server.close();
            Files.deleteIfExists(path);
        } catch (IOException e) {
            log.warn("could not remove {}: {}", path, e.getMessage());
        }
    }
}
