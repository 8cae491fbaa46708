package io.nflb.daemon;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.nflb.model.HostPort;
import io.nflb.model.IpAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;

/**
 * The status page at {@code /}, its data at {@code /api/status} and Prometheus metrics at {@code /metrics}, on
 * one port (127.0.0.1:9140 by default: a router's metrics are nobody else's business unless the operator says
 * so). The page is one file with its script and styles inline: routers often have no internet.
 * <p>
 * It cannot be held: JDK's server reads a request on a worker thread once its first byte arrives, so a client
 * that sends half a request holds a worker. Here a request must be complete within {@value #REQUEST_SECONDS} s
 * and an answer taken within {@value #RESPONSE_SECONDS} s (the JDK's timer closes the connection then), idle
 * keep-alive connections close after {@value #IDLE_SECONDS} s, at most {@value #MAX_CONNECTIONS} connections are
 * open at once (more are closed at accept), and there are more workers than the connections that can hold one
 * for a request time ({@value #WORKERS}, idle ones end), so a hundred slow clients leave /metrics a worker. Paths
 * are exact, only GET and HEAD are answered, and the Host header must be an IP literal or localhost: a page of
 * some other name (DNS rebinding) cannot read the status.
 */
public final class WebServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WebServer.class);
    public static final String DEFAULT_ADDRESS = "127.0.0.1:9140";

    static final int REQUEST_SECONDS = 3;
    static final int RESPONSE_SECONDS = 30;
    static final int IDLE_SECONDS = 10;
    static final int MAX_CONNECTIONS = 128;
    static final int WORKERS = 144;

    static {
        // Read once by the JDK's server when its first instance starts; an operator's -D wins.
        setDefault("sun.net.httpserver.maxReqTime", String.valueOf(REQUEST_SECONDS));
        setDefault("sun.net.httpserver.maxRspTime", String.valueOf(RESPONSE_SECONDS));
        setDefault("sun.net.httpserver.timerMillis", "250");
        setDefault("sun.net.httpserver.idleInterval", String.valueOf(IDLE_SECONDS));
        setDefault("sun.net.httpserver.clockTick", "1000");
        setDefault("sun.net.httpserver.maxIdleConnections", "16");
        setDefault("sun.net.httpserver.maxReqHeaders", "64");
        setDefault("sun.net.httpserver.maxReqHeaderSize", "16384");
        setDefault("jdk.httpserver.maxConnections", String.valueOf(MAX_CONNECTIONS));
    }

    private static void setDefault(String key, String value) {
        if (System.getProperty(key) == null) System.setProperty(key, value);
    }

    private final HttpServer server;
    private final ThreadPoolExecutor workers;

    private WebServer(HttpServer server, ThreadPoolExecutor workers) {
        this.server = server;
        this.workers = workers;
    }

    /**
     * Binds {@code address} (failing here, before the daemon touches the kernel, when it is taken) without
     * serving yet; {@link #serve} starts answering.
     */
    public static WebServer bind(InetSocketAddress address) throws IOException {
        HttpServer server = HttpServer.create(address, 64);
        // Idle workers end after 5 s: a burst of slow clients leaves no threads behind.
        ThreadPoolExecutor workers = new ThreadPoolExecutor(2, WORKERS, 5, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
            Thread t = new Thread(null, r, "nflb-web", 256 * 1024);
            t.setDaemon(true);
            return t;
        });
        return new WebServer(server, workers);
    }

    public static WebServer start(InetSocketAddress address, Daemon daemon) throws IOException {
        WebServer w = bind(address);
        w.serve(daemon);
        return w;
    }

    public void serve(Daemon daemon) {
        byte[] page = page();
        server.createContext("/", ex -> {
            try (ex) {
                String path = ex.getRequestURI().getRawPath();
                if (!allowedHost(ex.getRequestHeaders().getFirst("Host"))) {
                    send(ex, 421, "text/plain; charset=utf-8", "this server answers to IP addresses and localhost only\n".getBytes(StandardCharsets.UTF_8));
                } else if (path.equals("/")) {
                    send(ex, 200, "text/html; charset=utf-8", page);
                } else if (path.equals("/metrics")) {
                    send(ex, 200, Metrics.contentType(), daemon.metrics().scrapeBytes());
                } else if (path.equals("/api/status")) {
                    send(ex, 200, "application/json", StatusReport.json(daemon, query(ex, "filter")).getBytes(StandardCharsets.UTF_8));
                } else {
                    send(ex, 404, "text/plain; charset=utf-8", "not found; try /, /metrics or /api/status\n".getBytes(StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                log.debug("{} {}: {}", ex.getRequestMethod(), ex.getRequestURI(), e.toString());
            } catch (RuntimeException e) {
                log.warn("{} {}: {}", ex.getRequestMethod(), ex.getRequestURI(), e.toString());
                throw e;
            }
        });
        server.setExecutor(r -> {
            try {
                workers.execute(r);
            } catch (RejectedExecutionException e) {
                daemon.metrics().refused("web", "no worker");
                throw e; // the JDK's server closes the connection
            }
        });
        server.start();
    }

    public InetSocketAddress address() {
        return server.getAddress();
    }

    /** Workers now: never more than {@value #WORKERS}. */
    int workers() {
        return workers.getPoolSize();
    }

    /** An IP literal (the listen address, or any other of the router's) or localhost, with or without a port; no header (HTTP/1.0). */
    static boolean allowedHost(String host) {
        if (host == null) return true;
        String h = host.strip().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            if (end < 0) return false;
            String rest = h.substring(end + 1);
            return (rest.isEmpty() || rest.matches(":[0-9]{1,5}")) && IpAddress.parse(h.substring(1, end)).isPresent();
        }
        int colon = h.indexOf(':');
        if (colon >= 0 && h.indexOf(':', colon + 1) < 0) {
            if (!h.substring(colon + 1).matches("[0-9]{1,5}")) return false;
            h = h.substring(0, colon);
        }
        return h.equals("localhost") || IpAddress.parse(h).filter(a -> a.family() == IpAddress.Family.V4 || host.indexOf(':') >= 0).isPresent();
    }

    private static String query(HttpExchange ex, String name) {
        String q = ex.getRequestURI().getRawQuery();
        if (q == null) return "";
        for (String part : q.split("&")) {
            int eq = part.indexOf('=');
            if (eq > 0 && part.substring(0, eq).equals(name)) {
                String v = URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8);
                return v.length() > 200 ? v.substring(0, 200) : v;
            }
        }
        return "";
    }

    /** "HOST:PORT" with the host an IP literal ([v6] in brackets); a name would need a resolver the router may lack. */
    public static InetSocketAddress parseAddress(String text) {
        HostPort hp = text.indexOf(':') < 0 ? null : HostPort.parse(text);
        if (hp == null || hp.port().isEmpty()) throw new IllegalArgumentException("'" + text + "' is not HOST:PORT");
        return new InetSocketAddress(hp.address().toString(), hp.port().getAsInt());
    }

    private static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
            byte[] msg = "only GET\n".getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Allow", "GET, HEAD");
            ex.sendResponseHeaders(405, msg.length);
            ex.getResponseBody().write(msg);
            return;
        }
        String accept = ex.getRequestHeaders().getFirst("Accept-Encoding");
        if (accept != null && accept.contains("gzip") && body.length > 4096) {
            body = gzip(body);
            ex.getResponseHeaders().set("Content-Encoding", "gzip");
        }
        ex.getResponseHeaders().set("Content-Type", type);
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        ex.sendResponseHeaders(status, ex.getRequestMethod().equals("HEAD") ? -1 : body.length);
        try (OutputStream out = ex.getResponseBody()) {
            if (!ex.getRequestMethod().equals("HEAD")) out.write(body);
        }
    }

    private static byte[] gzip(byte[] body) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(body.length / 6 + 64);
        try (GZIPOutputStream z = new GZIPOutputStream(out, 64 * 1024)) {
            z.write(body);
        }
        return out.toByteArray();
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
