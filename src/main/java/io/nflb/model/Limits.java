package io.nflb.model;

import java.util.Optional;

/**
 * Per-client limits on a service's new connections: a rate per source address (with {@code burst}) and a
 * cap on a source's concurrent connections (0: none). Connections over a limit get {@code action}.
 */
public record Limits(Optional<Rate> perSourceRate, int burst, int maxConnectionsPerSource, Action action) {

    public static final int MAX_BURST = 10_000;
    public static final int MAX_CONNECTIONS = 1_000_000;

    public enum Action {
        REJECT, DROP;

        public String keyword() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public Limits {
        perSourceRate = perSourceRate == null ? Optional.empty() : perSourceRate;
        if (action == null) throw new IllegalArgumentException("action is null");
        if (perSourceRate.isPresent() && (burst < 1 || burst > MAX_BURST)) throw new IllegalArgumentException("burst out of range: " + burst);
        if (maxConnectionsPerSource < 0 || maxConnectionsPerSource > MAX_CONNECTIONS) {
            throw new IllegalArgumentException("max connections out of range: " + maxConnectionsPerSource);
        }
        if (perSourceRate.isEmpty() && maxConnectionsPerSource == 0) throw new IllegalArgumentException("limits without a limit");
    }
}
