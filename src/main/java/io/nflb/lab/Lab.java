package io.nflb.lab;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.Dataplane;
import io.nflb.dataplane.Dataplanes;
import io.nflb.explain.ConnectionProbe;
import io.nflb.explain.Distribution;
import io.nflb.explain.Outcome;
import io.nflb.host.Exec;
import io.nflb.lint.Linter;
import io.nflb.model.IpAddress;
import io.nflb.model.Protocol;
import io.nflb.model.Scheduler;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import io.nflb.plan.Rational;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The tutorial's experiment for real: builds the topology, starts a web server per backend, loads rules on
 * the router (the tutorial's own, then nflb's), opens new connections from the client and counts who answered.
 */
public final class Lab {

    public static final int PORT = 80;
    private static final int CONNECT_TIMEOUT_MS = 1000;

    private final LabOptions options;
    private final PrintStream out;
    private Servers servers;
    private Topology topology;

    public Lab(LabOptions options, PrintStream out) {
        this.options = options;
        this.out = out;
    }

    /** Runs the whole lab and returns its runs; the topology is removed on the way out unless keep. */
    public List<LabRun> run() throws Exception {
        Packages.ensure(Packages.LAB_TOOLS, out);
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException("the lab creates network namespaces and needs root: run it as root (sudo)");
        }
        if (Topology.exists(options.prefix() + "router")) {
            throw new IllegalStateException("a lab is already up (" + options.prefix() + "*); `nflb lab down` removes it");
        }
        Thread cleanup = new Thread(this::teardown, "nflb-lab-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        boolean kept = false;
        try {
            out.printf("building the topology: client %s -> router %s | %s -> %d servers %s..%s%n",
                    Topology.CLIENT_ADDRESS, Topology.ROUTER_CLIENT_SIDE, Topology.ROUTER_SERVER_SIDE, options.servers(),
                    Topology.serverAddress(0), Topology.serverAddress(options.servers() - 1));
            try {
                topology = Topology.build(options.prefix(), options.servers());
            } catch (Exec.ExecException e) {
                throw new IllegalStateException("cannot create network namespaces here: " + e.getMessage(), e);
            }
            startServers();
            checkRouting();
            List<LabRun> runs = new ArrayList<>();
            if (options.seedRules()) {
                runs.add(runRaw("the tutorial's rules, random mode", SeedRules.random(options.servers())));
                runs.add(runRaw("the tutorial's rules, nth mode", SeedRules.nth(options.servers())));
            }
            runs.add(runNflb());
            LabReport.print(out, options, runs);
            if (options.keep()) {
                kept = true;
                printKeepHelp();
            }
            return runs;
        } finally {
            if (!kept) {
                teardown();
            }
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException shuttingDown) {
                // Ctrl-C: the hook is running already and cleans up.
            }
        }
    }

    private synchronized void teardown() {
        if (servers != null) {
            servers.close();
            servers = null;
        }
        if (topology != null) {
            topology.close();
            topology = null;
        }
    }

    private void startServers() throws IOException, InterruptedException {
        servers = new Servers(topology, PORT);
        servers.startAll();
    }

    /** Each server answers when reached directly through the router: the network is right before any NAT. */
    private void checkRouting() {
        for (int i = 0; i < options.servers(); i++) {
            List<String> answers = probe(Topology.serverAddress(i), 1);
            if (!answers.equals(List.of(Topology.serverName(i)))) {
                throw new IllegalStateException("server " + Topology.serverAddress(i) + " is not reachable from the client: " + answers);
            }
        }
    }

    private LabRun runRaw(String title, String rules) {
        Exec router = Exec.inNetns(topology.router());
        router.check(List.of("iptables-restore", "--noflush"), rules);
        try {
            IpAddress vip = IpAddress.parse(Topology.ROUTER_SERVER_SIDE).orElseThrow();
            // What the tutorial's rules give, as lint reads any iptables dump: from the rule text, not from a config.
            Distribution d = Linter.distribution(rules, ConnectionProbe.routed(Protocol.TCP, vip, PORT, Topology.CLIENT_IFACE));
            List<LabRun.Row> rows = new ArrayList<>();
            List<String> answers = probe(Topology.ROUTER_SERVER_SIDE, options.connections());
            for (int i = 0; i < options.servers(); i++) {
                String endpoint = Topology.serverAddress(i) + ":" + PORT;
                rows.add(new LabRun.Row(Topology.serverName(i), endpoint, 1, Rational.of(1, options.servers()),
                        d.dnatShare(endpoint), count(answers, Topology.serverName(i))));
            }
            int failed = answers.size() - rows.stream().mapToInt(LabRun.Row::observed).sum();
            Rational predictedFailed = d.share(Outcome.NOT_BALANCED);
            String verdict = failed == 0
                    ? "balanced this time"
                    : "BROKEN: " + failed + " of " + answers.size() + " connections (" + pct(failed, answers.size())
                    + ") were not balanced at all: no rule took them, and the router itself refused them";
            return new LabRun(title, rules, rows, answers.size(), failed, predictedFailed, failed == 0, verdict);
        } finally {
            // The router namespace is the lab's own: emptying its nat table removes exactly the tutorial's rules.
            router.check(List.of("iptables-restore"), "*nat\nCOMMIT\n");
        }
    }

    private LabRun runNflb() throws Exception {
        String yaml = config();
        Plan plan = Planner.plan(ConfigLoader.parse("lab.yaml", yaml));
        Dataplane dp = Dataplanes.REAL.forKind(options.backend(), Exec.inNetns(topology.router()));
        Dataplane.Outcome applied = dp.apply(plan);
        // What nflb's evaluator says the rendered rules give each endpoint: from the rule text, not the config.
        Map<String, Rational> predicted = dp.explain(plan).shares(plan.services().get(0).name());
        List<String> answers = probe(Topology.ROUTER_SERVER_SIDE, options.connections());
        List<LabRun.Row> rows = new ArrayList<>();
        int total = options.weights().stream().mapToInt(Integer::intValue).sum();
        Rational predictedUnbalanced = Rational.ONE;
        for (int i = 0; i < options.servers(); i++) {
            String endpoint = Topology.serverAddress(i) + ":" + PORT;
            Rational share = predicted.getOrDefault(endpoint, Rational.ZERO);
            predictedUnbalanced = predictedUnbalanced.subtract(share);
            rows.add(new LabRun.Row(Topology.serverName(i), endpoint, options.weights().get(i),
                    Rational.of(options.weights().get(i), total), share, count(answers, Topology.serverName(i))));
        }
        int failed = answers.size() - rows.stream().mapToInt(LabRun.Row::observed).sum();
        String verdict = verdict(rows, answers.size(), failed);
        boolean pass = verdict.startsWith("EXACT") || verdict.startsWith("OK");
        out.println("applied nflb's rules on the router: " + applied.summary());
        return new LabRun("nflb's rules, " + options.scheduler().keyword() + " (" + dp.name() + ")",
                yaml, rows, answers.size(), failed, predictedUnbalanced, pass, verdict);
    }

    private String verdict(List<LabRun.Row> rows, int n, int failed) {
        if (failed > 0) return "FAIL: " + failed + " connections were not answered by a backend";
        boolean exact = options.scheduler() == Scheduler.ROUND_ROBIN;
        List<String> off = new ArrayList<>();
        for (LabRun.Row r : rows) {
            Rational expected = r.wanted().multiply(Rational.of(n));
            double mean = expected.toDouble();
            if (exact) {
                // An exact cycle: whole cycles give exactly the weights; a partial last cycle at most one off.
                double slack = expected.den().equals(java.math.BigInteger.ONE) ? 0 : 1;
                if (Math.abs(r.observed() - mean) > slack) off.add(r.name() + " got " + r.observed() + ", expected " + expected);
            } else {
                double p = r.wanted().toDouble();
                double bound = 4 * Math.sqrt(n * p * (1 - p)) + 1;
                if (Math.abs(r.observed() - mean) > bound) {
                    off.add(String.format("%s got %d, expected %.1f +- %.1f", r.name(), r.observed(), mean, bound));
                }
            }
        }
        if (!off.isEmpty()) return "FAIL: " + String.join("; ", off);
        return exact ? "EXACT: every backend got exactly its share, and no connection was left unbalanced"
                : "OK: every share is within 4 standard deviations of its weight, and no connection was left unbalanced";
    }

    /** The config the lab applies: the tutorial's service, written the way a user would. */
    String config() {
        StringBuilder y = new StringBuilder();
        y.append("backend: ").append(options.backend().keyword()).append('\n');
        y.append("services:\n");
        y.append("  - name: web\n");
        y.append("    protocol: tcp\n");
        y.append("    listen: {address: ").append(Topology.ROUTER_SERVER_SIDE).append(", port: ").append(PORT).append("}\n");
        y.append("    scheduler: ").append(options.scheduler().keyword()).append('\n');
        y.append("    backends:\n");
        for (int i = 0; i < options.servers(); i++) {
            y.append("      - {address: ").append(Topology.serverAddress(i)).append(", weight: ").append(options.weights().get(i)).append("}\n");
        }
        return y.toString();
    }

    private List<String> probe(String host, int count) {
        long deadlineMs = Math.max(10_000, count * 20L);
        List<String> argv = java("io.nflb.lab.LabClient", host, String.valueOf(PORT), String.valueOf(count),
                String.valueOf(CONNECT_TIMEOUT_MS), String.valueOf(deadlineMs));
        Exec.Result r = Exec.inNetns(topology.client()).run(argv, null, Duration.ofMillis(deadlineMs + 30_000));
        if (!r.ok() || !r.stdout().endsWith("done\n")) throw new IllegalStateException("the client failed: " + r.describeFailure());
        List<String> answers = new ArrayList<>(List.of(r.stdout().split("\n")));
        answers.remove(answers.size() - 1);
        return answers;
    }

    private static int count(List<String> answers, String name) {
        return (int) answers.stream().filter(name::equals).count();
    }

    static String pct(long part, long whole) {
        return String.format("%.1f%%", 100.0 * part / whole);
    }

    private static List<String> java(String mainClass, String... args) {
        return Servers.java(mainClass, args);
    }

    private void printKeepHelp() {
        out.println();
        out.println("The lab is still up (--keep). Try:");
        out.println("  ip netns exec " + topology.client() + " curl -s http://" + Topology.ROUTER_SERVER_SIDE + "/");
        out.println("  ./nflb status --netns " + topology.router());
        out.println("  ip netns exec " + topology.router() + " iptables-save -t nat");
        out.println("  ip netns exec " + topology.router() + " tcpdump -ni " + Topology.SERVER_IFACE + " tcp port 80");
        out.println("Remove it with: ./nflb lab down");
        // The servers keep running after nflb exits; the namespaces hold them until `lab down`.
        servers.release();
        servers = null;
        topology = null;
    }

}
