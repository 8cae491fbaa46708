package io.nflb.daemon;

import io.nflb.plan.Plan;

import java.util.List;

/**
 * One kernel interface (iptables or nftables) seen from above: what nflb would load, loading it, removing it,
 * and reading how many new connections each backend got. The daemon and the CLI only talk to this.
 */
public interface Dataplane {

    /** "iptables" or "nftables". */
    String name();

    /** The exact text apply would send to the kernel as it is now ({@code live}) or to an empty one. */
    String preview(Plan plan, boolean live);

    /** Brings nflb's rules in the kernel to {@code plan}; a no-op when they already are. */
    Outcome apply(Plan plan);

    /** Removes nflb's rules and nothing else. */
    Outcome flush();

    /** Whether any rules of nflb's are in the kernel. */
    boolean installed();

    /** New connections per backend since the rules were loaded, read from the kernel's counters. */
    List<BackendTraffic> traffic();

    /**
     * Services whose new connections the kernel refuses now because none of their backends is usable (the
     * daemon's health checks took them all out). Default: none known.
     */
    default List<String> rejecting() {
        return List.of();
    }

    /** What an apply or flush did: whether anything changed, the text sent, and a one-line summary. */
    record Outcome(boolean changed, String sent, String summary) {
    }

    /** {@code connections}: packets on the backend's DNAT rule (the nat table sees each connection's first packet once). */
    record BackendTraffic(String service, String endpoint, long connections, long bytes) {
    }
}
