package io.nflb.daemon;

import io.nflb.host.Exec;
import io.nflb.model.Backend;
import io.nflb.model.HealthCheck;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The real health checks, each bounded by its timeout: tcp (a connect), http (one request on a plain socket,
 * HTTP/1.0 so the server closes), exec (a program run without a shell, told the backend in its environment).
 * They run from the network namespace the daemon runs in.
 */
public final class HealthChecks implements HealthProbe {

    /** An http check reads at most this much: enough for a status line, headers and a short body. */
    static final int MAX_RESPONSE = 64 * 1024;

    private final Exec exec;

    /** {@code exec}: where exec checks run; the host's own namespace for the daemon. */
    public HealthChecks(Exec exec) {
        this.exec = exec;
    }

    @Override
    public boolean check(HealthChecker.Target t) throws IOException {
        HealthCheck c = t.check();
        return switch (c.type()) {
            case NONE -> true;
            case TCP -> tcp(t.backend(), c);
            case HTTP -> http(t.backend(), c);
            case EXEC -> exec(t, c);
        };
    }

    static boolean tcp(Backend b, HealthCheck c) throws IOException {
        try (Socket s = new Socket()) {
            s.setSoLinger(true, 0); // a check every 2s per backend would otherwise pile up TIME_WAIT
            s.connect(new InetSocketAddress(b.address().toString(), b.port()), millis(c));
            return true;
        }
    }

    static boolean http(Backend b, HealthCheck c) throws IOException {
        long deadline = System.nanoTime() + c.timeout().toNanos();
        try (Socket s = new Socket()) {
            s.setSoLinger(true, 0);
            s.connect(new InetSocketAddress(b.address().toString(), b.port()), millis(c));
            String host = c.host().orElse(b.endpoint());
            String request = c.method() + " " + c.path() + " HTTP/1.0\r\nHost: " + host
                    + "\r\nUser-Agent: nflb-health\r\nConnection: close\r\n\r\n";
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String response = readUntilClosed(s, deadline);
            return matches(response, c);
        }
    }

    /** "HTTP/1.x STATUS ..." with the wanted status, and the body substring if one is asked for. */
    static boolean matches(String response, HealthCheck c) {
        int lineEnd = response.indexOf("\r\n");
        String[] status = (lineEnd < 0 ? response : response.substring(0, lineEnd)).split(" ", 3);
        if (status.length < 2 || !status[0].startsWith("HTTP/") || !status[1].equals(String.valueOf(c.expectStatus()))) return false;
        if (c.body().isEmpty()) return true;
        int bodyStart = response.indexOf("\r\n\r\n");
        return bodyStart >= 0 && response.substring(bodyStart + 4).contains(c.body().get());
    }

    private static String readUntilClosed(Socket s, long deadline) throws IOException {
        InputStream in = s.getInputStream();
        byte[] buf = new byte[MAX_RESPONSE];
        int n = 0;
        while (n < buf.length) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) throw new SocketTimeoutException("no complete answer in time");
            s.setSoTimeout((int) Math.min(left, Integer.MAX_VALUE));
            int r = in.read(buf, n, buf.length - n);
            if (r < 0) break;
            n += r;
        }
        return new String(buf, 0, n, StandardCharsets.ISO_8859_1);
    }

    private boolean exec(HealthChecker.Target t, HealthCheck c) {
        Map<String, String> env = Map.of(
                "NFLB_SERVICE", t.service(),
                "NFLB_BACKEND_ADDRESS", t.backend().address().toString(),
                "NFLB_BACKEND_PORT", String.valueOf(t.backend().port()));
        return exec.run(c.command(), env, null, c.timeout()).ok();
    }

    private static int millis(HealthCheck c) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, c.timeout().toMillis()));
    }
}
