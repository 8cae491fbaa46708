package io.nflb.daemon;

import io.nflb.ha.HaStatus;
import io.nflb.ha.SyncCounters;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.util.Optional;
import java.util.function.Supplier;

/** The metrics of a router in a pair: its role, its last transition, keepalived's restarts and conntrackd's counters. */
final class HaMetrics {

    private HaMetrics() {
    }

    static void register(PrometheusRegistry registry, Supplier<Optional<HaStatus>> ha) {
        GaugeWithCallback.builder().name("nflb_ha_state")
                .help("1 for this router's role in its pair (primary, backup, fault; active in ecmp mode), 0 for the others")
                .labelNames("state")
                .callback(cb -> ha.get().ifPresent(h -> {
                    for (String r : HaStatus.ROLES) cb.call(r.equals(h.role()) ? 1 : 0, r);
                })).register(registry);
        GaugeWithCallback.builder().name("nflb_ha_last_transition_timestamp_seconds")
                .help("When this router last changed its role, in Unix seconds")
                .callback(cb -> ha.get().flatMap(HaStatus::since).ifPresent(s -> cb.call(s.toEpochMilli() / 1000.0))).register(registry);
        CounterWithCallback.builder().name("nflb_ha_keepalived_restarts_total")
                .help("Times keepalived exited and was restarted (its virtual addresses removed first)")
                .callback(cb -> ha.get().ifPresent(h -> cb.call(h.restarts()))).register(registry);
        GaugeWithCallback.builder().name("nflb_ha_sync_entries")
                .help("Connections in conntrackd's caches: internal (this router's) and external (the peer's, committed on takeover)")
                .labelNames("cache")
                .callback(cb -> ha.get().flatMap(HaStatus::sync).ifPresent(c -> {
                    cb.call(c.internal(), "internal");
                    cb.call(c.external(), "external");
                })).register(registry);
        CounterWithCallback.builder().name("nflb_ha_sync_packets_total")
                .help("conntrackd's packets on the sync link").labelNames("direction")
                .callback(cb -> ha.get().flatMap(HaStatus::sync).ifPresent(c -> {
                    cb.call(c.packetsSent(), "sent");
                    cb.call(c.packetsReceived(), "received");
                })).register(registry);
        CounterWithCallback.builder().name("nflb_ha_sync_errors_total")
                .help("conntrackd's send and receive errors, lost and malformed messages on the sync link")
                .callback(cb -> ha.get().flatMap(HaStatus::sync).ifPresent(c -> cb.call(errors(c)))).register(registry);
    }

    private static long errors(SyncCounters c) {
        return c.sendErrors() + c.receiveErrors() + c.lost() + c.malformed();
    }
}
