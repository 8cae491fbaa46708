package io.nflb.ha;

import io.nflb.host.Exec;
import io.nflb.model.Config;
import io.nflb.model.Ha;
import io.nflb.model.IpAddress;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the rendered files need from the router itself: its own IPv4 addresses per interface (the VRRP source,
 * conntrackd's address, what conntrackd ignores) and conntrack's table size. The virtual addresses nflb moves
 * are never counted as the router's own, even while this router holds them.
 */
public record HaFacts(Map<String, List<Ha.InterfaceAddress>> addresses, long conntrackMax) {

    /** The kernel's default, when the conntrack module is not loaded yet. */
    static final long DEFAULT_CONNTRACK_MAX = 262_144;

    public HaFacts {
        Map<String, List<Ha.InterfaceAddress>> copy = new LinkedHashMap<>();
        addresses.forEach((k, v) -> copy.put(k, List.copyOf(v)));
        addresses = java.util.Collections.unmodifiableMap(copy);
    }

    /** Reads them where {@code exec} runs; {@code config}'s virtual addresses are left out. */
    public static HaFacts read(Exec exec, Config config) {
        Exec.Result r = exec.run(List.of("ip", "-4", "-o", "addr", "show"), null, Duration.ofSeconds(10));
        if (!r.ok()) throw new IllegalStateException(r.describeFailure());
        long max = DEFAULT_CONNTRACK_MAX;
        Exec.Result m = exec.run(List.of("sysctl", "-n", "net.netfilter.nf_conntrack_max"), null, Duration.ofSeconds(10));
        if (m.ok() && m.stdout().strip().matches("\\d{1,12}")) max = Long.parseLong(m.stdout().strip());
        return new HaFacts(parse(r.stdout(), HaPlan.virtualAddresses(config)), max);
    }

    /** {@code ip -4 -o addr show}: "2: eth0    inet 192.168.1.11/24 brd ... scope global eth0 ...". */
    static Map<String, List<Ha.InterfaceAddress>> parse(String text, List<IpAddress> virtual) {
        Map<String, List<Ha.InterfaceAddress>> out = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            String[] w = line.trim().split("\\s+");
            if (w.length < 4 || !w[2].equals("inet")) continue;
            String iface = w[1].replaceAll("@.*$", "");
            String[] al = w[3].split("/");
            Optional<IpAddress> a = IpAddress.parse(al[0]);
            if (a.isEmpty() || al.length != 2 || virtual.contains(a.get())) continue;
            out.computeIfAbsent(iface, k -> new ArrayList<>()).add(new Ha.InterfaceAddress(a.get(), Integer.parseInt(al[1])));
        }
        return out;
    }

    /** This router's first own address on {@code iface}. */
    public Optional<Ha.InterfaceAddress> first(String iface) {
        return addresses.getOrDefault(iface, List.of()).stream().findFirst();
    }

    /** The length of the subnet on {@code iface} that holds {@code a}, if any. */
    public Optional<Integer> subnetOf(String iface, IpAddress a) {
        for (Ha.InterfaceAddress own : addresses.getOrDefault(iface, List.of())) {
            if (io.nflb.model.Prefix.parseUnchecked(own.toString()).orElseThrow().meant().contains(a)) return Optional.of(own.length());
        }
        return Optional.empty();
    }

    /** Every own address of the router, for conntrackd to ignore: its own traffic is not replicated. */
    public List<IpAddress> own() {
        List<IpAddress> out = new ArrayList<>();
        addresses.values().forEach(l -> l.forEach(x -> { if (!out.contains(x.address())) out.add(x.address()); }));
        return out;
    }
}
