package io.nflb.cli;

import io.nflb.lab.Lab;
import io.nflb.lab.LabOptions;
import io.nflb.lab.LabRun;
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

    @Override
    public Integer call() throws Exception {
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

    private static <E extends Enum<E>> E keyword(E[] values, String text, String option) {
        for (E e : values) {
            String k = e instanceof Scheduler s ? s.keyword() : ((BackendKind) e).keyword();
            if (k.equals(text)) return e;
        }
        throw new Main.UsageException(option + " must be one of " + Arrays.stream(values)
                .map(e -> e instanceof Scheduler s ? s.keyword() : ((BackendKind) e).keyword()).toList() + ", not '" + text + "'");
    }

    @Command(name = "down", description = "Remove a lab left up with --keep (every nflb-lab-* namespace).")
    static final class Down implements Callable<Integer> {
        @Override
        public Integer call() {
            List<String> removed = Topology.removeAll(LabOptions.USER_PREFIX);
            System.out.println(removed.isEmpty() ? "no lab is up" : "removed " + String.join(", ", removed));
            return Main.OK;
        }
    }
}
