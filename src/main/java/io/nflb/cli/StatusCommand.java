package io.nflb.cli;

import io.nflb.daemon.ControlClient;
import io.nflb.dataplane.Dataplane;
import io.nflb.model.Firewall;
import io.nflb.model.Json;
import io.nflb.plan.Neighbourhood;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;

@Command(name = "status", description = {"Show live new-connection counters per backend and each backend's share, read from the kernel.",
        "When a daemon (`nflb run`) is running, each backend's health state too (up, down, draining, disabled).",
        "Then the neighbours: the other rule managers found (Docker, libvirt, kube-proxy, ufw, firewalld, fail2ban, "
                + "any other table or chain), what nflb read from their rules and from where, and how the firewall treats them."})
final class StatusCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Mixin
    NetnsOption netns;

    @Mixin
    JsonOption output;

    @Mixin
    StateDirOption state;

    @Option(names = "--socket", paramLabel = "FILE", defaultValue = RunCommand.DEFAULT_SOCKET,
            description = "The daemon's control socket, asked for health states (default: ${DEFAULT-VALUE}).")
    Path socket;

    @Option(names = "--ha-state", paramLabel = "DIR", defaultValue = io.nflb.ha.HaLayout.DEFAULT_DIR,
            description = "Where `nflb run` or `nflb ha notify` keeps this router's ha role (default: ${DEFAULT-VALUE}).")
    Path haState;

    @Override
    public Integer call() throws IOException {
        Map<String, List<Dataplane.BackendTraffic>> byService = new LinkedHashMap<>();
        List<String> backends = new ArrayList<>();
        Set<String> rejecting = new LinkedHashSet<>();
        Map<String, String> digests = new java.util.TreeMap<>();
        List<Dataplane> all = main.dataplanes.all(netns.exec());
        // Every dataplane reads both rule languages: the first one's reading is the whole neighbourhood.
        Neighbourhood found;
        List<String> unread = new ArrayList<>();
        try {
            found = all.get(0).neighbours();
        } catch (RuntimeException e) {
            // The counters above are still worth showing.
            found = Neighbourhood.empty();
            unread.add("note: the neighbours could not be read: " + e.getMessage());
        }
        Optional<Firewall> firewall = Optional.empty();
        for (Dataplane dp : all) firewall = firewall.or(() -> NeighbourCheck.installedFirewall(dp, state.generations()));
        List<String> neighbours = new ArrayList<>(found.describe(firewall, true));
        neighbours.addAll(unread);
        for (Dataplane dp : all) {
            if (!dp.installed()) continue;
            backends.add(dp.name());
            digests.putAll(dp.tableDigests());
            rejecting.addAll(dp.rejecting());
            for (Dataplane.BackendTraffic t : dp.traffic()) {
                byService.computeIfAbsent(t.service(), k -> new ArrayList<>()).add(t);
            }
        }
        Map<String, String> states = new LinkedHashMap<>();
        String noDaemon = null;
        String answer = "";
        if (!java.nio.file.Files.exists(socket)) {
            noDaemon = "no daemon answers on " + socket;
        } else {
            try {
                ControlClient.Answer a = ControlClient.ask(socket, "states");
                if (a.ok()) answer = a.text();
                else noDaemon = "the daemon on " + socket + " said: " + a.text().strip();
            } catch (IOException e) {
                noDaemon = "no daemon answers on " + socket + " (" + e.getMessage() + ")";
            }
        }
        {
            for (String line : answer.isEmpty() ? new String[0] : answer.split("\n")) {
                String[] f = line.split("\t");
                if (f.length == 5 && f[0].equals("backend")) {
                    states.put(f[1] + " " + f[2], f[3]);
                    // A backend the checks took out has no rules, hence no counters; it is still listed.
                    List<Dataplane.BackendTraffic> rows = byService.computeIfAbsent(f[1], k -> new ArrayList<>());
                    if (rows.stream().noneMatch(t -> t.endpoint().equals(f[2]))) rows.add(new Dataplane.BackendTraffic(f[1], f[2], 0, 0));
                } else if (f.length == 2 && f[0].equals("rejecting")) {
                    rejecting.add(f[1]);
                }
            }
        }
        // The kernel lists chains by name, i.e. by hash; people read backends in address order.
        byService.values().forEach(l -> l.sort(java.util.Comparator.comparing(Dataplane.BackendTraffic::endpoint)));
        io.nflb.ha.HaLayout haLayout = new io.nflb.ha.HaLayout(haState);
        java.util.Optional<io.nflb.ha.HaStatus> ha = io.nflb.ha.HaStatus.read(haLayout)
                .map(h -> h.withSync(io.nflb.ha.HaStatus.askConntrackd(netns.exec(), haLayout)));
        if (output.json) {
            String j = json(backends, byService, states, neighbours);
            StringBuilder extra = new StringBuilder(",\"ha\":").append(ha.map(io.nflb.ha.HaStatus::toJson).orElse("null")).append(",\"maglevDigests\":{");
            int i = 0;
            for (Map.Entry<String, String> e : digests.entrySet()) extra.append(i++ > 0 ? "," : "").append(Json.str(e.getKey())).append(':').append(Json.str(e.getValue()));
            System.out.print(j.substring(0, j.lastIndexOf('}')) + extra + "}}\n");
        } else {
            System.out.print(text(backends, byService, states));
            ha.ifPresent(h -> System.out.print(h.toText()));
            digests.forEach((svc, d) -> System.out.println("service " + svc + ": maglev table in the kernel, digest " + d
                    + " (translated without state; every router of the group must show the same)"));
        }
        if (!output.json) {
            if (states.isEmpty()) System.out.println("(" + (noDaemon == null ? "the daemon reports no backends" : noDaemon) + ": health states unknown)");
            for (String s : rejecting) {
                System.out.println("service " + s + ": NO USABLE BACKEND; new connections are refused at once (tcp reset / icmp port unreachable)");
            }
            System.out.println(neighbours.isEmpty() ? "neighbours: none found" : "neighbours:");
            neighbours.forEach(l -> System.out.println("  " + l));
        }
        try {
            SafeApply.deadTimer(state.generations()).ifPresent(w -> {
                System.out.println(w);
                System.err.println("nflb: " + w);
            });
        } catch (RuntimeException e) {
            // no state dir here: nothing waits for confirmation
        }
        return Main.OK;
    }

    private static String text(List<String> backends, Map<String, List<Dataplane.BackendTraffic>> byService, Map<String, String> states) {
        if (backends.isEmpty()) return "nflb: no rules installed\n";
        StringBuilder sb = new StringBuilder("rules installed: " + String.join(", ", backends) + "\n");
        for (Map.Entry<String, List<Dataplane.BackendTraffic>> e : byService.entrySet()) {
            long total = e.getValue().stream().mapToLong(Dataplane.BackendTraffic::connections).sum();
            sb.append("service ").append(e.getKey()).append(": ").append(total).append(" new connections\n");
            sb.append(String.format(Locale.ROOT, "  %-44s %-9s %12s %8s%n", "backend", "state", "new conns", "share"));
            for (Dataplane.BackendTraffic t : e.getValue()) {
                double share = total == 0 ? 0 : 100.0 * t.connections() / total;
                sb.append(String.format(Locale.ROOT, "  %-44s %-9s %12d %7.2f%%%n", t.endpoint(),
                        states.getOrDefault(e.getKey() + " " + t.endpoint(), "-"), t.connections(), share));
            }
        }
        return sb.toString();
    }

    private static String json(List<String> backends, Map<String, List<Dataplane.BackendTraffic>> byService, Map<String, String> states,
                               List<String> neighbours) {
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
                String state = states.get(e.getKey() + " " + t.endpoint());
                sb.append(j++ > 0 ? "," : "").append("{\"endpoint\":").append(Json.str(t.endpoint()))
                        .append(",\"state\":").append(state == null ? "null" : Json.str(state))
                        .append(",\"connections\":").append(t.connections())
                        .append(",\"firstPacketBytes\":").append(t.bytes())
                        .append(",\"share\":").append(total == 0 ? "0" : String.format(Locale.ROOT, "%.6f", (double) t.connections() / total))
                        .append('}');
            }
            sb.append("]}");
        }
        sb.append("],\"neighbours\":[");
        for (int k = 0; k < neighbours.size(); k++) sb.append(k > 0 ? "," : "").append(Json.str(neighbours.get(k)));
        return sb.append("]}\n").toString();
    }
}
