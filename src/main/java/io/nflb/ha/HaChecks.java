package io.nflb.ha;

import io.nflb.host.Exec;
import io.nflb.model.Config;
import io.nflb.model.Ha;
import io.nflb.model.Scheduler;
import io.nflb.model.Service;
import io.nflb.model.Snat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What nflb tells the operator of a router in a pair: at validate, what the config itself implies ({@link #notes});
 * at apply and run, what the router's kernel settings imply ({@link #warnings}), a pure function of the values
 * read, measured in issue 12's research (REPORT section 5). nflb does not change these settings; the upstream's
 * and the servers' it cannot see at all, so it names them.
 */
public final class HaChecks {

    static final String TCP_LOOSE = "net.netfilter.nf_conntrack_tcp_loose";
    static final String HASH_POLICY = "net.ipv4.fib_multipath_hash_policy";
    static final String RP_FILTER_ALL = "net.ipv4.conf.all.rp_filter";
    /** Read as well: whether this router's own default route is multipath (then the hash policy applies here). */
    static final String MULTIPATH_DEFAULT = "route: multipath default";

    private HaChecks() {
    }

    /** What the config implies for failover, said at validate. */
    public static List<String> notes(Config config) {
        List<String> out = new ArrayList<>();
        if (config.ha().isEmpty()) return out;
        Ha ha = config.ha().get();
        if (ha.peers().isEmpty()) out.add("ha: no peers: VRRP adverts go by multicast (224.0.0.18) on " + ha.iface());
        if (ha.advertInterval().toMillis() < 100) {
            out.add("ha: advert_interval " + ha.advertInterval().toMillis() + "ms: three missed adverts make the peer take over;"
                    + " on a busy machine the VRRP process can miss them while the primary lives");
        }
        if (ha.mode() == Ha.Mode.VRRP) {
            if (ha.sync().isEmpty()) {
                boolean maglev = config.services().stream().allMatch(s -> s.scheduler() == Scheduler.MAGLEV);
                out.add("ha: no sync: a failover resets established connections (the new primary has no NAT state for them)"
                        + (maglev ? "; maglev services may be picked up by the same backend (nf_conntrack_tcp_loose=1), which is measured, not promised" : ""));
            }
            if (ha.gateway().isEmpty()) {
                out.add("ha: no gateway: the servers' replies must reach whichever router is primary; give ha.gateway (their default route) so it moves with the service addresses");
            }
            for (Service s : config.services()) {
                if (s.listen().address().isEmpty()) {
                    out.add("ha: service '" + s.name() + "' has no listen address: it takes connections to the router's own addresses, which do not move");
                }
                if (s.snat() == Snat.MASQUERADE) {
                    out.add("ha: service '" + s.name() + "' masquerades: replies come back to this router's own address, so its established connections break at failover");
                }
                if (s.affinity().isPresent()) out.add("ha: service '" + s.name() + "' keeps affinity in a set of this router's; a failover forgets it");
            }
        } else {
            out.add("ha: ecmp: the upstream must spread flows by their ports (fib_multipath_hash_policy=1 on a Linux upstream) and stop"
                    + " sending to a router that is gone (BGP, or the multipath route); the servers need a multipath default route over"
                    + " every gateway address (" + String.join(", ", ha.gateway().orElseThrow().all().stream().map(a -> a.address().toString()).toList())
                    + ") with fib_multipath_hash_policy=1");
            out.add("ha: ecmp: connections are translated without state: the firewall's stateful rules and per-client limits do not see them,"
                    + " and a drained backend loses its connections at once");
        }
        return out;
    }

    /** Reads what {@link #warnings} needs where {@code exec} runs; settings this kernel lacks are left out. */
    public static Map<String, String> read(Exec exec, Config config) {
        Map<String, String> v = new LinkedHashMap<>();
        List<String> keys = new ArrayList<>(List.of(TCP_LOOSE, HASH_POLICY, RP_FILTER_ALL));
        config.ha().ifPresent(h -> keys.add(rpFilter(h.iface())));
        for (String k : keys) {
            Exec.Result r = exec.run(List.of("sysctl", "-n", k), null, Duration.ofSeconds(5));
            if (r.ok()) v.put(k, r.stdout().strip());
        }
        Exec.Result routes = exec.run(List.of("ip", "-4", "route", "show", "default"), null, Duration.ofSeconds(5));
        if (routes.ok()) v.put(MULTIPATH_DEFAULT, String.valueOf(routes.stdout().contains("nexthop") || routes.stdout().strip().split("\n").length > 1));
        return v;
    }

    static String rpFilter(String iface) {
        return "net.ipv4.conf." + iface + ".rp_filter";
    }

    /** The warnings for these values. */
    public static List<String> warnings(Config config, Map<String, String> values) {
        List<String> out = new ArrayList<>();
        if (config.ha().isEmpty()) return out;
        Ha ha = config.ha().get();
        Optional<String> loose = Optional.ofNullable(values.get(TCP_LOOSE));
        if (ha.mode() == Ha.Mode.VRRP && ha.sync().isEmpty() && loose.isPresent()) {
            if (loose.get().equals("0")) {
                out.add(TCP_LOOSE + " is 0 and there is no sync: at failover the new primary finds every established connection INVALID"
                        + " and resets it (measured: 0 of 50 survived)");
            } else if (config.services().stream().anyMatch(s -> s.scheduler() != Scheduler.MAGLEV)) {
                out.add("no sync: at failover the new primary picks up established connections as new ones and schedules them afresh;"
                        + " round-robin and random send most to another backend, which resets them (measured: 15-17 of 50 survived)");
            }
        }
        boolean multipath = Boolean.parseBoolean(values.getOrDefault(MULTIPATH_DEFAULT, "false"));
        if (multipath && "0".equals(values.get(HASH_POLICY))) {
            out.add(HASH_POLICY + " is 0 and this router's default route is multipath: every flow between two hosts takes one path;"
                    + " set it to 1 to spread by ports");
        }
        int rp = Math.max(num(values.get(RP_FILTER_ALL)), num(values.get(rpFilter(ha.iface()))));
        if (rp == 1 && multipath) {
            out.add("strict reverse-path filtering (rp_filter=1 on " + ha.iface() + ") with a multipath default route: a client's packets that"
                    + " enter on another interface than the one its route leaves by are dropped; use 2 (loose)");
        }
        return out;
    }

    private static int num(String s) {
        return s != null && s.matches("\\d+") ? Integer.parseInt(s) : 0;
    }
}
