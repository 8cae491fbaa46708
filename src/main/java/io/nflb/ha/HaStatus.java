package io.nflb.ha;

import io.nflb.model.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A router's part in its pair as status, the status page and the metrics show it: the mode, the role
 * ({@link #ROLES}), since when and why, the peers, how keepalived runs, and conntrackd's counters.
 */
public record HaStatus(String mode, String role, Optional<Instant> since, String cause, List<String> peers,
                       String engines, int restarts, Optional<SyncCounters> sync, Map<String, String> instances) {

    /** Every role a router can show; metrics give each a series. */
    public static final List<String> ROLES = List.of("primary", "backup", "fault", "active", "starting", "failed", "unknown");

    public HaStatus {
        peers = List.copyOf(peers);
        instances = Map.copyOf(instances);
        sync = sync == null ? Optional.empty() : sync;
        since = since == null ? Optional.empty() : since;
    }

    /** What the files in {@code layout} say (the role file `nflb ha notify` and `nflb run` write), for `nflb status`. */
    public static Optional<HaStatus> read(HaLayout layout) {
        try {
            if (!Files.exists(layout.role())) {
                return Files.exists(layout.keepalivedConf()) ? Optional.of(new HaStatus("?", "starting", Optional.empty(), "no transition yet",
                        List.of(), "?", 0, Optional.empty(), Map.of())) : Optional.empty();
            }
            String[] w = Files.readString(layout.role()).strip().split(" ", 3);
            String conf = Files.exists(layout.keepalivedConf()) ? Files.readString(layout.keepalivedConf()) : "";
            String mode = conf.contains("vrrp_instance nflb_gw_") ? "ecmp" : "vrrp";
            // The peers as keepalived.conf names them, once.
            java.util.Set<String> peers = new java.util.LinkedHashSet<>();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("unicast_peer \\{([^}]*)}").matcher(conf);
            while (m.find()) for (String p : m.group(1).strip().split("\\s+")) if (!p.isEmpty()) peers.add(p);
            Optional<Instant> since = w.length > 1 && w[1].matches("\\d+") ? Optional.of(Instant.ofEpochMilli(Long.parseLong(w[1]))) : Optional.empty();
            return Optional.of(new HaStatus(mode, w[0], since, w.length > 2 ? w[2] : "", List.copyOf(peers), "?", 0, Optional.empty(), Map.of()));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The same with conntrackd's counters. */
    public HaStatus withSync(Optional<SyncCounters> counters) {
        return new HaStatus(mode, role, since, cause, peers, engines, restarts, counters, instances);
    }

    /** Asks this router's conntrackd (its file in {@code layout}) for its counters, where {@code exec} runs; empty without one. */
    public static Optional<SyncCounters> askConntrackd(io.nflb.host.Exec exec, HaLayout layout) {
        if (!Files.exists(layout.conntrackdConf())) return Optional.empty();
        try {
            io.nflb.host.Exec.Result r = exec.run(List.of("conntrackd", "-C", layout.conntrackdConf().toString(), "-s"), null,
                    java.time.Duration.ofSeconds(5));
            return r.ok() ? Optional.of(SyncCounters.parse(r.stdout())) : Optional.empty();
        } catch (io.nflb.host.Exec.ExecException e) {
            return Optional.empty();
        }
    }

    public String toText() {
        StringBuilder sb = new StringBuilder("ha: ").append(mode).append(", role ").append(role);
        since.ifPresent(s -> sb.append(" since ").append(s));
        if (!cause.isEmpty()) sb.append(" (").append(cause).append(')');
        if (!peers.isEmpty()) sb.append(", peers ").append(String.join(", ", peers));
        if (!engines.equals("?")) sb.append("; keepalived ").append(engines);
        if (restarts > 0) sb.append(", restarted ").append(restarts).append(" time(s)");
        sb.append('\n');
        instances.forEach((k, v) -> sb.append("  vrrp instance ").append(k).append(": ").append(v).append('\n'));
        sync.ifPresent(c -> sb.append("  sync: ").append(c.internal()).append(" entries of ours, ").append(c.external())
                .append(" of the peer's waiting; ").append(c.packetsSent()).append(" packets sent, ").append(c.packetsReceived())
                .append(" received, ").append(c.sendErrors() + c.receiveErrors()).append(" errors, ").append(c.lost()).append(" lost\n"));
        return sb.toString();
    }

    public String toJson() {
        StringBuilder sb = new StringBuilder("{\"mode\":").append(Json.str(mode)).append(",\"role\":").append(Json.str(role))
                .append(",\"since\":").append(since.map(s -> Json.str(s.toString())).orElse("null"))
                .append(",\"cause\":").append(Json.str(cause)).append(",\"peers\":[");
        for (int i = 0; i < peers.size(); i++) sb.append(i > 0 ? "," : "").append(Json.str(peers.get(i)));
        sb.append("],\"keepalived\":").append(Json.str(engines)).append(",\"restarts\":").append(restarts).append(",\"instances\":{");
        int i = 0;
        for (Map.Entry<String, String> e : new java.util.TreeMap<>(instances).entrySet()) {
            sb.append(i++ > 0 ? "," : "").append(Json.str(e.getKey())).append(':').append(Json.str(e.getValue()));
        }
        sb.append("},\"sync\":");
        if (sync.isEmpty()) sb.append("null");
        else {
            sb.append('{');
            int j = 0;
            for (Map.Entry<String, Long> e : sync.get().asMap().entrySet()) sb.append(j++ > 0 ? "," : "").append(Json.str(e.getKey())).append(':').append(e.getValue());
            sb.append('}');
        }
        return sb.append('}').toString();
    }
}
