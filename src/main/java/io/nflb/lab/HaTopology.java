package io.nflb.lab;

import io.nflb.host.Exec;

import java.util.ArrayList;
import java.util.List;

/**
 * The two-router lab's network (issue 12) as namespaces, every link made from inside one ({@code ip -n}):
 * <pre>
 * client c 192.168.0.2 --- 192.168.0.1 up (the upstream router) br0 192.168.1.1/24
 *        r1 eth0 192.168.1.11               r2 eth0 192.168.1.12
 *        r1 eth2 10.9.0.1/30 -------------- r2 eth2 10.9.0.2/30     (conntrackd's link)
 *        r1 eth1 192.168.2.11               r2 eth1 192.168.2.12
 *                        sw br1 (a switch of its own: the server segment outlives a router)
 *        s1 192.168.2.2      s2 192.168.2.3      s3 192.168.2.4
 * </pre>
 */
public final class HaTopology implements AutoCloseable {

    public static final String CLIENT = "192.168.0.2";
    public static final String UPSTREAM_LAN = "192.168.1.1";
    public static final String[] ROUTER_CLIENT_SIDE = {"192.168.1.11", "192.168.1.12"};
    public static final String[] ROUTER_SERVER_SIDE = {"192.168.2.11", "192.168.2.12"};
    public static final String[] ROUTER_SYNC = {"10.9.0.1", "10.9.0.2"};
    public static final String[] SERVERS = {"192.168.2.2", "192.168.2.3", "192.168.2.4"};

    private final String prefix;
    private final List<String> created = new ArrayList<>();

    private HaTopology(String prefix) {
        this.prefix = prefix;
    }

    public String ns(String node) {
        return prefix + node;
    }

    public String router(int i) {
        return ns("r" + (i + 1));
    }

    public String server(int i) {
        return ns("s" + (i + 1));
    }

    public static HaTopology build(String prefix) {
        if (!prefix.startsWith("nflb")) throw new IllegalArgumentException("lab namespaces must start with nflb");
        HaTopology t = new HaTopology(prefix);
        try {
            t.create();
            return t;
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
    }

    private void create() {
        for (String n : List.of("c", "up", "r1", "r2", "sw", "s1", "s2", "s3")) {
            Exec.host().check(List.of("ip", "netns", "add", ns(n)));
            created.add(ns(n));
            ip(n, "link", "set", "lo", "up");
        }
        veth("c", "eth0", "up", "eth0");
        addr("c", "eth0", CLIENT + "/24");
        addr("up", "eth0", "192.168.0.1/24");
        ip("c", "route", "add", "default", "via", "192.168.0.1");
        ip("up", "link", "add", "br0", "type", "bridge");
        addr("up", "br0", UPSTREAM_LAN + "/24");
        ip("sw", "link", "add", "br1", "type", "bridge");
        ip("sw", "link", "set", "br1", "up");
        for (int i = 0; i < 2; i++) {
            String r = "r" + (i + 1);
            veth("up", "p" + (i + 1), r, "eth0");
            ip("up", "link", "set", "p" + (i + 1), "master", "br0", "up");
            veth("sw", r, r, "eth1");
            ip("sw", "link", "set", r, "master", "br1", "up");
            addr(r, "eth0", ROUTER_CLIENT_SIDE[i] + "/24");
            addr(r, "eth1", ROUTER_SERVER_SIDE[i] + "/24");
            ip(r, "route", "add", "default", "via", UPSTREAM_LAN);
            sysctl(r, "net.ipv4.ip_forward=1");
        }
        veth("r1", "eth2", "r2", "eth2");
        addr("r1", "eth2", ROUTER_SYNC[0] + "/30");
        addr("r2", "eth2", ROUTER_SYNC[1] + "/30");
        sysctl("up", "net.ipv4.ip_forward=1");
        for (int i = 0; i < 3; i++) {
            String s = "s" + (i + 1);
            veth("sw", s, s, "eth0");
            ip("sw", "link", "set", s, "master", "br1", "up");
            addr(s, "eth0", SERVERS[i] + "/24");
        }
    }

    void ip(String node, String... args) {
        List<String> argv = new ArrayList<>(List.of("ip", "-n", ns(node)));
        argv.addAll(List.of(args));
        Exec.host().check(argv);
    }

    void sysctl(String node, String setting) {
        Exec.inNetns(ns(node)).check(List.of("sysctl", "-q", "-w", setting));
    }

    private void veth(String a, String ifA, String b, String ifB) {
        ip(a, "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", ns(b));
    }

    private void addr(String node, String iface, String cidr) {
        ip(node, "addr", "add", cidr, "dev", iface);
        ip(node, "link", "set", iface, "up");
    }

    /** Kills whatever runs in the namespaces and deletes them; safe to call twice. */
    @Override
    public void close() {
        for (int i = created.size() - 1; i >= 0; i--) Topology.remove(created.get(i));
        created.clear();
    }
}
