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
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The daemon's Prometheus metrics. What the daemon counts as it happens (checks, syncs, repairs, reloads) lives
 * in a prometheus-metrics registry; the per-backend families, tens of thousands of lines at 10,000 backends, are
 * written straight from the published {@link Daemon.Snapshot} as text: a scrape never runs a kernel tool and
 * never builds an object per line. Check durations are one histogram per check type; per endpoint only when
 * {@code daemon: {endpoint_histograms: true}}. {@code nflb_backend_state} has one line per backend, its current
 * state with value 1.
 */
public final class Metrics {

    private static final double[] CHECK_BUCKETS = {.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5};
    private static final double[] SYNC_BUCKETS = {.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30};

    private final Supplier<Daemon.Snapshot> source;
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Histogram checkDuration;
    private final Histogram endpointCheckDuration;
    private final Histogram syncDuration;
    private final Counter syncFailures;
    private final Counter repairs;
    private final Counter reloads;
    private final Counter reloadFailures;
    private final Counter errors;
    private final Gauge lastSync;
    private final Counter udpFlowsDeleted;
    private final Counter refused;
    private final Gauge confirmTimerDead;
    private final Map<Probe, LongAdder> checkFailures = new ConcurrentHashMap<>();
    /** Thousands of checks a second: the label lookup is done once per type. */
    private final Map<io.nflb.model.HealthCheck.Type, io.prometheus.metrics.core.datapoints.DistributionDataPoint> byType = new ConcurrentHashMap<>();
    private volatile boolean endpointHistograms;

    /** {@code source}: the newest snapshot the daemon published; {@code skippedChecks}: the checker's count. */
    public Metrics(Supplier<Daemon.Snapshot> source, LongSupplier skippedChecks) {
        this(source, skippedChecks, java.util.Optional::empty);
    }

    /** {@code ha}: this router's part in its pair, read at scrape time from memory. */
    public Metrics(Supplier<Daemon.Snapshot> source, LongSupplier skippedChecks,
                   Supplier<java.util.Optional<io.nflb.ha.HaStatus>> ha) {
        this.source = source;
        HaMetrics.register(registry, ha);
        checkDuration = Histogram.builder().name("nflb_health_check_duration_seconds")
                .help("How long health checks took, failed ones included, by check type").labelNames("type")
                .classicUpperBounds(CHECK_BUCKETS).classicOnly().register(registry);
        endpointCheckDuration = Histogram.builder().name("nflb_endpoint_check_duration_seconds")
                .help("How long each endpoint's checks took (daemon: {endpoint_histograms: true})").labelNames("endpoint", "type")
                .classicUpperBounds(CHECK_BUCKETS).classicOnly().register(registry);
        syncDuration = Histogram.builder().name("nflb_sync_duration_seconds")
                .help("How long bringing the kernel to the wanted rules took (read, diff, apply)")
                .classicUpperBounds(SYNC_BUCKETS).classicOnly().register(registry);
        syncFailures = Counter.builder().name("nflb_sync_failures_total")
                .help("Syncs the kernel refused; the previous rules stayed and the sync is retried").register(registry);
        repairs = Counter.builder().name("nflb_repairs_total")
                .help("Read-backs that found nflb's rules changed by someone else and put them back").register(registry);
        reloads = Counter.builder().name("nflb_reloads_total").help("Config reloads applied").register(registry);
        reloadFailures = Counter.builder().name("nflb_reload_failures_total")
                .help("Config reloads refused (invalid file or kernel refusal); the running config stayed").register(registry);
        errors = Counter.builder().name("nflb_daemon_errors_total")
                .help("Unexpected errors the daemon caught and survived, by where").labelNames("where").register(registry);
        lastSync = Gauge.builder().name("nflb_last_sync_success_timestamp_seconds")
                .help("When the kernel last took a sync, in Unix seconds").register(registry);
        udpFlowsDeleted = Counter.builder().name("nflb_udp_flows_deleted_total")
                .help("Conntrack entries of UDP flows deleted because their backend left the service")
                .labelNames("service").register(registry);
        refused = Counter.builder().name("nflb_connections_refused_total")
                .help("Connections to the status page or the control socket closed at once: over the cap or timed out")
                .labelNames("server", "why").register(registry);
        confirmTimerDead = Gauge.builder().name("nflb_confirm_timer_dead")
                .help("1 when an `nflb apply --confirm` waits for confirmation and its timer is gone: nothing will roll it back")
                .register(registry);
        CounterWithCallback.builder().name("nflb_health_checks_skipped_total")
                .help("Check ticks skipped: the exec pool was full or no socket could be opened")
                .callback(cb -> cb.call(skippedChecks.getAsLong())).register(registry);
        GaugeWithCallback.builder().name("nflb_config_generation")
                .help("Starts at 1 and grows by one with each applied reload")
                .callback(cb -> cb.call(source.get().generation())).register(registry);
        GaugeWithCallback.builder().name("nflb_sync_pending")
                .help("1 while a change waits for the kernel (coalescing, or retrying after a refusal)")
                .callback(cb -> cb.call(source.get().pending() ? 1 : 0)).register(registry);
    }

    void settings(boolean endpointHistograms) {
        if (this.endpointHistograms && !endpointHistograms) endpointCheckDuration.clear();
        this.endpointHistograms = endpointHistograms;
    }

    void check(Probe probe, Duration took, boolean ok) {
        double seconds = took.toNanos() / 1e9;
        byType.computeIfAbsent(probe.check().type(), t -> checkDuration.labelValues(t.keyword())).observe(seconds);
        if (endpointHistograms) endpointCheckDuration.labelValues(probe.endpoint(), probe.check().type().keyword()).observe(seconds);
        LongAdder failures = checkFailures.computeIfAbsent(probe, p -> new LongAdder());
        if (!ok) failures.increment();
    }

