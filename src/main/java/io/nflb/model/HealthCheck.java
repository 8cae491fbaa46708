package io.nflb.model;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * How the daemon decides whether a backend may take new connections. A backend is marked down after
 * {@code fall} failed checks in a row and up again after {@code rise} good ones; a check that has not
 * answered within {@code timeout} has failed. The http fields and {@code command} are used only by their type.
 */
public record HealthCheck(Type type, Duration interval, Duration timeout, int rise, int fall,
                          String method, String path, int expectStatus, Optional<String> body,
                          Optional<String> host, List<String> command) {

    public static final int MAX_RISE_FALL = 100;
    public static final Duration MIN_INTERVAL = Duration.ofMillis(10);
    public static final Duration MAX_INTERVAL = Duration.ofHours(1);

    /** {@code none}: the backend is always up; what a service without {@code health:} gets. */
    public static final HealthCheck NONE = new HealthCheck(Type.NONE, Duration.ofSeconds(2), Duration.ofSeconds(1),
            2, 3, "GET", "/", 200, Optional.empty(), Optional.empty(), List.of());

    public enum Type {
        TCP, HTTP, EXEC, NONE;

        public String keyword() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public HealthCheck {
        if (type == null || interval == null || timeout == null || method == null || path == null) {
            throw new IllegalArgumentException("health check is incomplete");
        }
        if (interval.compareTo(MIN_INTERVAL) < 0 || interval.compareTo(MAX_INTERVAL) > 0) {
            throw new IllegalArgumentException("interval out of range: " + interval);
        }
        if (timeout.isNegative() || timeout.isZero() || timeout.compareTo(interval) > 0) {
            throw new IllegalArgumentException("timeout must be positive and at most the interval");
        }
        if (rise < 1 || rise > MAX_RISE_FALL || fall < 1 || fall > MAX_RISE_FALL) {
            throw new IllegalArgumentException("rise and fall must be 1.." + MAX_RISE_FALL);
        }
        if (!path.startsWith("/") || !printable(path) || path.contains(" ")) throw new IllegalArgumentException("bad http path: " + path);
        if (!method.matches("[A-Z]{1,16}")) throw new IllegalArgumentException("bad http method: " + method);
        if (expectStatus < 100 || expectStatus > 599) throw new IllegalArgumentException("bad http status: " + expectStatus);
        body = body == null ? Optional.empty() : body;
        host = host == null ? Optional.empty() : host;
        // Both end up in an HTTP request: a CR or LF would let the config smuggle headers.
        host.filter(h -> !printable(h) || h.isEmpty() || h.contains(" ")).ifPresent(h -> {
            throw new IllegalArgumentException("bad http host: " + h);
        });
        command = List.copyOf(command);
        if (type == Type.EXEC && command.isEmpty()) throw new IllegalArgumentException("exec check without a command");
    }

    /** Printable ASCII only. */
    public static boolean printable(String text) {
        return text.chars().allMatch(c -> c >= 0x20 && c <= 0x7e);
    }
}
