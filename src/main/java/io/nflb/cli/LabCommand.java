package io.nflb.cli;

import io.nflb.lab.Lab;
import io.nflb.lab.LabOptions;
import io.nflb.lab.LabRun;
import io.nflb.lab.Packages;
import io.nflb.lab.Topology;
import io.nflb.model.BackendKind;
import io.nflb.model.Scheduler;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "lab", description = {
        "Run the tutorial's experiment for real, in network namespaces, and show who answered each connection.",
        "A client, a router and N web servers are built as network namespaces (nflb-lab-*), nflb's rules are "
                + "loaded on the router, and M new connections are opened through it."},
        subcommands = LabCommand.Down.class)
final class LabCommand implements Callable<Integer> {

    @Option(names = "--servers", defaultValue = "2", description = "Number of web servers (default ${DEFAULT-VALUE}).")
    int servers;

    @Option(names = "--weights", split = ",", paramLabel = "W", description = "One weight per server, e.g. 1,2,3 (default all 1).")
    List<Integer> weights;

    @Option(names = "--scheduler", defaultValue = "round-robin", description = "round-robin, random or maglev (default ${DEFAULT-VALUE}).")
    String scheduler;

    @Option(names = "--backend", defaultValue = "iptables", description = "iptables or nftables (default ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = {"-n", "--connections"}, defaultValue = "1000", description = "New connections per run (default ${DEFAULT-VALUE}).")
    int connections;

    @Option(names = "--seed-rules", description = "First run the tutorial's own rules (both modes) on the same topology.")
    boolean seedRules;

    @Option(names = "--keep", description = "Leave the topology up afterwards (remove it with `nflb lab down`).")
    boolean keep;

    @Option(names = "--ha", paramLabel = "MODE", description = "Issue 12's two-router lab instead: vrrp (keepalived and conntrackd,"
            + " r1's link goes down, then its keepalived is SIGKILLed, then the link again without conntrackd) or ecmp (r1 goes away whole).")
    String ha;

    @Option(names = "--fail", paramLabel = "HOW", description = "With --ha vrrp: only this failure, linkdown or sigkill.")
    String fail;

    @Option(names = "--sync", paramLabel = "on|off", description = "With --ha vrrp: only runs with (on) or without (off) conntrackd.")
    String sync;

    @Option(names = "--runs", defaultValue = "1", description = "With --ha: repeat each run this many times, 1..10 (default ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--json", description = "With --ha: one JSON object per run, for scripts.")
    boolean json;

    @Option(names = "--firewall", description = "With --ha vrrp: the routers' firewall drops input and forward (nflb lets the pair and the services through).")
    boolean firewall;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (ha != null) return ha();
        List<Integer> w = weights == null ? new ArrayList<>(java.util.Collections.nCopies(servers, 1)) : weights;
        LabOptions options;
        try {
            options = new LabOptions(servers, w, keyword(Scheduler.values(), scheduler, "--scheduler"),
                    keyword(new BackendKind[] {BackendKind.IPTABLES, BackendKind.NFTABLES}, backend, "--backend"),
                    connections, seedRules, keep, LabOptions.USER_PREFIX);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageException(e.getMessage());
        }
        List<LabRun> runs = new Lab(options, System.out).run();
        return runs.get(runs.size() - 1).pass() ? Main.OK : Main.FAILURE;
    }

    private int ha() throws Exception {
        io.nflb.model.Ha.Mode mode = keyword(io.nflb.model.Ha.Mode.values(), ha, "--ha");
        if (runs < 1 || runs > 10) throw new Main.UsageException("--runs must be 1..10");
        boolean backendGiven = spec.commandLine().getParseResult().hasMatchedOption("--backend");
        BackendKind kind = backendGiven ? keyword(new BackendKind[] {BackendKind.IPTABLES, BackendKind.NFTABLES}, backend, "--backend")
                : BackendKind.NFTABLES;
        List<io.nflb.lab.HaLab.Options> todo = new ArrayList<>();
        String prefix = io.nflb.lab.HaLab.USER_PREFIX;
        if (mode == io.nflb.model.Ha.Mode.ECMP) {
            if (kind != BackendKind.NFTABLES) throw new Main.UsageException("--ha ecmp runs on nftables only (maglev without state)");
            if (fail != null || sync != null) throw new Main.UsageException("--fail and --sync are for --ha vrrp");
            todo.add(new io.nflb.lab.HaLab.Options(mode, kind, false, io.nflb.lab.HaLab.Failure.ROUTER_DOWN, 100, prefix));
        } else {
            if (sync != null && !sync.equals("on") && !sync.equals("off")) throw new Main.UsageException("--sync must be on or off");
            if (fail != null && !fail.equals("linkdown") && !fail.equals("sigkill")) throw new Main.UsageException("--fail must be linkdown or sigkill");
            for (String[] run : new String[][]{{"linkdown", "on"}, {"sigkill", "on"}, {"linkdown", "off"}, {"sigkill", "off"}}) {
                boolean wanted = (fail == null || fail.equals(run[0])) && (sync == null || sync.equals(run[1]));
                // By default: the two failures with conntrackd, and the link without it.
                if (fail == null && sync == null && run[0].equals("sigkill") && run[1].equals("off")) wanted = false;
                if (wanted) todo.add(new io.nflb.lab.HaLab.Options(mode, kind, run[1].equals("on"),
                        run[0].equals("linkdown") ? io.nflb.lab.HaLab.Failure.LINKDOWN : io.nflb.lab.HaLab.Failure.SIGKILL, 50, prefix, firewall));
            }
        }
        Packages.ensure(Packages.HA_TOOLS, System.err);
        for (io.nflb.lab.HaLab.Options o : todo) {
            for (int i = 0; i < runs; i++) {
                if (Topology.exists(prefix + "r1")) throw new IllegalStateException("a two-router lab is already up (" + prefix + "*); `nflb lab down` removes it");
                io.nflb.lab.HaLab lab = new io.nflb.lab.HaLab(o, System.err);
                io.nflb.lab.HaLabResult r = lab.run();
                System.out.print(json ? r.toJson() + "\n" : r.toTable() + "  (files of the run: " + lab.dir() + ")\n");
                System.out.flush();
            }
        }
        return Main.OK;
    }

    private static <E extends Enum<E>> E keyword(E[] values, String text, String option) {
        for (E e : values) {
            String k = e instanceof Scheduler s ? s.keyword() : e instanceof io.nflb.model.Ha.Mode m ? m.keyword() : ((BackendKind) e).keyword();
            if (k.equals(text)) return e;
        }
        throw new Main.UsageException(option + " must be one of " + Arrays.stream(values)
                .map(e -> e instanceof Scheduler s ? s.keyword() : e instanceof io.nflb.model.Ha.Mode m ? m.keyword() : ((BackendKind) e).keyword()).toList() + ", not '" + text + "'");
    }

    @Command(name = "down", description = "Remove a lab left up with --keep (every nflb-lab-* namespace).")
    static final class Down implements Callable<Integer> {
        @Override
        public Integer call() {
            List<String> removed = new ArrayList<>(Topology.removeAll(LabOptions.USER_PREFIX));
            System.out.println(removed.isEmpty() ? "no lab is up" : "removed " + String.join(", ", removed));
            return Main.OK;
        }
    }
}
