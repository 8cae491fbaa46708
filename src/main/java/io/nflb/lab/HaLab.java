package io.nflb.lab;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.Dataplane;
import io.nflb.dataplane.Dataplanes;
import io.nflb.ha.HaLayout;
import io.nflb.ha.Supervisor;
import io.nflb.host.Exec;
import io.nflb.model.BackendKind;
import io.nflb.model.Config;
import io.nflb.model.Ha;
import io.nflb.plan.Planner;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Issue 12's experiment: two routers r1 and r2 in front of three servers, each running nflb's rules and its ha
 * engines (the same {@link Supervisor} `nflb run` uses: keepalived, conntrackd, the hold); a client keeps long
 * connections, each checking every answer, and opens new ones in a loop. Then r1 fails: its client link goes
 * down, or its keepalived is SIGKILLed (vrrp), or it goes away whole and the upstream drops it from the
 * multipath route, as BGP would (ecmp); six seconds later it comes back. Everything is measured from the
 * client's record of its own connections; nothing is copied from a goal.
 */
public final class HaLab {

    public enum Failure {
        LINKDOWN, SIGKILL, ROUTER_DOWN;

        public String keyword() {
            return name().toLowerCase(java.util.Locale.ROOT).replace("_", "-");
        }
    }

    /** One run. {@code prefix} names the namespaces: "nflb-lab-ha-" for the user's, a unique "nflb-t-..." in tests. */
    public record Options(Ha.Mode mode, BackendKind backend, boolean sync, Failure failure, int flows, String prefix, boolean firewall) {
        /** Without a firewall: section (vrrp), or forward drop only (ecmp, where the untracked flows need nflb's accepts). */
        public Options(Ha.Mode mode, BackendKind backend, boolean sync, Failure failure, int flows, String prefix) {
            this(mode, backend, sync, failure, flows, prefix, mode == Ha.Mode.ECMP);
        }

        public Options {
            if (!prefix.startsWith("nflb")) throw new IllegalArgumentException("lab namespaces must start with nflb");
            if (flows < 1 || flows > FlowClient.MAX_FLOWS) throw new IllegalArgumentException("flows must be 1.." + FlowClient.MAX_FLOWS);
            if (mode == Ha.Mode.ECMP && (backend != BackendKind.NFTABLES || sync || failure != Failure.ROUTER_DOWN)) {
                throw new IllegalArgumentException("ecmp runs on nftables, without state sync, and r1 goes away whole");
            }
            if (mode == Ha.Mode.VRRP && failure == Failure.ROUTER_DOWN) throw new IllegalArgumentException("vrrp fails by linkdown or sigkill");
        }
    }

    public static final String USER_PREFIX = "nflb-lab-ha-";
    static final String VRRP_VIP = "192.168.1.100";
    static final String ECMP_VIP = "192.168.100.100";
    static final String[] GATEWAYS = {"192.168.2.1", "192.168.2.254"};
    static final Duration SETTLE = Duration.ofSeconds(3);
    static final Duration DOWN_FOR = Duration.ofSeconds(6);
    static final Duration AFTER_RETURN = Duration.ofSeconds(6);

    private final Options options;
    private final PrintStream out;
    private final Path dir;
    private final List<Supervisor> supervisors = new ArrayList<>();
    private HaTopology topology;
    private final List<Process> processes = new ArrayList<>();

    public HaLab(Options options, PrintStream out) throws IOException {
        this.options = options;
        this.out = out;
        this.dir = Files.createTempDirectory("nflb-halab-");
    }

    boolean ecmp() {
        return options.mode() == Ha.Mode.ECMP;
    }

