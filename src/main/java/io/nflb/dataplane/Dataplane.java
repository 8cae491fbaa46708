package io.nflb.dataplane;

import io.nflb.explain.ShareReport;
import io.nflb.model.Service;
import io.nflb.plan.Neighbourhood;
import io.nflb.plan.Plan;

import java.util.List;
import java.util.Optional;

/**
 * One rule language (iptables or nftables) seen from above: what nflb would load, loading it, removing it,
 * what would change, what the rules do, and how many new connections each backend got. Everything above the
 * dataplane (the daemon, the CLI, the lab) talks to this and never names a rule language; every object it
 * writes or reads in the kernel is named by its language's own names class.
 */
public interface Dataplane {

    /** "iptables" or "nftables". */
    String name();

    /** The exact text apply would send to the kernel as it is now ({@code live}) or to an empty one. */
    String plan(Plan plan, boolean live);

    /** Brings nflb's rules in the kernel to {@code plan}; a no-op when they already are. Refused: nothing changed. */
    Outcome apply(Plan plan);

    /**
     * A mark of what this dataplane last wrote or read back, which a later process can check against the kernel
     * for the price of reading one value (nftables: the generation token in set gen); empty when it has none.
     */
    default Optional<String> mark() {
        return Optional.empty();
    }

    /**
     * Tells a fresh dataplane what an earlier one left: {@code rules}, as {@link #plan} gave them (not live), written
     * with {@link #mark} {@code mark}. The next {@link #apply} trusts the kernel to hold them while it still shows
     * that mark, and sends only the difference, instead of reading all of nflb's rules back. Without a mark of its
     * own a dataplane ignores this.
     */
    default void assume(String rules, String mark) {
    }

    /**
     * Reads nflb's rules back from the kernel and, where they differ from {@code plan} (someone flushed the
     * table, deleted or edited a chain, removed a jump), brings them back in one transaction. {@code changed}:
     * a repair was needed. Unlike {@link #apply} it never trusts what this dataplane last wrote.
     */
    Outcome verify(Plan plan);

    /** What {@link #readBack} read; only the dataplane that made it knows what is inside. */
    interface ReadBack {
    }

    /**
     * The slow half of {@link #verify(Plan)}: reads nflb's rules back from the kernel, holding nothing a sync needs,
     * so another thread can do it while syncs go on. Empty when this dataplane does not split verify in two; its
     * {@link #verify(Plan, ReadBack)} then reads by itself.
     */
    default Optional<ReadBack> readBack() {
        return Optional.empty();
    }

    /**
     * {@link #verify(Plan)} with what {@link #readBack} read (or null): repairs what differs from {@code plan}.
     * Empty when a write since the read made it stale: read again later.
     */
    default Optional<Outcome> verify(Plan plan, ReadBack read) {
        return Optional.of(verify(plan));
    }

    /**
     * Turns on IP forwarding for the families {@code services} balance, where it is off (balanced traffic is routed
     * on to the backends); returns what it changed, one line each. Not part of {@link #apply}: a sync must not
     * run sysctl each time.
     */
    List<String> enableForwarding(List<Service> services);

    /** Removes nflb's rules and nothing else. */
    Outcome flush();

    /** Whether any rules of nflb's are in the kernel. */
    boolean installed();

    /**
     * What apply would change in nflb's rules, as a unified diff of the live rules against {@code plan}'s in a
     * canonical order; empty when apply would send nothing. {@code source} names the config in the header.
     */
    String diff(Plan plan, String source);

    /** Each backend's share of new connections, computed by evaluating the rules apply would load. */
    ShareReport explain(Plan plan);

    /** New connections per backend since the rules were loaded, read from the kernel's counters. */
    List<BackendTraffic> traffic();

    /** Services whose new connections the kernel refuses now because none of their backends is usable. */
    List<String> rejecting();

    /**
     * The other rule managers in the kernel (Docker, libvirt, kube-proxy, ufw, firewalld, fail2ban, anything
     * else), read from both rule languages. apply, plan --live and diff read them too when their plan has not
     * (a plan with {@link Plan#withNeighbours}), and write the firewall's rules for their traffic accordingly.
     */
    default Neighbourhood neighbours() {
        return Neighbourhood.empty();
    }

    /**
     * The maglev tables of the services translated without state (ha mode ecmp) as they are in the kernel, as
     * digests per service: routers of one group must show the same. Empty where a language has none.
     */
    default java.util.Map<String, String> tableDigests() {
        return java.util.Map.of();
    }

    /** Ends whatever the dataplane keeps running (a long-lived tool process); it also ends with the JVM. */
    default void close() {
    }

    /** What an apply or flush did: whether anything changed, the text sent, and a one-line summary. */
    record Outcome(boolean changed, String sent, String summary) {
    }

    /**
     * {@code connections}: new connections the backend got (the nat hooks see each connection's first packet
     * once); {@code bytes}: those first packets' bytes.
     */
    record BackendTraffic(String service, String endpoint, long connections, long bytes) {
    }
}
