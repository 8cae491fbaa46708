package io.nflb.daemon;

/**
 * What the daemon knows about one backend: whether its checks pass (up/down, with rise and fall counters)
 * and what an operator asked for (draining, disabled). Only an up backend takes new connections; draining
 * and down ones keep their established connections, because conntrack has already translated them.
 * Not thread-safe: the {@link Reconciler} owns it.
 */
public final class BackendState {

    public enum Status {
        UP, DOWN, DRAINING, DISABLED;

        public String keyword() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** What an operator set; NORMAL leaves it to the checks. */
    public enum Admin { NORMAL, DRAINING, DISABLED }

    private final int rise;
    private final int fall;
    private boolean healthy;
    private int successes;
    private int failures;
    private Admin admin = Admin.NORMAL;

    public BackendState(int rise, int fall, boolean healthy) {
        if (rise < 1 || fall < 1) throw new IllegalArgumentException("rise and fall must be positive");
        this.rise = rise;
        this.fall = fall;
        this.healthy = healthy;
    }

    /** Counts one check result; returns true when it flipped the backend between up and down. */
    public boolean record(boolean ok) {
        if (ok) {
            failures = 0;
            successes = Math.min(successes + 1, rise);
            if (!healthy && successes >= rise) {
                healthy = true;
                return true;
            }
        } else {
            successes = 0;
            failures = Math.min(failures + 1, fall);
            if (healthy && failures >= fall) {
                healthy = false;
                return true;
            }
        }
        return false;
    }

    public Status status() {
        return switch (admin) {
            case DISABLED -> Status.DISABLED;
            case DRAINING -> Status.DRAINING;
            case NORMAL -> healthy ? Status.UP : Status.DOWN;
        };
    }

    /** Whether it may take new connections. */
    public boolean usable() {
        return status() == Status.UP;
    }

    public boolean healthy() {
        return healthy;
    }

    public Admin admin() {
        return admin;
    }

    /** Returns true when this changed whether the backend is usable. */
    public boolean admin(Admin next) {
        boolean before = usable();
        admin = next;
        return before != usable();
    }
}