    /** Builds, runs once, tears down (on failure too), and returns what was measured. */
    public HaLabResult run() throws Exception {
        if (!"root".equals(System.getProperty("user.name"))) throw new IllegalStateException("the lab creates network namespaces and needs root");
        Thread cleanup = new Thread(this::teardown, "nflb-halab-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            topology = HaTopology.build(options.prefix());
            return measure();
        } finally {
            teardown();
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs already
            }
        }
    }

    private synchronized void teardown() {
        for (Supervisor s : supervisors) {
            try {
                s.close();
            } catch (RuntimeException e) {
                out.println("lab: stopping a router's ha engines: " + e.getMessage());
            }
        }
        supervisors.clear();
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        processes.clear();
        if (topology != null) {
            topology.close();
            topology = null;
        }
    }

    private HaLabResult measure() throws Exception {
        int port = ecmp() ? 8080 : 80;
        for (int i = 0; i < 3; i++) startServer(i, port);
        String vip = ecmp() ? ECMP_VIP : VRRP_VIP;
        if (ecmp()) {
            topology.ip("up", "route", "add", vip + "/32", "nexthop", "via", HaTopology.ROUTER_CLIENT_SIDE[0], "nexthop", "via", HaTopology.ROUTER_CLIENT_SIDE[1]);
            topology.sysctl("up", "net.ipv4.fib_multipath_hash_policy=1");
            for (int i = 0; i < 3; i++) {
                topology.ip("s" + (i + 1), "route", "add", "default", "nexthop", "via", GATEWAYS[0], "nexthop", "via", GATEWAYS[1]);
                topology.sysctl("s" + (i + 1), "net.ipv4.fib_multipath_hash_policy=1");
            }
        } else {
            for (int i = 0; i < 3; i++) topology.ip("s" + (i + 1), "route", "add", "default", "via", GATEWAYS[0]);
        }
        for (int r = 0; r < 2; r++) router(r, vip);
        supervisors.get(0).start();
        awaitRouter(0, ecmp() ? "active" : "primary");
        supervisors.get(1).start();
        awaitRouter(1, ecmp() ? "active" : "backup");
        if (ecmp()) {
            await("r1 holds " + GATEWAYS[0] + " and r2 " + GATEWAYS[1], () -> holds(0, GATEWAYS[0]) && holds(1, GATEWAYS[1]), Duration.ofSeconds(15));
        }

        Path flows = dir.resolve("client.out");
        Path stop = Path.of(flows + ".stop");
        Process client = start(topology.ns("c"), Servers.java("io.nflb.lab.FlowClient", vip, "80", String.valueOf(options.flows()),
                "120000", flows.toString()), dir.resolve("client.log"));
        await("the client's flows all answered", () -> Files.exists(Path.of(flows + ".ready")), Duration.ofSeconds(60));
        Thread.sleep(SETTLE.toMillis());
        Set<Integer>[] seen = ecmp() ? seenByRouters() : null;
        String load = Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        long event = System.currentTimeMillis();
        fail();
        Thread.sleep(DOWN_FOR.toMillis());
        long back = System.currentTimeMillis();
        restore();
        Thread.sleep(AFTER_RETURN.toMillis());
        // Warm standby: the returned r1 has its rules loaded and holds, ready to take over again.
        boolean r1Ready = Dataplanes.REAL.forKind(options.backend(), Exec.inNetns(topology.router(0))).installed()
                && (ecmp() || Dataplanes.hold(Exec.inNetns(topology.router(0))).held());
        Files.writeString(stop, "");
        if (!client.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) throw new IllegalStateException("the client did not stop");
        if (!Files.exists(flows)) {
            throw new IllegalStateException("the client wrote nothing (exit " + client.exitValue() + ", namespace "
                    + (Topology.exists(topology.ns("c")) ? "still there" : "GONE: removed by someone else") + "): "
                    + Files.readString(dir.resolve("client.log")));
        }
        return analyze(Files.readAllLines(flows), event, back, load, seen, r1Ready);
    }

    private void router(int r, String vip) throws Exception {
        String ns = topology.router(r);
        Exec exec = Exec.inNetns(ns);
        Config config = ConfigLoader.parse("r" + (r + 1) + ".yaml", config(r));
        Dataplane dp = Dataplanes.REAL.forKind(config.backend(), exec);
        dp.apply(Planner.plan(config));
        if (ecmp()) {
            // What a BGP speaker announcing the address has: it is local on every router of the group.
            exec.check(List.of("ip", "addr", "add", vip + "/32", "dev", "lo"));
            // Which router saw which flow, each way (lab instrumentation only): asking the upstream is wrong for
            // a local sender, whose socket hash picks the path (issue 12's research, 6.3).
            exec.check(List.of("nft", "-f", "/dev/stdin"), """
                    table inet nflb_lab {
                    \tset fwd_seen { type inet_service; flags dynamic,timeout; timeout 1s; size 65535; }
                    \tset ret_seen { type inet_service; flags dynamic,timeout; timeout 1s; size 65535; }
                    \tchain pre {
                    \t\ttype filter hook prerouting priority -350; policy accept;
                    \t\tip daddr %s tcp dport 80 update @fwd_seen { tcp sport }
                    \t\tip saddr { 192.168.2.2, 192.168.2.3, 192.168.2.4 } tcp sport 8080 update @ret_seen { tcp dport }
                    \t}
                    }
                    """.formatted(vip));
        }
        supervisors.add(new Supervisor(config, new HaLayout(dir.resolve("r" + (r + 1))), exec, Dataplanes.hold(exec), "r" + (r + 1),
                why -> out.println("lab: r" + (r + 1) + " gave up: " + why)));
    }

    /** The config each router runs: the same services on both, the ha section differing in priority, peer and gateway. */
    String config(int r) {
        int other = 1 - r;
        StringBuilder y = new StringBuilder("backend: ").append(options.backend().keyword()).append("\nservices:\n  - name: web\n");
        if (ecmp()) {
            y.append("    listen: {address: ").append(ECMP_VIP).append(", port: 80}\n    scheduler: maglev\n    backends:\n");
            for (String s : HaTopology.SERVERS) y.append("      - {address: ").append(s).append(", port: 8080}\n");
        } else {
            y.append("    listen: {address: ").append(VRRP_VIP).append(", port: 80}\n    scheduler: round-robin\n    backends:\n");
            for (String s : HaTopology.SERVERS) y.append("      - {address: ").append(s).append("}\n");
        }
        // A full firewall (input and forward drop) must still let the pair talk: VRRP, conntrackd, the flows.
        if (options.firewall()) y.append("firewall:\n  policy: {input: ").append(ecmp() ? "accept" : "drop").append(", forward: drop}\n");
        y.append("ha:\n  mode: ").append(options.mode().keyword()).append("\n  interface: eth0\n");
        y.append("  router_id: ").append(ecmp() ? 61 : 51).append("\n  priority: ").append(ecmp() ? 150 : r == 0 ? 150 : 100).append('\n');
        y.append("  peers: [").append(HaTopology.ROUTER_CLIENT_SIDE[other]).append("]\n  advert_interval: 200ms\n");
        if (ecmp()) {
            y.append("  gateway: {interface: eth1, address: ").append(GATEWAYS[r]).append("/24, peer_addresses: [")
                    .append(GATEWAYS[other]).append("/24]}\n");
        } else {
            y.append("  gateway: {interface: eth1, address: ").append(GATEWAYS[0]).append("/24}\n");
            if (options.sync()) y.append("  sync: {interface: eth2, peer: ").append(HaTopology.ROUTER_SYNC[other]).append("}\n");
        }
        return y.toString();
    }

    private void fail() {
        String r1 = topology.router(0);
        switch (options.failure()) {
            case LINKDOWN -> Exec.inNetns(r1).check(List.of("ip", "link", "set", "eth0", "down"));
            case SIGKILL -> {
                // Every keepalived process of r1 in one kill, the VRRP child first: killed before it could resign
                // (a child whose parent dies first gets SIGTERM and leaves cleanly), it leaves the VIPs behind.
                List<String> argv = new ArrayList<>(List.of("kill", "-KILL"));
                List<String> pids = new ArrayList<>();
                for (String pid : Exec.host().run(List.of("ip", "netns", "pids", r1)).stdout().split("\\s+")) {
                    if (!pid.matches("\\d+")) continue;
                    try {
                        if (Files.readString(Path.of("/proc", pid, "comm")).strip().equals("keepalived")) pids.add(pid);
                    } catch (IOException gone) {
                        // exited meanwhile
                    }
                }
                try {
                    String child = Files.readString(dir.resolve("r1").resolve("vrrp.pid")).strip();
                    if (pids.remove(child)) pids.add(0, child);
                } catch (IOException none) {
                    // no pid file: kill them in any order
                }
                argv.addAll(pids);
                Exec.host().run(argv);
            }
            case ROUTER_DOWN -> {
                for (String i : List.of("eth0", "eth1", "eth2")) Exec.inNetns(r1).check(List.of("ip", "link", "set", i, "down"));
                topology.ip("up", "route", "replace", ECMP_VIP + "/32", "via", HaTopology.ROUTER_CLIENT_SIDE[1]);
            }
        }
    }

    private void restore() {
        Exec r1 = Exec.inNetns(topology.router(0));
        switch (options.failure()) {
            case LINKDOWN -> {
                r1.check(List.of("ip", "link", "set", "eth0", "up"));
                // A link that went down took its routes with it.
                r1.check(List.of("ip", "route", "replace", "default", "via", HaTopology.UPSTREAM_LAN));
            }
            case SIGKILL -> {
                // the supervisor restarts keepalived by itself
            }
            case ROUTER_DOWN -> {
                for (String i : List.of("eth0", "eth1", "eth2")) r1.check(List.of("ip", "link", "set", i, "up"));
                r1.check(List.of("ip", "route", "replace", "default", "via", HaTopology.UPSTREAM_LAN));
                // Announced again only once it is ready, as a BGP speaker would.
                topology.ip("up", "route", "replace", ECMP_VIP + "/32", "nexthop", "via", HaTopology.ROUTER_CLIENT_SIDE[0],
                        "nexthop", "via", HaTopology.ROUTER_CLIENT_SIDE[1]);
            }
        }
    }

    private static final Pattern ELEMENT = Pattern.compile("(?:\\{ |, )(\\d+)(?= )");

    @SuppressWarnings("unchecked")
    private Set<Integer>[] seenByRouters() {
        Set<Integer>[] s = new Set[4];
        for (int r = 0; r < 2; r++) {
            for (int k = 0; k < 2; k++) {
                String set = k == 0 ? "fwd_seen" : "ret_seen";
                String text = Exec.inNetns(topology.router(r)).check(List.of("nft", "list", "set", "inet", "nflb_lab", set)).stdout();
                Set<Integer> ports = new HashSet<>();
                Matcher m = ELEMENT.matcher(text.replace("\n", " ").replaceAll("\\s+", " "));
                while (m.find()) ports.add(Integer.parseInt(m.group(1)));
                s[r * 2 + k] = ports;
            }
        }
        return s;
    }

    record FlowRecord(int id, int sport, int ok, int failed, String error, long errorAt, long maxWait, long maxWaitAt, List<String> backends) {
        boolean survived() {
            return error == null && ok > 0;
        }
    }

    record NewRecord(long start, long end, String result) {
    }

    HaLabResult analyze(List<String> lines, long event, long back, String load, Set<Integer>[] seen, boolean r1Ready) {
        List<FlowRecord> flows = new ArrayList<>();
        List<NewRecord> news = new ArrayList<>();
        for (String l : lines) {
            String[] w = l.split(" ");
            if (w[0].equals("flow")) {
                flows.add(new FlowRecord(Integer.parseInt(w[1]), Integer.parseInt(w[2]), Integer.parseInt(w[3]), Integer.parseInt(w[4]),
                        w[5].equals("-") ? null : w[5], w[6].equals("-") ? 0 : Long.parseLong(w[6]), Long.parseLong(w[7]),
                        w[8].equals("-") ? 0 : Long.parseLong(w[8]), w[9].equals("-") ? List.of() : List.of(w[9].split(","))));
            } else if (w[0].equals("new")) {
                news.add(new NewRecord(Long.parseLong(w[1]), Long.parseLong(w[2]), w[3]));
            }
        }
        news.sort(java.util.Comparator.comparingLong(NewRecord::start));
        List<NewRecord> after = news.stream().filter(n -> n.start() >= event && n.start() < back).toList();
        // Failover: from the failure to the first new connection after which every one (until r1's return) succeeded.
        Long failover = null;
        for (int i = 0; i < after.size(); i++) {
            final int from = i;
            if (after.subList(from, after.size()).stream().allMatch(n -> n.result().equals("ok"))) {
                failover = i == 0 ? 0L : after.get(i).start() - event;
                break;
            }
        }
        int newOk = (int) after.stream().filter(n -> n.result().equals("ok")).count();
        List<NewRecord> afterBack = news.stream().filter(n -> n.start() >= back).toList();
        int brokenAfter = (int) flows.stream().filter(f -> f.error() != null && f.errorAt() >= back).count();
        long maxStall = flows.stream().filter(f -> f.maxWaitAt() >= event - 500).mapToLong(FlowRecord::maxWait).max().orElse(0);
        HaLabResult.Group all = group(flows, event);
        HaLabResult.Group r1 = null;
        HaLabResult.Group r2 = null;
        if (seen != null) {
            // r1's flows: those whose requests crossed r1 only; r2's: requests and replies both on r2 only.
            r1 = group(flows.stream().filter(f -> seen[0].contains(f.sport()) && !seen[2].contains(f.sport())).toList(), event);
            r2 = group(flows.stream().filter(f -> seen[2].contains(f.sport()) && !seen[0].contains(f.sport())
                    && seen[3].contains(f.sport()) && !seen[1].contains(f.sport())).toList(), event);
        }
        return new HaLabResult(options.mode().keyword(), options.backend().keyword(), options.sync(), options.failure().keyword(), load,
                failover, all, after.size(), newOk, maxStall, brokenAfter, afterBack.size(),
                (int) afterBack.stream().filter(n -> n.result().equals("ok")).count(), r1Ready, r1, r2);
    }

    /** Untouched: survived, one backend, and no answer waited longer than 300 ms after the failure. */
    private static HaLabResult.Group group(List<FlowRecord> flows, long event) {
        int survived = (int) flows.stream().filter(FlowRecord::survived).count();
        int failed = flows.stream().mapToInt(FlowRecord::failed).sum();
        int resets = (int) flows.stream().filter(f -> "reset".equals(f.error()) || "eof".equals(f.error())).count();
        int kept = (int) flows.stream().filter(f -> f.survived() && f.backends().size() == 1).count();
        long stall = flows.stream().filter(f -> f.maxWaitAt() >= event - 500).mapToLong(FlowRecord::maxWait).max().orElse(0);
        int untouched = (int) flows.stream().filter(f -> f.survived() && f.backends().size() == 1
                && !(f.maxWaitAt() >= event - 500 && f.maxWait() > 300)).count();
        return new HaLabResult.Group(flows.size(), survived, failed, resets, kept, untouched, stall);
    }

    private boolean holds(int r, String address) {
        return Exec.inNetns(topology.router(r)).run(List.of("ip", "-4", "-o", "addr", "show")).stdout().contains(" " + address + "/");
    }

    private void awaitRouter(int r, String role) throws Exception {
        await("r" + (r + 1) + " " + role, () -> supervisors.get(r).status().role().equals(role), Duration.ofSeconds(30));
    }

    private static void await(String what, java.util.function.BooleanSupplier done, Duration within) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("lab: timed out waiting for " + what);
            Thread.sleep(50);
        }
    }

    private void startServer(int i, int port) throws Exception {
        Path log = dir.resolve("s" + (i + 1) + ".log");
        start(topology.server(i), Servers.java("io.nflb.lab.BackendServer", "s" + (i + 1), String.valueOf(port), "lines"), log);
        await("server s" + (i + 1), () -> {
            try {
                return Files.readString(log).contains("ready");
            } catch (IOException e) {
                return false;
            }
        }, Duration.ofSeconds(60));
    }

    private Process start(String ns, List<String> argv, Path log) throws IOException {
        Process p = new ProcessBuilder(Exec.inNetns(ns).command(argv)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        processes.add(p);
        return p;
    }

    /** The lab's files (rendered configs, transitions, the client's record), kept after the run for a look. */
    public Path dir() {
        return dir;
    }
}
