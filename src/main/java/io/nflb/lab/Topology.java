package io.nflb.lab;

import io.nflb.host.Exec;
import io.nflb.host.Forwarding;
import io.nflb.model.IpAddress;

import java.util.ArrayList;
import java.util.List;

/**
 * The tutorial's network as namespaces: client 192.168.1.2 - (eth0) router (eth1) - servers 192.168.2.2...
 * The router's eth1 is a bridge with a veth to each server, 192.168.2.1 on it. Every link is created from
 * inside a namespace ({@code ip -n}), so not even a transient interface appears in the host's own namespace.
 */
public final class Topology implements AutoCloseable {

    public static final String CLIENT_ADDRESS = "192.168.1.2";
    public static final String ROUTER_CLIENT_SIDE = "192.168.1.1";
    public static final String ROUTER_SERVER_SIDE = "192.168.2.1";
    /** The interface that faces the clients, where a client's request enters the router. */
    public static final String CLIENT_IFACE = "eth0";
    public static final String SERVER_IFACE = "eth1";

    private final String prefix;
    private final int servers;
    private final List<String> created = new ArrayList<>();

    private Topology(String prefix, int servers) {
        this.prefix = prefix;
        this.servers = servers;
    }

    public static String serverAddress(int i) {
        return "192.168.2." + (i + 2);
    }

    public static String serverName(int i) {
        return "s" + (i + 1);
    }

    /** Builds it; on any failure removes what was made and rethrows. */
    public static Topology build(String prefix, int servers) {
        if (servers < 1 || servers > 200) throw new IllegalArgumentException("servers must be 1..200");
        Topology t = new Topology(prefix, servers);
        try {
            t.create();
            return t;
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
    }

    private void create() {
        add(client());
        add(router());
        for (int i = 0; i < servers; i++) add(server(i));

        Exec r = Exec.inNetns(router());
        Exec.host().check(List.of("ip", "-n", client(), "link", "add", "eth0", "type", "veth", "peer", "name", CLIENT_IFACE, "netns", router()));
        Exec.host().check(List.of("ip", "-n", router(), "link", "add", SERVER_IFACE, "type", "bridge"));
        for (int i = 0; i < servers; i++) {
            String port = "sv" + (i + 1);
            Exec.host().check(List.of("ip", "-n", router(), "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", server(i)));
            r.check(List.of("ip", "link", "set", port, "master", SERVER_IFACE, "up"));
            Exec s = Exec.inNetns(server(i));
            s.check(List.of("ip", "addr", "add", serverAddress(i) + "/24", "dev", "eth0"));
            s.check(List.of("ip", "link", "set", "eth0", "up"));
            s.check(List.of("ip", "route", "add", "default", "via", ROUTER_SERVER_SIDE));
        }
        r.check(List.of("ip", "addr", "add", ROUTER_CLIENT_SIDE + "/24", "dev", CLIENT_IFACE));
        r.check(List.of("ip", "link", "set", CLIENT_IFACE, "up"));
        r.check(List.of("ip", "addr", "add", ROUTER_SERVER_SIDE + "/24", "dev", SERVER_IFACE));
        r.check(List.of("ip", "link", "set", SERVER_IFACE, "up"));
        // A router routes: the lab's own namespace, so this never touches the host's setting.
        Forwarding.ensure(r, IpAddress.Family.V4);
        Exec c = Exec.inNetns(client());
        c.check(List.of("ip", "addr", "add", CLIENT_ADDRESS + "/24", "dev", "eth0"));
        c.check(List.of("ip", "link", "set", "eth0", "up"));
        c.check(List.of("ip", "route", "add", "default", "via", ROUTER_CLIENT_SIDE));
    }

    private void add(String ns) {
        Exec.host().check(List.of("ip", "netns", "add", ns));
        created.add(ns);
        Exec.inNetns(ns).check(List.of("ip", "link", "set", "lo", "up"));
    }

    public String client() {
        return prefix + "client";
    }

    public String router() {
        return prefix + "router";
    }

    public String server(int i) {
        return prefix + serverName(i);
    }

    public int servers() {
        return servers;
    }

    /** Kills whatever still runs in the namespaces and deletes them. Safe to call twice. */
    @Override
    public void close() {
        for (int i = created.size() - 1; i >= 0; i--) remove(created.get(i));
        created.clear();
    }

    /** Removes every namespace whose name starts with {@code prefix}: {@code nflb lab down}. */
    public static List<String> removeAll(String prefix) {
        List<String> removed = new ArrayList<>();
        Exec.Result list = Exec.host().run(List.of("ip", "netns", "list"));
        for (String line : list.stdout().split("\n")) {
            String ns = line.strip().split("\\s+")[0];
            if (!ns.isEmpty() && ns.startsWith(prefix)) {
                remove(ns);
                removed.add(ns);
            }
        }
        return removed;
    }

    public static boolean exists(String ns) {
        Exec.Result list = Exec.host().run(List.of("ip", "netns", "list"));
        for (String line : list.stdout().split("\n")) {
            if (line.strip().split("\\s+")[0].equals(ns)) return true;
        }
        return false;
    }

    static void remove(String ns) {
        Exec.Result pids = Exec.host().run(List.of("ip", "netns", "pids", ns));
        for (String pid : pids.stdout().split("\\s+")) {
            if (pid.matches("\\d+")) ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
        }
        Exec.host().run(List.of("ip", "netns", "del", ns));
    }
}
