package io.nflb.neighbours;

import io.nflb.host.Exec;
import io.nflb.lab.Servers;
import io.nflb.testing.Netns;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The router of issue 15's research in namespaces: router rt (203.0.113.1 outside, 10.0.9.1 to nflb's backend
 * be 10.0.9.2), the outside cl (203.0.113.2, and 203.0.113.66 as a second client; the "internet" server), a
 * container ct 172.17.0.2 behind bridge docker0, a VM vm 192.168.122.10 behind virbr0, a pod 10.244.0.5
 * behind cni0 and a second pod 10.244.1.6 behind cni1 (routed through the router, as from another node's
 * pod subnet). Each namespace runs one {@link NetAgent} for the whole class. Flows are real connections.
 */
final class NeighbourLab implements AutoCloseable {

    static final String ROUTER = "203.0.113.1";
    static final String CLIENT = "203.0.113.2";
    static final String OTHER_CLIENT = "203.0.113.66";

    /** A flow: which agent connects, how, and the server that must answer. */
    record Flow(String from, String command, String answer) {
    }

    static final Map<String, Flow> FLOWS = flows();

    private static Map<String, Flow> flows() {
        Map<String, Flow> f = new LinkedHashMap<>();
        f.put("container_out", new Flow("ct", "tcp " + CLIENT + " 80", "cl"));
        f.put("published_in", new Flow("cl", "tcp " + ROUTER + " 8080 " + CLIENT, "ct"));
        f.put("published_in_other", new Flow("cl", "tcp " + ROUTER + " 8080 " + OTHER_CLIENT, "ct"));
        f.put("vm_out", new Flow("vm", "tcp " + CLIENT + " 80", "cl"));
        f.put("vm_dns_to_host", new Flow("vm", "udp 192.168.122.1 53", "rt"));
        f.put("nodeport_in", new Flow("cl", "tcp " + ROUTER + " 30080 " + CLIENT, "pod"));
        f.put("nodeport_in_other", new Flow("cl", "tcp " + ROUTER + " 30080 " + OTHER_CLIENT, "pod"));
        f.put("clusterip_from_pod", new Flow("pod2", "tcp 10.96.0.10 80", "pod"));
        f.put("ssh_in", new Flow("cl", "tcp " + ROUTER + " 22 " + CLIENT, "rt"));
        f.put("ssh_in_banned", new Flow("cl", "tcp " + ROUTER + " 22 " + OTHER_CLIENT, "rt"));
        f.put("nflb_service", new Flow("cl", "tcp " + ROUTER + " 80 " + CLIENT, "be"));
        f.put("hostfw_only_port", new Flow("cl", "tcp " + ROUTER + " 8443 " + CLIENT, "rt"));
        f.put("nflb_only_port", new Flow("cl", "tcp " + ROUTER + " 2222 " + CLIENT, "rt"));
        return f;
    }

    private final Map<String, Netns> ns = new LinkedHashMap<>();
    private final Map<String, Agent> agents = new LinkedHashMap<>();

    static NeighbourLab up() throws Exception {
        NeighbourLab lab = new NeighbourLab();
        try {
            lab.wire();
            lab.startAgents();
            return lab;
        } catch (Exception | Error e) {
            lab.close();
            throw e;
        }
    }

    Netns router() {
        return ns.get("rt");
    }

    Exec rt() {
        return router().exec();
    }

    private void wire() {
        for (String n : List.of("rt", "cl", "ct", "vm", "pod", "pod2", "be")) ns.put(n, Netns.create("nb" + n));
        Exec r = rt();
        r.check(List.of("sysctl", "-q", "-w", "net.ipv4.ip_forward=1"));
        veth("rt", "eth0", "cl", "eth0");
        r.check(List.of("ip", "addr", "add", ROUTER + "/24", "dev", "eth0"));
        Exec c = ns.get("cl").exec();
        c.check(List.of("ip", "addr", "add", CLIENT + "/24", "dev", "eth0"));
        c.check(List.of("ip", "addr", "add", OTHER_CLIENT + "/24", "dev", "eth0"));
        r.check(List.of("ip", "route", "add", "default", "via", CLIENT));
        veth("rt", "eth1", "be", "eth0");
        r.check(List.of("ip", "addr", "add", "10.0.9.1/24", "dev", "eth1"));
        ns.get("be").exec().check(List.of("ip", "addr", "add", "10.0.9.2/24", "dev", "eth0"));
        ns.get("be").exec().check(List.of("ip", "route", "add", "default", "via", "10.0.9.1"));
        for (String[] br : List.of(new String[] {"docker0", "172.17.0.1/16"}, new String[] {"virbr0", "192.168.122.1/24"},
                new String[] {"cni0", "10.244.0.1/24"}, new String[] {"cni1", "10.244.1.1/24"})) {
            r.check(List.of("ip", "link", "add", br[0], "type", "bridge"));
            r.check(List.of("ip", "addr", "add", br[1], "dev", br[0]));
            r.check(List.of("ip", "link", "set", br[0], "up"));
        }
        attach("ct", "vethct", "docker0", "172.17.0.2/16", "172.17.0.1");
        attach("vm", "vnet0", "virbr0", "192.168.122.10/24", "192.168.122.1");
        attach("pod", "vethpod", "cni0", "10.244.0.5/24", "10.244.0.1");
        attach("pod2", "vethpod2", "cni1", "10.244.1.6/24", "10.244.1.1");
    }

