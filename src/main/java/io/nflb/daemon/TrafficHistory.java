package io.nflb.daemon;

import io.nflb.dataplane.Dataplane;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Samples of the kernel's per-backend counters over the last minutes: the status page draws shares and a
 * chart from the differences between samples, and the metrics report the latest sample, so a scrape never
 * runs iptables-save or nft itself. A counter that went down was reset (its chain was rewritten); the
 * difference is then counted from zero. Thread-safe.
 */
public final class TrafficHistory {

    /** New connections and first-packet bytes per backend at one moment. */
    public record Sample(long epochMillis, Map<BackendKey, Dataplane.BackendTraffic> traffic) {
        public Sample {
            traffic = Map.copyOf(traffic);
        }
    }

    private final int capacity;
    private final Deque<Sample> samples = new ArrayDeque<>();
    private long recorded;

    public TrafficHistory(int capacity) {
        if (capacity < 2) throw new IllegalArgumentException("capacity must be at least 2");
        this.capacity = capacity;
    }

    public synchronized void record(long epochMillis, List<Dataplane.BackendTraffic> traffic) {
        Map<BackendKey, Dataplane.BackendTraffic> byKey = new LinkedHashMap<>();
        for (Dataplane.BackendTraffic t : traffic) byKey.put(new BackendKey(t.service(), t.endpoint()), t);
        if (samples.size() == capacity) samples.removeFirst();
        samples.addLast(new Sample(epochMillis, byKey));
        recorded++;
    }

    /** How many samples were ever recorded: a change tells that the latest counters are new. */
    public synchronized long recorded() {
        return recorded;
    }

    public synchronized List<Sample> samples() {
        return new ArrayList<>(samples);
    }

    /** The newest sample's counters; empty before the first. */
    public synchronized Map<BackendKey, Dataplane.BackendTraffic> latest() {
        return samples.isEmpty() ? Map.of() : samples.getLast().traffic();
    }

    /** New connections per backend between consecutive samples, over the samples newer than {@code sinceMillis}. */
    public synchronized Map<BackendKey, Long> connectionsSince(long sinceMillis) {
        return connectionsSince(sinceMillis, null);
    }

    /** The same for {@code keys} only (null: all): a page of 200 services need not sum 10,000 backends' history. */
    public synchronized Map<BackendKey, Long> connectionsSince(long sinceMillis, java.util.Set<BackendKey> keys) {
        Map<BackendKey, Long> out = new HashMap<>();
        Sample previous = null;
        for (Sample s : samples) {
            if (previous != null && s.epochMillis() > sinceMillis) {
                if (keys == null) {
                    for (var e : s.traffic().entrySet()) {
                        out.merge(e.getKey(), delta(previous, e.getKey(), e.getValue().connections()), Long::sum);
                    }
                } else {
                    for (BackendKey k : keys) {
                        Dataplane.BackendTraffic t = s.traffic().get(k);
                        if (t != null) out.merge(k, delta(previous, k, t.connections()), Long::sum);
                    }
                }
            }
            previous = s;
        }
        return out;
    }

    /** The growth of one counter from {@code before} to {@code now}; a reset counter counts from zero. */
    static long delta(Sample before, BackendKey key, long now) {
        Dataplane.BackendTraffic old = before.traffic().get(key);
        if (old == null || now < old.connections()) return now;
        return now - old.connections();
    }
}
