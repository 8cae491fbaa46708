package io.nflb.cli;

import io.nflb.daemon.Dataplane;
import io.nflb.daemon.Dataplanes;
import io.nflb.model.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "status", description = "Live new-connection counters per backend and each backend's share, read from the kernel.")
final class StatusCommand implements Callable<Integer> {

    @Mixin
    NetnsOption netns;

    @Mixin
    JsonOption output;

    @Override
    public Integer call() {
        Map<String, List<Dataplane.BackendTraffic>> byService = new LinkedHashMap<>();
        List<String> backends = new ArrayList<>();
        List<String> rejecting = new ArrayList<>();
        for (Dataplane dp : Dataplanes.all(netns.exec())) {
            if (!dp.installed()) continue;
            backends.add(dp.name());
            rejecting.addAll(dp.rejecting());
            for (Dataplane.BackendTraffic t : dp.traffic()) {
                byService.computeIfAbsent(t.service(), k -> new ArrayList<>()).add(t);
            }
        }
        // The kernel lists chains by name, i.e. by hash; people read backends in address order.
        byService.values().forEach(l -> l.sort(java.util.Comparator.comparing(Dataplane.BackendTraffic::endpoint)));
        System.out.print(output.json ? json(backends, byService) : text(backends, byService));
        if (!output.json) {
            for (String s : rejecting) {
                System.out.println("service " + s + ": NO USABLE BACKEND; new connections are refused at once (tcp reset / icmp port unreachable)");
            }
        }
        return Main.OK;
    }

    private static String text(List<String> backends, Map<String, List<Dataplane.BackendTraffic>> byService) {
        if (backends.isEmpty()) return "nflb: no rules installed\n";
        StringBuilder sb = new StringBuilder("rules installed: " + String.join(", ", backends) + "\n");
        for (Map.Entry<String, List<Dataplane.BackendTraffic>> e : byService.entrySet()) {
            long total = e.getValue().stream().mapToLong(Dataplane.BackendTraffic::connections).sum();
            sb.append("service ").append(e.getKey()).append(": ").append(total).append(" new connections\n");
            sb.append(String.format(Locale.ROOT, "  %-44s %12s %8s%n", "backend", "new conns", "share"));
            for (Dataplane.BackendTraffic t : e.getValue()) {
                double share = total == 0 ? 0 : 100.0 * t.connections() / total;
                sb.append(String.format(Locale.ROOT, "  %-44s %12d %7.2f%%%n", t.endpoint(), t.connections(), share));
            }
        }
        return sb.toString();
    }

    private static String json(List<String> backends, Map<String, List<Dataplane.BackendTraffic>> byService) {
        StringBuilder sb = new StringBuilder("{\"installed\":[");
        for (int i = 0; i < backends.size(); i++) sb.append(i > 0 ? "," : "").append(Json.str(backends.get(i)));
        sb.append("],\"services\":[");
        int i = 0;
        for (Map.Entry<String, List<Dataplane.BackendTraffic>> e : byService.entrySet()) {
            long total = e.getValue().stream().mapToLong(Dataplane.BackendTraffic::connections).sum();
            sb.append(i++ > 0 ? "," : "").append("{\"name\":").append(Json.str(e.getKey()))
                    .append(",\"connections\":").append(total).append(",\"backends\":[");
            int j = 0;
            for (Dataplane.BackendTraffic t : e.getValue()) {
                sb.append(j++ > 0 ? "," : "").append("{\"endpoint\":").append(Json.str(t.endpoint()))
                        .append(",\"connections\":").append(t.connections())
                        .append(",\"firstPacketBytes\":").append(t.bytes())
                        .append(",\"share\":").append(total == 0 ? "0" : String.format(Locale.ROOT, "%.6f", (double) t.connections() / total))
                        .append('}');
            }
            sb.append("]}");
        }
        return sb.append("]}\n").toString();
    }
}
