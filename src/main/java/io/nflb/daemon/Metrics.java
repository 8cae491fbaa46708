package io.nflb.daemon;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The daemon's Prometheus metrics. Counters the daemon itself counts (checks, syncs, reloads) are updated
 * as things happen; what the kernel and the reconciler know (state, weight, connections) is read at scrape
 * time through callbacks, from memory: a scrape never runs a kernel tool.
 */
public final class Metrics {

    private static final double[] CHECK_BUCKETS = {.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5};
    private static final double[] SYNC_BUCKETS = {.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Histogram checkDuration;
    private final Counter checkFailures;
    private final Histogram syncDuration;
    private final Counter syncFailures;
    private final Counter reloads;
    private final Counter reloadFailures;
    private final Gauge lastSync;
    private final Counter udpFlowsDeleted;

    /** {@code source}: the newest snapshot the daemon published; read at scrape time, never written to. */
    public Metrics(java.util.function.Supplier<Daemon.Snapshot> source) {
        this(source, java.util.Optional::empty);
    }

    /** {@code ha}: this router's part in its pair, read at scrape time from memory. */
    public Metrics(java.util.function.Supplier<Daemon.Snapshot> source,
                   java.util.function.Supplier<java.util.Optional<io.nflb.ha.HaStatus>> ha) {
        HaMetrics.register(registry, ha);
        checkDuration = Histogram.builder().name("nflb_health_check_duration_seconds")
                .help("How long each health check took, failed ones included").labelNames("service", "backend")
                .classicUpperBounds(CHECK_BUCKETS).classicOnly().register(registry);
        checkFailures = Counter.builder().name("nflb_health_check_failures_total")
                .help("Health checks that failed").labelNames("service", "backend").register(registry);
        syncDuration = Histogram.builder().name("nflb_sync_duration_seconds")
                .help("How long bringing the kernel to the wanted rules took (read, diff, apply)")
                .classicUpperBounds(SYNC_BUCKETS).classicOnly().register(registry);
        syncFailures = Counter.builder().name("nflb_sync_failures_total")
                .help("Syncs the kernel refused; the previous rules stayed").register(registry);
        reloads = Counter.builder().name("nflb_reloads_total").help("Config reloads applied").register(registry);
        reloadFailures = Counter.builder().name("nflb_reload_failures_total")
                .help("Config reloads refused (invalid file or kernel refusal); the running config stayed").register(registry);
        lastSync = Gauge.builder().name("nflb_last_sync_success_timestamp_seconds")
                .help("When the kernel last took a sync, in Unix seconds").register(registry);
        udpFlowsDeleted = Counter.builder().name("nflb_udp_flows_deleted_total")
                .help("Conntrack entries of UDP flows deleted because their backend left the service")
                .labelNames("service").register(registry);

        GaugeWithCallback.builder().name("nflb_config_generation")
                .help("Starts at 1 and grows by one with each applied reload")
                .callback(cb -> cb.call(source.get().generation())).register(registry);
        GaugeWithCallback.builder().name("nflb_backend_up")
                .help("1 when the backend takes new connections (state up), else 0").labelNames("service", "backend")
                .callback(cb -> source.get().backends().forEach(b ->
                        cb.call(b.status() == BackendState.Status.UP ? 1 : 0, b.key().service(), b.key().endpoint())))
                .register(registry);
        GaugeWithCallback.builder().name("nflb_backend_state")
                .help("1 for the backend's current state (up, down, draining, disabled), 0 for the others")
                .labelNames("service", "backend", "state")
                .callback(cb -> source.get().backends().forEach(b -> {
                    for (BackendState.Status s : BackendState.Status.values()) {
                        cb.call(b.status() == s ? 1 : 0, b.key().service(), b.key().endpoint(), s.keyword());
                    }
                })).register(registry);
        GaugeWithCallback.builder().name("nflb_backend_weight")
                .help("The backend's weight in the config").labelNames("service", "backend")
                .callback(cb -> source.get().backends().forEach(b -> cb.call(b.weight(), b.key().service(), b.key().endpoint())))
                .register(registry);
        GaugeWithCallback.builder().name("nflb_service_rejecting")
                .help("1 when the service has no usable backend and refuses new connections at once")
                .labelNames("service")
                .callback(cb -> {
                    Daemon.Snapshot now = source.get();
                    now.services().forEach(s -> cb.call(now.rejecting().contains(s) ? 1 : 0, s));
                })
                .register(registry);
        CounterWithCallback.builder().name("nflb_backend_connections_total")
                .help("New connections sent to the backend, from the kernel's rule counters (reset when its rules are rewritten)")
                .labelNames("service", "backend")
                .callback(cb -> source.get().traffic().forEach(t -> cb.call(t.connections(), t.service(), t.endpoint())))
                .register(registry);
        CounterWithCallback.builder().name("nflb_backend_first_packet_bytes_total")
                .help("Bytes of the first packet of each new connection to the backend (the nat rules see no more)")
                .labelNames("service", "backend")
                .callback(cb -> source.get().traffic().forEach(t -> cb.call(t.bytes(), t.service(), t.endpoint())))
                .register(registry);
    }

    void check(BackendKey key, Duration took, boolean ok) {
        checkDuration.labelValues(key.service(), key.endpoint()).observe(took.toNanos() / 1e9);
        if (!ok) checkFailures.labelValues(key.service(), key.endpoint()).inc();
        else checkFailures.labelValues(key.service(), key.endpoint()).inc(0); // present from the first check on
    }

    void synced(long nanos) {
        syncDuration.observe(nanos / 1e9);
        lastSync.set(System.currentTimeMillis() / 1000.0);
    }

    void syncFailed(long nanos) {
        syncDuration.observe(nanos / 1e9);
        syncFailures.inc();
    }

    void reloaded(boolean ok) {
        if (ok) reloads.inc();
        else reloadFailures.inc();
    }

    void udpFlowsDeleted(String service, int count) {
        udpFlowsDeleted.labelValues(service).inc(count);
    }

    /** The Prometheus text exposition format, version 0.0.4. */
    public String scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            PrometheusTextFormatWriter.create().write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    public static String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }
}
