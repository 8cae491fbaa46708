package io.nflb.model;

import java.time.Duration;

/**
 * How {@code nflb run} paces itself ({@code daemon:} in nflb.yaml). {@code minSyncInterval}: check results
 * that change the rules are gathered and applied in one transaction at most this often.
 * {@code resyncInterval}: how often the daemon reads nflb's rules back from the kernel and repairs them when
 * someone else flushed or edited them. {@code endpointHistograms}: a check-duration histogram per checked
 * endpoint in /metrics (off: one per check type, which stays small at thousands of backends).
 */
public record DaemonSettings(Duration minSyncInterval, Duration resyncInterval, boolean endpointHistograms) {

    public static final Duration MIN_SYNC_FLOOR = Duration.ofMillis(10);
    public static final Duration MIN_SYNC_CEILING = Duration.ofSeconds(10);
    public static final Duration RESYNC_FLOOR = Duration.ofSeconds(1);
    public static final Duration RESYNC_CEILING = Duration.ofHours(24);

    public static final DaemonSettings DEFAULTS = new DaemonSettings(Duration.ofMillis(100), Duration.ofSeconds(30), false);

    public DaemonSettings {
        if (minSyncInterval == null || minSyncInterval.compareTo(MIN_SYNC_FLOOR) < 0 || minSyncInterval.compareTo(MIN_SYNC_CEILING) > 0) {
            throw new IllegalArgumentException("min_sync_interval out of range: " + minSyncInterval);
        }
        if (resyncInterval == null || resyncInterval.compareTo(RESYNC_FLOOR) < 0 || resyncInterval.compareTo(RESYNC_CEILING) > 0) {
            throw new IllegalArgumentException("resync_interval out of range: " + resyncInterval);
        }
    }
}
