package io.nflb.daemon;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.nflb.model.HostPort;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The status page at {@code /}, its data at {@code /api/status} and Prometheus metrics at {@code /metrics},
 * on one port (127.0.0.1:9140 by default: a router's metrics are nobody else's business unless the operator
 * says so). The page is one file with its script and styles inline: routers often have no internet.
 */
public final class WebServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WebServer.class);
    public static final String DEFAULT_ADDRESS = "127.0.0.1:9140";

    private final HttpServer server;
    private final ExecutorService workers;

    private WebServer(HttpServer server, ExecutorService workers) {
        this.server = server;
        this.workers = workers;
    }

    public static WebServer start(InetSocketAddress address, Daemon daemon) throws IOException {
        byte[] page = page();
        HttpServer server = HttpServer.create(address, 16);
        server.createContext("/", ex -> {
            if (!ex.getRequestURI().getPath().equals("/")) {
                send(ex, 404, "text/plain; charset=utf-8", "not found; try /, /metrics or /api/status\n".getBytes(StandardCharsets.UTF_8));
            } else {
                send(ex, 200, "text/html; charset=utf-8", page);
            }
        });
        server.createContext("/metrics", ex -> send(ex, 200, Metrics.contentType(),
                daemon.metrics().scrape().getBytes(StandardCharsets.UTF_8)));
        server.createContext("/api/status", ex -> send(ex, 200, "application/json",
                StatusReport.json(daemon).getBytes(StandardCharsets.UTF_8)));
        ExecutorService workers = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "nflb-web");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(workers);
        server.start();
        return new WebServer(server, workers);
    }

    public InetSocketAddress address() {
        return server.getAddress();
    }

    /** "HOST:PORT" with the host an IP literal ([v6] in brackets); a name would need a resolver the router may lack. */
    public static InetSocketAddress parseAddress(String text) {
        HostPort hp = text.indexOf(':') < 0 ? null : HostPort.parse(text);
        if (hp == null || hp.port().isEmpty()) throw new IllegalArgumentException("'" + text + "' is not HOST:PORT");
        return new InetSocketAddress(hp.address().toString(), hp.port().getAsInt());
    }

    private static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        try (ex) {
            if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
                byte[] msg = "only GET\n".getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(405, msg.length);
                ex.getResponseBody().write(msg);
                return;
            }
            ex.getResponseHeaders().set("Content-Type", type);
            ex.getResponseHeaders().set("Cache-Control", "no-store");
            ex.sendResponseHeaders(status, ex.getRequestMethod().equals("HEAD") ? -1 : body.length);
            try (OutputStream out = ex.getResponseBody()) {
                if (!ex.getRequestMethod().equals("HEAD")) out.write(body);
            }
        } catch (RuntimeException e) {
            log.warn("{} {}: {}", ex.getRequestMethod(), ex.getRequestURI(), e.toString());
            throw e;
        }
    }

    private static byte[] page() {
        try (InputStream in = WebServer.class.getResourceAsStream("status.html")) {
            if (in == null) throw new IllegalStateException("status.html is missing from the jar");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        workers.shutdownNow();
    }
}
