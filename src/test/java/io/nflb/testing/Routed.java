package io.nflb.testing;

import io.nflb.host.Exec;

import java.util.List;

/** The smallest routed topology for kernel tests: client 10.0.1.2 - router (10.0.1.1 | 192.168.2.1) - server. */
public final class Routed {

    private Routed() {
    }

    /** Wires three fresh namespaces; the server gets {@code serverAddresses} on 192.168.2.0/24 (no default route). */
    public static void wire(Netns client, Netns router, Netns server, List<String> serverAddresses) {
        Exec r = router.exec();
        r.check(List.of("ip", "link", "add", "rc", "type", "veth", "peer", "name", "cr", "netns", client.name()));
        r.check(List.of("ip", "link", "add", "rs", "type", "veth", "peer", "name", "sr", "netns", server.name()));
        r.check(List.of("ip", "addr", "add", "10.0.1.1/24", "dev", "rc"));
        r.check(List.of("ip", "addr", "add", "192.168.2.1/24", "dev", "rs"));
        r.check(List.of("ip", "link", "set", "rc", "up"));
        r.check(List.of("ip", "link", "set", "rs", "up"));
        r.check(List.of("sysctl", "-q", "-w", "net.ipv4.ip_forward=1"));
        Exec c = client.exec();
        c.check(List.of("ip", "addr", "add", "10.0.1.2/24", "dev", "cr"));
        c.check(List.of("ip", "link", "set", "cr", "up"));
        c.check(List.of("ip", "route", "add", "default", "via", "10.0.1.1"));
        Exec s = server.exec();
        for (String a : serverAddresses) s.check(List.of("ip", "addr", "add", a + "/24", "dev", "sr"));
        s.check(List.of("ip", "link", "set", "sr", "up"));
    }
}
