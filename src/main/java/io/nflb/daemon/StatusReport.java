package io.nflb.daemon;

import io.nflb.dataplane.Dataplane;
import io.nflb.model.Json;
import io.nflb.model.Listen;
import io.nflb.model.Service;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The daemon's state as JSON, for the status page (which draws it) and for tools. Services that need attention
 * come first (refusing connections, then with a backend not up), the rest in config order; with {@code filter}
 * (a part of a service's name or a backend's address, or a state) only the services it matches. At most
 * {@value #LIMIT} services are sent with their backends ("total" and "matching" count them all): at thousands of
 * services, every backend would be megabytes for a page that draws a few hundred. The chart's series (new
 * connections per backend over time) are sent for the first {@value #CHARTED}.
 */
public final class StatusReport {

    /** The bars on the status page show the shares of new connections over this much time. */
    public static final Duration SHARE_WINDOW = Duration.ofMinutes(5);
    static final int CHARTED = 20;
    static final int LIMIT = 200;

    private StatusReport() {
    }

    public static String json(Daemon daemon) {
        return json(daemon, "");
    }

    /** {@code filter}: the status page's filter box; charts go to the services it matches. */
    public static String json(Daemon daemon, String filter) {
        long now = System.currentTimeMillis();
        Daemon.Snapshot snap = daemon.snapshot();
        Map<BackendKey, Dataplane.BackendTraffic> latest = daemon.history().latest();
        Map<String, List<Daemon.BackendView>> byService = new HashMap<>();
        for (Daemon.BackendView b : snap.backends()) byService.computeIfAbsent(b.key().service(), k -> new ArrayList<>()).add(b);
        List<Service> services = new ArrayList<>(daemon.config().services());
        // Failing first: refusing connections, then degraded; stable, so config order within each group.
        services.sort(java.util.Comparator.comparingInt(s -> rank(s, snap, byService)));

        StringBuilder sb = new StringBuilder(256 + snap.backends().size() * 220);
        sb.append("{\"dataplane\":").append(Json.str(daemon.dataplaneName()))
                .append(",\"generation\":").append(snap.generation())
                .append(",\"started\":").append(Json.str(daemon.started().toString()))
                .append(",\"now\":").append(now)
                .append(",\"pending\":").append(snap.pending())
                .append(",\"sampleEverySeconds\":").append(num(daemon.sampleEvery().toMillis() / 1000.0))
                .append(",\"shareWindowSeconds\":").append(SHARE_WINDOW.toSeconds())
                .append(",\"lastSync\":");
        daemon.lastSync().ifPresentOrElse(s -> sb.append("{\"at\":").append(Json.str(s.at().toString()))
                .append(",\"ok\":").append(s.ok())
                .append(",\"millis\":").append(num(s.took().toNanos() / 1e6))
                .append(",\"summary\":").append(Json.str(s.summary())).append('}'), () -> sb.append("null"));

        sb.append(",\"ha\":").append(daemon.ha().map(io.nflb.ha.HaStatus::toJson).orElse("null"));

        String f = filter.strip().toLowerCase(Locale.ROOT);
        Set<String> charted = new LinkedHashSet<>();
        int matching = 0;
        for (Service s : services) if (f.isEmpty() || matches(s, byService.getOrDefault(s.name(), List.of()), f)) matching++;
        sb.append(",\"total\":").append(services.size())
                .append(",\"rejectingCount\":").append(snap.rejecting().size())
                .append(",\"matching\":").append(matching)
                .append(",\"services\":[");
        List<Service> sent = new ArrayList<>();
        java.util.Set<BackendKey> sentKeys = new java.util.HashSet<>();
        for (Service s : services) {
            if (sent.size() >= LIMIT) break;
            List<Daemon.BackendView> views = byService.getOrDefault(s.name(), List.of());
            if (!f.isEmpty() && !matches(s, views, f)) continue;
            sent.add(s);
            for (Daemon.BackendView b : views) sentKeys.add(b.key());
        }
        Map<BackendKey, Long> recent = daemon.history().connectionsSince(now - SHARE_WINDOW.toMillis(), sentKeys);
        int i = 0;
        for (Service s : sent) {
            List<Daemon.BackendView> views = byService.getOrDefault(s.name(), List.of());
            if (charted.size() < CHARTED) charted.add(s.name());
            sb.append(i++ > 0 ? "," : "").append("{\"name\":").append(Json.str(s.name()))
                    .append(",\"protocol\":").append(Json.str(s.protocol().name().toLowerCase(Locale.ROOT)))
                    .append(",\"listen\":").append(Json.str(listen(s.listen())))
                    .append(",\"scheduler\":").append(Json.str(s.scheduler().keyword()))
                    .append(",\"rejecting\":").append(snap.rejecting().contains(s.name()))
                    .append(",\"maglevDigest\":").append(digest(daemon, s))
                    .append(",\"backends\":[");
            int j = 0;
            for (Daemon.BackendView b : views) {
                Dataplane.BackendTraffic t = latest.get(b.key());
                sb.append(j++ > 0 ? "," : "").append("{\"endpoint\":").append(Json.str(b.key().endpoint()))
                        .append(",\"weight\":").append(b.weight())
                        .append(",\"state\":\"").append(b.status().keyword()).append('"')
                        .append(",\"check\":\"").append(b.check().keyword()).append('"')
                        .append(",\"lastCheck\":");
                b.probe().flatMap(daemon::lastCheck).ifPresentOrElse(c -> sb.append("{\"at\":").append(c.at().toEpochMilli())
                        .append(",\"ok\":").append(c.ok())
                        .append(",\"millis\":").append(num(c.took().toNanos() / 1e6)).append('}'), () -> sb.append("null"));
                sb.append(",\"connections\":").append(t == null ? 0 : t.connections())
                        .append(",\"recentConnections\":").append(recent.getOrDefault(b.key(), 0L))
                        .append('}');
            }
            sb.append("]}");
        }
        sb.append("],\"chart\":");
        chart(sb, daemon.history().samples(), charted);
        sb.append(",\"events\":[");
        int k = 0;
        for (Events.Event e : daemon.events()) {
            sb.append(k++ > 0 ? "," : "").append("{\"at\":").append(Json.str(e.at().toString()))
                    .append(",\"level\":").append(Json.str(e.level().name().toLowerCase(Locale.ROOT)))
                    .append(",\"message\":").append(Json.str(e.message())).append('}');
        }
        return sb.append("]}").toString();
    }

    /** 0: refusing connections, 1: a backend not up, 2: all up. */
    private static int rank(Service s, Daemon.Snapshot snap, Map<String, List<Daemon.BackendView>> byService) {
        if (snap.rejecting().contains(s.name())) return 0;
        for (Daemon.BackendView b : byService.getOrDefault(s.name(), List.of())) {
            if (b.status() != BackendState.Status.UP) return 1;
        }
        return 2;
    }

    private static boolean matches(Service s, List<Daemon.BackendView> views, String f) {
        if (s.name().contains(f)) return true;
        if (f.equals("rejecting")) return views.stream().noneMatch(b -> b.status() == BackendState.Status.UP);
        for (Daemon.BackendView b : views) if (b.key().endpoint().contains(f) || b.status().keyword().equals(f)) return true;
        return false;
    }

    /** New connections per backend in each interval between samples: {times: [...], series: [{service, endpoint, counts}]}. */
    private static void chart(StringBuilder sb, List<TrafficHistory.Sample> samples, Set<String> services) {
        sb.append("{\"times\":[");
        for (int i = 1; i < samples.size(); i++) sb.append(i > 1 ? "," : "").append(samples.get(i).epochMillis());
        sb.append("],\"series\":[");
        LinkedHashSet<BackendKey> keys = new LinkedHashSet<>();
        for (TrafficHistory.Sample s : samples) {
            for (BackendKey key : s.traffic().keySet()) if (services.contains(key.service())) keys.add(key);
        }
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
