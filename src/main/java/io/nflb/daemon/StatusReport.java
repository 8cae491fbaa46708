package io.nflb.daemon;

import io.nflb.dataplane.Dataplane;
import io.nflb.model.IpAddress;
import io.nflb.model.Json;
import io.nflb.model.Listen;
import io.nflb.model.Service;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The daemon's state as JSON, for the status page (which draws it) and for tools. */
public final class StatusReport {

    /** The bars on the status page show the shares of new connections over this much time. */
    public static final Duration SHARE_WINDOW = Duration.ofMinutes(5);

    private StatusReport() {
    }

    public static String json(Daemon daemon) {
        long now = System.currentTimeMillis();
        List<Daemon.BackendView> backends = daemon.backends();
        Map<BackendKey, Dataplane.BackendTraffic> latest = daemon.history().latest();
        Map<BackendKey, Long> recent = daemon.history().connectionsSince(now - SHARE_WINDOW.toMillis());
        java.util.Set<String> rejecting = java.util.Set.copyOf(daemon.rejecting());
        // Backends by service: a router with thousands of services must not scan them all per service.
        Map<String, List<Daemon.BackendView>> byService = new java.util.HashMap<>();
        for (Daemon.BackendView b : backends) byService.computeIfAbsent(b.key().service(), k -> new java.util.ArrayList<>()).add(b);

        StringBuilder sb = new StringBuilder("{");
        sb.append("\"dataplane\":").append(Json.str(daemon.dataplaneName()))
                .append(",\"generation\":").append(daemon.generation())
                .append(",\"started\":").append(Json.str(daemon.started().toString()))
                .append(",\"now\":").append(now)
                .append(",\"sampleEverySeconds\":").append(num(daemon.sampleEvery().toMillis() / 1000.0))
                .append(",\"shareWindowSeconds\":").append(SHARE_WINDOW.toSeconds())
                .append(",\"lastSync\":");
        daemon.lastSync().ifPresentOrElse(s -> sb.append("{\"at\":").append(Json.str(s.at().toString()))
                .append(",\"ok\":").append(s.ok())
                .append(",\"millis\":").append(num(s.took().toNanos() / 1e6))
                .append(",\"summary\":").append(Json.str(s.summary())).append('}'), () -> sb.append("null"));

        sb.append(",\"ha\":").append(daemon.ha().map(io.nflb.ha.HaStatus::toJson).orElse("null"));
        sb.append(",\"services\":[");
        int i = 0;
        for (Service s : daemon.config().services()) {
            sb.append(i++ > 0 ? "," : "").append("{\"name\":").append(Json.str(s.name()))
                    .append(",\"protocol\":").append(Json.str(s.protocol().name().toLowerCase(Locale.ROOT)))
                    .append(",\"listen\":").append(Json.str(listen(s.listen())))
                    .append(",\"scheduler\":").append(Json.str(s.scheduler().keyword()))
                    .append(",\"rejecting\":").append(rejecting.contains(s.name()))
                    .append(",\"maglevDigest\":").append(digest(daemon, s))
                    .append(",\"backends\":[");
            int j = 0;
            for (Daemon.BackendView b : byService.getOrDefault(s.name(), List.of())) {
                Dataplane.BackendTraffic t = latest.get(b.key());
                sb.append(j++ > 0 ? "," : "").append("{\"endpoint\":").append(Json.str(b.key().endpoint()))
                        .append(",\"weight\":").append(b.weight())
                        .append(",\"state\":").append(Json.str(b.status().keyword()))
                        .append(",\"check\":").append(Json.str(b.check().name().toLowerCase(Locale.ROOT)))
                        .append(",\"lastCheck\":");
                b.lastCheck().ifPresentOrElse(c -> sb.append("{\"at\":").append(Json.str(c.at().toString()))
                        .append(",\"ok\":").append(c.ok())
                        .append(",\"millis\":").append(num(c.took().toNanos() / 1e6)).append('}'), () -> sb.append("null"));
                sb.append(",\"connections\":").append(t == null ? 0 : t.connections())
                        .append(",\"recentConnections\":").append(recent.getOrDefault(b.key(), 0L))
                        .append('}');
            }
            sb.append("]}");
        }
        sb.append("],\"chart\":");
        chart(sb, daemon.history().samples());
        sb.append(",\"events\":[");
        int k = 0;
        for (Events.Event e : daemon.events()) {
            sb.append(k++ > 0 ? "," : "").append("{\"at\":").append(Json.str(e.at().toString()))
                    .append(",\"level\":").append(Json.str(e.level().name().toLowerCase(Locale.ROOT)))
                    .append(",\"message\":").append(Json.str(e.message())).append('}');
        }
        return sb.append("]}").toString();
    }

    /** New connections per backend in each interval between samples: {times: [...], series: [{service, endpoint, counts}]}. */
    private static void chart(StringBuilder sb, List<TrafficHistory.Sample> samples) {
        sb.append("{\"times\":[");
        for (int i = 1; i < samples.size(); i++) sb.append(i > 1 ? "," : "").append(samples.get(i).epochMillis());
        sb.append("],\"series\":[");
        java.util.LinkedHashSet<BackendKey> keys = new java.util.LinkedHashSet<>();
        samples.forEach(s -> keys.addAll(s.traffic().keySet()));
        int n = 0;
        for (BackendKey key : keys) {
            sb.append(n++ > 0 ? "," : "").append("{\"service\":").append(Json.str(key.service()))
                    .append(",\"endpoint\":").append(Json.str(key.endpoint())).append(",\"counts\":[");
            for (int i = 1; i < samples.size(); i++) {
                Dataplane.BackendTraffic t = samples.get(i).traffic().get(key);
                long count = t == null ? 0 : TrafficHistory.delta(samples.get(i - 1), key, t.connections());
                sb.append(i > 1 ? "," : "").append(count);
            }
            sb.append("]}");
        }
        sb.append("]}");
    }

    /** The maglev table's digest of a service translated without state (ha mode ecmp): routers of a group show the same. */
    private static String digest(Daemon daemon, Service s) {
        if (!daemon.config().stateless() || s.scheduler() != io.nflb.model.Scheduler.MAGLEV) return "null";
        return io.nflb.plan.Planner.plan(s).maglevDigest().map(Json::str).orElse("null");
    }

    static String listen(Listen l) {
        String where = l.address().map(a -> a.family() == io.nflb.model.IpAddress.Family.V6 ? "[" + a + "]" : a.toString())
                .orElse(l.iface().orElse("*"));
        return where + ":" + l.port();
    }

    private static String num(double d) {
        return String.format(Locale.ROOT, "%.3f", d);
    }
}