    /** Forgets the failure counts of probes a reload removed. */
    void retain(java.util.Set<Probe> probes) {
        checkFailures.keySet().retainAll(probes);
    }

    void synced(long nanos) {
        syncDuration.observe(nanos / 1e9);
        lastSync.set(System.currentTimeMillis() / 1000.0);
    }

    void syncFailed(long nanos) {
        syncDuration.observe(nanos / 1e9);
        syncFailures.inc();
    }

    void repaired() {
        repairs.inc();
    }

    void reloaded(boolean ok) {
        if (ok) reloads.inc();
        else reloadFailures.inc();
    }

    void error(String where) {
        errors.labelValues(where).inc();
    }

    void refused(String server, String why) {
        refused.labelValues(server, why).inc();
    }

    void confirmTimerDead(boolean dead) {
        confirmTimerDead.set(dead ? 1 : 0);
    }

    void udpFlowsDeleted(String service, int count) {
        udpFlowsDeleted.labelValues(service).inc(count);
    }

    /** The Prometheus text exposition format, version 0.0.4. */
    public String scrape() {
        return new String(scrapeBytes(), StandardCharsets.UTF_8);
    }

    public byte[] scrapeBytes() {
        Daemon.Snapshot s = source.get();
        ByteArrayOutputStream out = new ByteArrayOutputStream(256 + s.backends().size() * 420);
        try {
            PrometheusTextFormatWriter.create().write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // What the snapshot says is written once per snapshot: scrapes between two changes reuse it.
        Written w = written;
        if (w == null || w.snapshot != s) {
            w = new Written(s, perBackend(s));
            written = w;
        }
        out.write(w.text, 0, w.text.length);
        StringBuilder sb = new StringBuilder(checkFailures.size() * 70 + 256);
        family(sb, "nflb_health_check_failures_total", "counter", "Failed checks of each checked endpoint, by check type");
        for (Map.Entry<Probe, LongAdder> e : checkFailures.entrySet()) {
            sb.append("nflb_health_check_failures_total{endpoint=\"");
            escape(sb, e.getKey().endpoint()).append("\",type=\"").append(e.getKey().check().type().keyword()).append("\"} ")
                    .append(e.getValue().sum()).append('\n');
        }
        byte[] tail = sb.toString().getBytes(StandardCharsets.UTF_8);
        out.write(tail, 0, tail.length);
        return out.toByteArray();
    }

    private record Written(Daemon.Snapshot snapshot, byte[] text) {
    }

    private volatile Written written;

    private static byte[] perBackend(Daemon.Snapshot s) {
        StringBuilder sb = new StringBuilder(s.backends().size() * 400 + 1024);
        family(sb, "nflb_backend_up", "gauge", "1 when the backend takes new connections (state up), else 0");
        for (Daemon.BackendView b : s.backends()) {
            line(sb, "nflb_backend_up", b, null).append(b.status() == BackendState.Status.UP ? "1" : "0").append('\n');
        }
        family(sb, "nflb_backend_state", "gauge", "The backend's current state (up, down, draining, disabled): one line, value 1");
        for (Daemon.BackendView b : s.backends()) line(sb, "nflb_backend_state", b, b.status().keyword()).append("1\n");
        family(sb, "nflb_backend_weight", "gauge", "The backend's weight in the config");
        for (Daemon.BackendView b : s.backends()) line(sb, "nflb_backend_weight", b, null).append(b.weight()).append('\n');
        family(sb, "nflb_service_rejecting", "gauge", "1 when the service has no usable backend and refuses new connections at once");
        for (String svc : s.services()) {
            sb.append("nflb_service_rejecting{service=\"");
            escape(sb, svc).append("\"} ").append(s.rejecting().contains(svc) ? "1" : "0").append('\n');
        }
        family(sb, "nflb_backend_connections_total", "counter",
                "New connections sent to the backend, from the kernel's rule counters (reset when its rules are rewritten)");
        for (var t : s.traffic()) traffic(sb, "nflb_backend_connections_total", t.service(), t.endpoint()).append(t.connections()).append('\n');
        family(sb, "nflb_backend_first_packet_bytes_total", "counter",
                "Bytes of the first packet of each new connection to the backend (the nat rules see no more)");
        for (var t : s.traffic()) traffic(sb, "nflb_backend_first_packet_bytes_total", t.service(), t.endpoint()).append(t.bytes()).append('\n');
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void family(StringBuilder sb, String name, String type, String help) {
        sb.append("# HELP ").append(name).append(' ').append(help).append('\n')
                .append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static StringBuilder line(StringBuilder sb, String name, Daemon.BackendView b, String state) {
        sb.append(name).append("{backend=\"");
        escape(sb, b.key().endpoint()).append("\",service=\"");
        escape(sb, b.key().service()).append('"');
        if (state != null) sb.append(",state=\"").append(state).append('"');
        return sb.append("} ");
    }

    private static StringBuilder traffic(StringBuilder sb, String name, String service, String endpoint) {
        sb.append(name).append("{backend=\"");
        escape(sb, endpoint).append("\",service=\"");
        return escape(sb, service).append("\"} ");
    }

    /** Label values in the text format: backslash, quote and newline escaped. */
    private static StringBuilder escape(StringBuilder sb, String v) {
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c == '\\' || c == '"') sb.append('\\').append(c);
            else if (c == '\n') sb.append("\\n");
            else sb.append(c);
        }
        return sb;
    }

    public static String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }
}
