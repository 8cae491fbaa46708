package io.nflb.host;

import io.nflb.model.Backend;
import io.nflb.model.Config;
import io.nflb.model.Protocol;
import io.nflb.model.Service;

import io.nflb.model.IpAddress;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Kernel settings that limit nflb's data path but that nflb does not own, so it warns instead of changing
 * them (BENCHMARKS.md, "Data path against the field"). Every balanced connection holds a conntrack entry, and
 * a closed TCP connection keeps its entry for {@code nf_conntrack_tcp_timeout_time_wait} seconds (120 by
 * default); so the table, {@code nf_conntrack_max} entries, holds at most max / time_wait closed connections
 * per second. Beyond that rate the table fills with TIME_WAIT entries and each new connection must first
 * evict one. The decision is {@link #warnings(Map)}, a pure function of the values read.
 * {@link #sharedBackends(Config)} is the config's side: a TCP backend reached through more than one
 * listen address.
 */
public final class DataPathChecks {

    public static final String CONNTRACK_MAX = "net.netfilter.nf_conntrack_max";
    public static final String TIME_WAIT = "net.netfilter.nf_conntrack_tcp_timeout_time_wait";
    public static final List<String> KEYS = List.of(CONNTRACK_MAX, TIME_WAIT);

    /**
     * New connections per second the table should hold without evicting: above what the 2-core lab pushed
     * through nflb on new connections (BENCHMARKS.md), so a default kernel is flagged.
     */
    public static final long WANTED_RATE = 10_000;

    private DataPathChecks() {
    }

    /** The warnings for these sysctl values; none when a value is missing or not a number. */
    public static List<String> warnings(Map<String, String> values) {
        List<String> out = new ArrayList<>();
        long max = number(values.get(CONNTRACK_MAX));
        long timeWait = number(values.get(TIME_WAIT));
        if (max > 0 && timeWait > 0) {
            long rate = max / timeWait;
            if (rate < WANTED_RATE) {
                long suggested = Math.max(1, max / WANTED_RATE);
                out.add(String.format(Locale.ROOT,
                        "conntrack holds a closed TCP connection for %d s (%s) in a table of %,d entries (%s): "
                                + "above %,d new connections/s sustained the table fills and new connections must evict "
                                + "old entries first. For %,d/s lower %s to %d here, or raise %s (host-wide)",
                        timeWait, TIME_WAIT, max, CONNTRACK_MAX, rate, WANTED_RATE, TIME_WAIT, suggested, CONNTRACK_MAX));
            }
        }
        return out;
    }

    private static long number(String v) {
        if (v == null) return -1;
        try {
            return Long.parseLong(v.strip());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /**
     * TCP backends that more than one service reaches through different listen addresses. A client's TCP
     * timestamps carry an offset derived from the address it connects to; when it reaches one backend through
     * two addresses from the same source port within the backend's TIME_WAIT (60 s), the backend drops the
     * second SYN as a PAWS failure and the client waits a second to retry (BENCHMARKS.md: a DNAT run after a
     * direct run from the same client fell to 250 req/s). Services without a listen address are left out.
     * In one pass over 1,000,000 backends without a map of them: the IPv4 ones as numbers, sorted, and only
     * those met twice are looked at again.
     */
    public static List<String> sharedBackends(Config config) {
        int count = 0;
        for (Service s : config.services()) if (behindAddress(s)) count += s.backends().size();
        long[] v4 = new long[count];
        int n = 0;
        Map<String, Integer> v6 = new HashMap<>();
        for (Service s : config.services()) {
            if (!behindAddress(s)) continue;
            for (Backend b : s.backends()) {
                if (b.address().family() == IpAddress.Family.V4) v4[n++] = v4Key(b);
                else v6.merge(b.endpoint(), 1, Integer::sum);
            }
        }
        Arrays.sort(v4, 0, n);
        Set<Long> twice = new HashSet<>();
        for (int i = 1; i < n; i++) if (v4[i] == v4[i - 1]) twice.add(v4[i]);
        if (twice.isEmpty() && v6.values().stream().allMatch(c -> c < 2)) return List.of();
        // The few met more than once, in the order they first appear, with every address and service they are behind.
        Map<String, LinkedHashSet<String>> via = new LinkedHashMap<>();
        Map<String, List<String>> names = new LinkedHashMap<>();
        for (Service s : config.services()) {
            if (!behindAddress(s)) continue;
            String vip = s.listen().address().get().toString();
            for (Backend b : s.backends()) {
                boolean candidate = b.address().family() == IpAddress.Family.V4 ? twice.contains(v4Key(b)) : v6.get(b.endpoint()) > 1;
                if (!candidate) continue;
                via.computeIfAbsent(b.endpoint(), k -> new LinkedHashSet<>()).add(vip);
                List<String> nm = names.computeIfAbsent(b.endpoint(), k -> new ArrayList<>());
                if (!nm.contains(s.name())) nm.add(s.name());
            }
        }
        List<String> out = new ArrayList<>();
        via.forEach((endpoint, vips) -> {
            if (vips.size() > 1) {
                out.add("backend " + endpoint + " is reached through " + String.join(", ", vips) + " (services "
                        + String.join(", ", names.get(endpoint)) + "): a client that reaches it through two of them "
                        + "from the same source port within the backend's TIME_WAIT can have its SYN dropped by "
                        + "the backend (PAWS) and wait a second to retry");
            }
        });
        return out;
    }

    private static boolean behindAddress(Service s) {
        return s.protocol() == Protocol.TCP && s.listen().address().isPresent();
    }

    /** An IPv4 backend as one number: its address and port. */
    private static long v4Key(Backend b) {
        byte[] a = b.address().inet().getAddress();
        long addr = (a[0] & 0xffL) << 24 | (a[1] & 0xffL) << 16 | (a[2] & 0xffL) << 8 | (a[3] & 0xffL);
        return addr << 16 | b.port();
    }

    /** What apply tells after the rules are in: the families whose forwarding is off, and warnings. */
    public record Report(Set<IpAddress.Family> forwardingOff, List<String> warnings) {
    }

    /**
     * Everything apply checks around the kernel for {@code config}, with one sysctl run where {@code exec} runs:
     * forwarding for the families it balances ({@link Forwarding}), the conntrack settings ({@link #KEYS}) and its
     * shared backends. Reads only, so it can run while the rules load.
     */
    public static Report report(Exec exec, Config config) {
        Set<IpAddress.Family> families = EnumSet.noneOf(IpAddress.Family.class);
        config.services().forEach(s -> families.add(s.family()));
        List<String> keys = new ArrayList<>();
        for (IpAddress.Family f : families) keys.add(Forwarding.key(f));
        keys.addAll(KEYS);
        Map<String, String> values = new Sysctl(exec).findAll(keys);
        Set<IpAddress.Family> off = EnumSet.noneOf(IpAddress.Family.class);
        for (IpAddress.Family f : families) if (!"1".equals(values.get(Forwarding.key(f)))) off.add(f);
        List<String> warnings = new ArrayList<>(sharedBackends(config));
        Map<String, String> conntrack = new LinkedHashMap<>(values);
        conntrack.keySet().retainAll(KEYS);
        warnings.addAll(warnings(conntrack));
        return new Report(off, warnings);
    }
}
