package io.nflb.ha;

import io.nflb.dataplane.HaHold;
import io.nflb.model.Backend;
import io.nflb.model.Config;
import io.nflb.model.Ha;
import io.nflb.model.IpAddress;
import io.nflb.model.Service;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;

/**
 * What a router's transitions need, worked out once from the config and the router (and written next to the
 * rendered files for `nflb ha notify`, which keepalived starts afresh for each transition): the virtual
 * addresses this router may hold (removed by a fault: a killed keepalived leaves them behind), the hold, and
 * conntrackd's file when the state is synced.
 */
public record HaPlan(List<Vip> vips, HaHold.Spec hold, Optional<Path> conntrackdConf) {

    /** A virtual address as keepalived adds it: ADDRESS/LENGTH on an interface. */
    public record Vip(Ha.InterfaceAddress address, String iface) {
        @Override
        public String toString() {
            return address + " dev " + iface;
        }
    }

    public HaPlan {
        vips = List.copyOf(vips);
        conntrackdConf = conntrackdConf == null ? Optional.empty() : conntrackdConf;
    }

    static final String FILE = "ha.properties";

    /** Every address nflb moves between routers: the services' (vrrp mode) and the gateways'. */
    public static List<IpAddress> virtualAddresses(Config config) {
        List<IpAddress> out = new ArrayList<>();
        Ha ha = config.ha().orElseThrow();
        if (ha.mode() == Ha.Mode.VRRP) out.addAll(serviceAddresses(config));
        ha.gateway().ifPresent(g -> g.all().forEach(a -> out.add(a.address())));
        return out;
    }

    /** The services' IPv4 listen addresses, each once, in address order. */
    public static List<IpAddress> serviceAddresses(Config config) {
        return config.services().stream().flatMap(s -> s.listen().address().stream())
                .filter(a -> a.family() == IpAddress.Family.V4).distinct()
                .sorted(java.util.Comparator.comparing(a -> new java.math.BigInteger(1, a.inet().getAddress()))).toList();
    }

    /** The virtual addresses of vrrp mode: each service address on ha.interface (its subnet's length there, else /32), the gateway. */
    static List<Vip> vrrpVips(Config config, HaFacts facts) {
        Ha ha = config.ha().orElseThrow();
        List<Vip> out = new ArrayList<>();
        for (IpAddress a : serviceAddresses(config)) {
            out.add(new Vip(new Ha.InterfaceAddress(a, facts.subnetOf(ha.iface(), a).orElse(32)), ha.iface()));
        }
        ha.gateway().ifPresent(g -> out.add(new Vip(g.address(), g.iface())));
        return out;
    }

    public static HaPlan of(Config config, HaFacts facts, Optional<Path> conntrackdConf) {
        Ha ha = config.ha().orElseThrow();
        List<Vip> vips = ha.mode() == Ha.Mode.VRRP ? vrrpVips(config, facts)
                : ha.gateway().orElseThrow().all().stream().map(a -> new Vip(a, ha.gateway().get().iface())).toList();
        List<HaHold.Endpoint> backends = new ArrayList<>();
        for (Service s : config.services()) {
            for (Backend b : s.backends()) backends.add(new HaHold.Endpoint(s.protocol(), b));
        }
        // ecmp mode keeps no state, so there is nothing to wait for: its hold is empty.
        HaHold.Spec hold = ha.mode() == Ha.Mode.VRRP ? new HaHold.Spec(serviceAddresses(config), backends)
                : new HaHold.Spec(List.of(), List.of());
        return new HaPlan(vips, hold, conntrackdConf);
    }

    public boolean holds() {
        return !hold.serviceAddresses().isEmpty() || !hold.backends().isEmpty();
    }

    void write(Path dir) throws IOException {
        Properties p = new Properties();
        p.setProperty("vips", String.join(",", vips.stream().map(v -> v.address() + "@" + v.iface()).toList()));
        p.setProperty("hold_addresses", String.join(",", hold.serviceAddresses().stream().map(IpAddress::toString).toList()));
        p.setProperty("hold_backends", String.join(",", hold.backends().stream()
                .map(e -> e.protocol().keyword() + "@" + e.backend().address() + "@" + e.backend().port()).toList()));
        p.setProperty("conntrackd_conf", conntrackdConf.map(Path::toString).orElse(""));
        StringBuilder sb = new StringBuilder("# What `nflb ha notify` needs; written by nflb with keepalived.conf.\n");
        for (String k : new java.util.TreeSet<>(p.stringPropertyNames())) sb.append(k).append('=').append(p.getProperty(k)).append('\n');
        Files.writeString(dir.resolve(FILE), sb.toString());
    }

    static HaPlan read(Path dir) throws IOException {
        Properties p = new Properties();
        p.load(new StringReader(Files.readString(dir.resolve(FILE))));
        List<Vip> vips = new ArrayList<>();
        for (String v : split(p.getProperty("vips", ""))) {
            String[] w = v.split("@");
            String[] al = w[0].split("/");
            vips.add(new Vip(new Ha.InterfaceAddress(IpAddress.parse(al[0]).orElseThrow(), Integer.parseInt(al[1])), w[1]));
        }
        List<IpAddress> addrs = split(p.getProperty("hold_addresses", "")).stream().map(a -> IpAddress.parse(a).orElseThrow()).toList();
        List<HaHold.Endpoint> backends = new ArrayList<>();
        for (String b : split(p.getProperty("hold_backends", ""))) {
            String[] w = b.split("@");
            backends.add(new HaHold.Endpoint(io.nflb.model.Protocol.valueOf(w[0].toUpperCase(java.util.Locale.ROOT)),
                    new Backend(IpAddress.parse(w[1]).orElseThrow(), Integer.parseInt(w[2]), 1)));
        }
        String ctd = p.getProperty("conntrackd_conf", "");
        return new HaPlan(vips, new HaHold.Spec(addrs, backends), ctd.isEmpty() ? Optional.empty() : Optional.of(Path.of(ctd)));
    }

    private static List<String> split(String s) {
        return s.isEmpty() ? List.of() : List.of(s.split(","));
    }
}
