package io.nflb.daemon;

import io.nflb.model.HealthCheck;

/**
 * What the real checks send and accept: tcp is a connect; http one request on a plain connection (HTTP/1.0, so
 * the server closes), passing when the status (and the body substring, if one is asked for) matches; exec a
 * program run without a shell, told the endpoint in NFLB_BACKEND_ADDRESS and NFLB_BACKEND_PORT. The
 * {@link HealthChecker} runs them.
 */
final class HealthChecks {

    private HealthChecks() {
    }

    static String request(Probe p) {
        HealthCheck c = p.check();
        String host = c.host().orElse(p.endpoint());
        return c.method() + " " + c.path() + " HTTP/1.0\r\nHost: " + host
                + "\r\nUser-Agent: nflb-health\r\nConnection: close\r\n\r\n";
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
}