    private void veth(String a, String ifa, String b, String ifb) {
        ns.get(a).exec().check(List.of("ip", "link", "add", ifa, "type", "veth", "peer", "name", ifb, "netns", ns.get(b).name()));
        ns.get(a).exec().check(List.of("ip", "link", "set", ifa, "up"));
        ns.get(b).exec().check(List.of("ip", "link", "set", ifb, "up"));
    }

    private void attach(String n, String port, String bridge, String address, String gateway) {
        Exec r = rt();
        r.check(List.of("ip", "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns.get(n).name()));
        r.check(List.of("ip", "link", "set", port, "master", bridge));
        r.check(List.of("ip", "link", "set", port, "up"));
        Exec e = ns.get(n).exec();
        e.check(List.of("ip", "link", "set", "eth0", "up"));
        e.check(List.of("ip", "addr", "add", address, "dev", "eth0"));
        e.check(List.of("ip", "route", "add", "default", "via", gateway));
    }

    private void startAgents() throws Exception {
        Map<String, List<String>> serve = new LinkedHashMap<>();
        serve.put("rt", List.of("tcp:0.0.0.0:22", "tcp:0.0.0.0:2222", "tcp:0.0.0.0:8443", "udp:192.168.122.1:53"));
        serve.put("cl", List.of("tcp:" + CLIENT + ":80"));
        serve.put("ct", List.of("tcp:172.17.0.2:80"));
        serve.put("vm", List.of());
        serve.put("pod", List.of("tcp:10.244.0.5:8080"));
        serve.put("pod2", List.of());
        serve.put("be", List.of("tcp:10.0.9.2:80"));
        for (var e : serve.entrySet()) agents.put(e.getKey(), new Agent(ns.get(e.getKey()), e.getKey(), e.getValue()));
        for (Agent a : agents.values()) a.awaitReady();
    }

    /** Nothing in the router's tables and no connections tracked: the start of every case. */
    void reset() {
        rt().check(List.of("nft", "flush", "ruleset"));
        rt().run(List.of("conntrack", "-F"));
    }

    /** Loads a fixture the way its tool left it: iptables-save files through iptables-restore, else nft -f. */
    void load(String fixture) {
        var v4 = NeighbourFixtures.file(fixture, "iptables-save.v4");
        if (v4.isPresent()) {
            rt().check(List.of("iptables-restore"), v4.get());
            NeighbourFixtures.file(fixture, "iptables-save.v6").ifPresent(v6 -> rt().check(List.of("ip6tables-restore"), v6));
        } else {
            rt().check(List.of("nft", "-f", "/dev/stdin"), NeighbourFixtures.file(fixture, "nft-list-ruleset.txt").orElseThrow());
        }
    }

    /** A drop shows as a timeout of this length; a flow that should pass and failed gets a second, longer try. */
    static final int TIMEOUT_MS = 1000;
    static final int RETRY_TIMEOUT_MS = 4000;

    /**
     * Each flow's outcome: true when the expected server answered. All run at once. A flow that failed and is
     * not in {@code expectedDrops} is tried once more with a longer timeout, so that one slow handshake on a
     * loaded machine does not count as a drop; an expected drop costs one short timeout.
     */
    Map<String, Boolean> probe(List<String> flows, java.util.Collection<String> expectedDrops) throws Exception {
        Map<String, Boolean> out = new LinkedHashMap<>();
        Map<String, CompletableFuture<String>> first = start(flows, TIMEOUT_MS);
        List<String> again = new ArrayList<>();
        for (String f : flows) {
            boolean ok = answered(f, first.get(f));
            out.put(f, ok);
            if (!ok && !expectedDrops.contains(f)) again.add(f);
        }
        Map<String, CompletableFuture<String>> second = start(again, RETRY_TIMEOUT_MS);
        for (String f : again) out.put(f, answered(f, second.get(f)));
        return out;
    }

    private Map<String, CompletableFuture<String>> start(List<String> flows, int timeout) throws IOException {
        Map<String, CompletableFuture<String>> out = new LinkedHashMap<>();
        for (String f : flows) {
            Flow flow = FLOWS.get(f);
            if (flow == null) throw new IllegalArgumentException("no flow " + f);
            out.put(f, agents.get(flow.from()).ask(timeout + " " + flow.command()));
        }
        return out;
    }

    private static boolean answered(String f, CompletableFuture<String> result) throws Exception {
        String r = result.get(20, TimeUnit.SECONDS);
        return r.equals("ok " + FLOWS.get(f).answer());
    }

    /**
     * Every rule in the router that is not nflb's own, as the tools print it: iptables-save and ip6tables-save
     * without nflb's chains and its jumps from built-in chains (a jump of nflb's anywhere else stays, so it
     * shows), counters zeroed, and nft's listing of every table but nflb's and iptables-nft's.
     */
    String neighbourRules() {
        StringBuilder sb = new StringBuilder();
        for (String tool : List.of("iptables-save", "ip6tables-save")) {
            StringBuilder table = new StringBuilder();
            boolean empty = true;
            for (String line : rt().check(List.of(tool)).stdout().split("\n")) {
                if (line.startsWith("#") || line.startsWith(":NFLB-") || line.startsWith("-A NFLB-")) continue;
                if (line.matches("-A (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) .*-j NFLB-[A-Z0-9-]+")) continue;
                line = line.replaceAll("\\[\\d+:\\d+\\]", "[0:0]");
                table.append(line).append('\n');
                // A table holding nothing but nflb's (iptables-nft makes one when nflb writes to it) holds no rules.
                if (!line.startsWith("*") && !line.equals("COMMIT") && !line.matches(":[A-Z]+ ACCEPT \\[0:0\\]")) empty = false;
                if (line.equals("COMMIT")) {
                    if (!empty) sb.append(table);
                    table.setLength(0);
                    empty = true;
                }
            }
        }
        boolean skip = false;
        for (String line : rt().check(List.of("nft", "-s", "list", "ruleset")).stdout().split("\n")) {
            if (line.startsWith("table ")) skip = line.matches("table (inet nflb|ip6? (filter|nat|mangle|raw|security)) \\{");
            if (!skip) sb.append(line).append('\n');
        }
        return sb.toString();
    }

    /** The rules of the router's built-in chain {@code chain} of iptables' filter table, in order. */
    List<String> chain(String table, String chain) {
        List<String> out = new ArrayList<>();
        for (String line : rt().check(List.of("iptables-save", "-t", table)).stdout().split("\n")) {
            if (line.startsWith("-A " + chain + " ")) out.add(line);
        }
        return out;
    }

    @Override
    public void close() {
        for (Agent a : agents.values()) a.close();
        for (Netns n : ns.values()) n.close();
    }

    /** A NetAgent JVM in one namespace: commands in on stdin, answers matched by id. */
    private static final class Agent implements AutoCloseable {
        private static final AtomicLong IDS = new AtomicLong();
        private final Process process;
        private final Writer in;
        private final Map<String, CompletableFuture<String>> pending = new ConcurrentHashMap<>();
        private final CompletableFuture<Void> ready = new CompletableFuture<>();
        private final StringBuilder early = new StringBuilder();

        Agent(Netns ns, String name, List<String> serve) throws IOException {
            List<String> args = new ArrayList<>(List.of(name));
            args.addAll(serve);
            process = new ProcessBuilder(ns.exec().command(Servers.java(NetAgent.class.getName(), args.toArray(String[]::new))))
                    .redirectErrorStream(true).start();
            in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            Thread reader = new Thread(this::read, "agent-" + name);
            reader.setDaemon(true);
            reader.start();
        }

        private void read() {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (line.equals("ready")) {
                        ready.complete(null);
                        continue;
                    }
                    int sp = line.indexOf(' ');
                    CompletableFuture<String> f = sp < 0 ? null : pending.remove(line.substring(0, sp));
                    if (f != null) f.complete(line.substring(sp + 1));
                    else synchronized (early) {
                        early.append(line).append('\n');
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
            ready.completeExceptionally(new IllegalStateException("agent ended: " + early));
            pending.values().forEach(f -> f.complete("fail agent ended"));
        }

        void awaitReady() throws Exception {
            ready.get(60, TimeUnit.SECONDS);
        }

        synchronized CompletableFuture<String> ask(String command) throws IOException {
            String id = "q" + IDS.incrementAndGet();
            CompletableFuture<String> f = new CompletableFuture<>();
            pending.put(id, f);
            in.write(id + " " + command + "\n");
            in.flush();
            return f;
        }

        @Override
        public void close() {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
    }
}
