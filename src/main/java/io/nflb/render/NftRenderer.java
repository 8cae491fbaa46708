package io.nflb.render;

import io.nflb.model.Backend;
import io.nflb.model.IpAddress;
import io.nflb.model.Listen;
import io.nflb.model.Names;
import io.nflb.model.Service;
import io.nflb.model.Snat;
import io.nflb.plan.BackendPlan;
import io.nflb.plan.Plan;
import io.nflb.plan.Selection;
import io.nflb.plan.ServicePlan;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32;

/**
 * Renders a {@link Plan} into nflb's own nft table. Design, measured on nft 1.0.6 / kernel 6.x:
 * <ul>
 * <li>One {@code table inet nflb}: both address families in one table, so apply is one transaction and
 * flush is one {@code delete table}; nothing outside it is ever touched.</li>
 * <li>Dispatch is one verdict-map lookup per packet ({@code ip daddr . meta l4proto . th dport vmap @svc4}),
 * so a new connection costs the same with 1 or 10,000 services. Services without an address are found by
 * iifname or port alone, only for packets to the router's own addresses ({@code fib daddr type local}) and
 * only in prerouting, so they never catch forwarded traffic or the router's own outgoing connections.</li>
 * <li>Backend choice: each service has a chain with one rule whose own {@code numgen}/{@code jhash}
 * expression (numgen inc's counter is per expression, which makes round-robin an exact cycle) indexes a
 * shared map keyed {@code service id . slot}. Per-service named maps were measured quadratic in the kernel
 * (10,000 maps: 3.4 s; anonymous maps 7.6 s: set names are looked up by a list walk), and one map bound by
 * 10,000 rules costs a walk of all its elements per binding (140 s), so maps are sharded {@value #SHARDS} ways
 * by service id (and split by family and protocol). The constant id enters the key as {@code numgen inc mod 1 offset ID}, because nft 1.0.6
 * refuses constants in a key concatenation.</li>
 * <li>Affinity services (few, by nature) use per-backend chains and per-backend dynamic sets with a timeout:
 * a known client goes straight to its backend's chain, which refreshes the entry; a removed backend takes
 * its set, hence its clients, with it.</li>
 * </ul>
 */
public final class NftRenderer {

    /** Number of slot-map shards: keeps both the set count and each map's bindings small. */
    public static final int SHARDS = 256;
    /** A fixed jhash seed: every router with the same config maps a client to the same maglev entry. */
    public static final String JHASH_SEED = "0x6e666c62";

    static final String DISPATCH4 = "svc4";
    static final String DISPATCH6 = "svc6";
    static final String DISPATCH_IF = "svc_if";
    static final String DISPATCH_PORT = "svc_port";
    static final String MASQ4 = "masq4";
    static final String MASQ6 = "masq6";
    public static final String REJECT4 = "rej4";
    public static final String REJECT6 = "rej6";
    public static final String REJECT_IF = "rej_if";
    public static final String REJECT_PORT = "rej_port";

    private static final List<String> GLOBAL_SETS = List.of(DISPATCH4, DISPATCH6, DISPATCH_IF, DISPATCH_PORT, MASQ4, MASQ6,
            REJECT4, REJECT6, REJECT_IF, REJECT_PORT);

    /** What one service contributes to the table; cached by plan so an unchanged service is not rendered again. */
    private record Fragment(long id, String listenKey, Map<String, List<String>> elements, List<NftState.Chain> chains,
                            List<NftState.NftSet> sets, List<String> preRules) {
    }

    /** The last render's fragments: the daemon re-renders a 10,000-service plan in milliseconds when one changed. */
    private Map<String, Cached> memo = new java.util.HashMap<>();
    /** The last render's fragments in order and its result: an unchanged plan returns the very same script. */
    private List<Fragment> lastFragments = List.of();
    private List<String> lastNames = List.of();
    private int[] lastOrder = new int[0];
    private List<String> lastInputNames = List.of();
    private Map<String, Long> lastIds = Map.of();
    private NftScript lastScript;
    /** The firewall part of the last plan: a change there alone must not return the cached script. */
    private List<Object> lastFirewall = List.of();

    private record Cached(ServicePlan plan, Fragment fragment) {
    }

    private final boolean caching;

    public NftRenderer() {
        this(true);
    }

    private NftRenderer(boolean caching) {
        this.caching = caching;
    }

    public static NftScript render(Plan plan) {
        return new NftRenderer(false).renderCached(plan);
    }

    /** Renders {@code plan}, reusing the fragments of services that are unchanged since this instance's last call. */
    public synchronized NftScript renderCached(Plan plan) {
        List<ServicePlan> services = sortedByName(plan.services());
        List<String> names = new ArrayList<>(services.size());
        for (ServicePlan sp : services) names.add(sp.name());
        Map<String, Long> ids = caching && names.equals(lastNames) ? lastIds : serviceIds(services);
        if (caching) {
            lastNames = names;
            lastIds = ids;
        }

        // Fragments first: a service whose plan equals last time's (a record compare, no hashing) is not rendered.
        List<Fragment> fragments = new ArrayList<>(services.size());
        Map<String, Cached> nextMemo = new java.util.HashMap<>(caching ? services.size() * 2 : 0);
        List<Object> firewall = List.of(plan.firewall(), plan.probed());
        boolean same = caching && lastScript != null && services.size() == lastFragments.size() && firewall.equals(lastFirewall);
        for (int i = 0; i < services.size(); i++) {
            ServicePlan sp = services.get(i);
            long id = ids.get(sp.name());
            Cached c = caching ? memo.get(sp.name()) : null;
            Fragment f = c != null && c.fragment().id() == id && (c.plan() == sp || c.plan().equals(sp)) ? c.fragment() : fragment(sp, id);
            if (caching) nextMemo.put(sp.name(), new Cached(sp, f));
            same = same && lastFragments.get(i) == f;
            fragments.add(f);
        }
        if (caching) memo = nextMemo;
        if (same) return lastScript;

        Map<String, List<String>> elements = new java.util.HashMap<>();
        for (String m : GLOBAL_SETS) elements.put(m, new ArrayList<>());
        Map<String, NftState.NftSet> affinitySets = new LinkedHashMap<>();
        Map<String, NftState.Chain> serviceChains = new LinkedHashMap<>();
        List<String> wildcardRules = new ArrayList<>();
        Set<String> keys = new HashSet<>();
        Set<String> masqSeen = new HashSet<>();

        for (int i = 0; i < services.size(); i++) {
            ServicePlan sp = services.get(i);
            Fragment f = fragments.get(i);
            requireUnique(keys, f.listenKey(), sp.name());
            for (Map.Entry<String, List<String>> e : f.elements().entrySet()) {
                List<String> into = elements.computeIfAbsent(e.getKey(), k -> new ArrayList<>());
                if (e.getKey().equals(MASQ4) || e.getKey().equals(MASQ6)) {
                    // Two services may share a backend: a set element is written once.
                    for (String x : e.getValue()) if (masqSeen.add(x)) into.add(x);
                } else {
                    into.addAll(e.getValue());
                }
            }
            for (NftState.Chain c : f.chains()) serviceChains.put(c.name(), c);
            for (NftState.NftSet s : f.sets()) affinitySets.put(s.name(), s);
            wildcardRules.addAll(f.preRules());
        }

        Map<String, NftState.NftSet> sets = new LinkedHashMap<>();
        addMap(sets, DISPATCH4, "type ipv4_addr . inet_proto . inet_service : verdict", elements.get(DISPATCH4));
        addMap(sets, DISPATCH6, "type ipv6_addr . inet_proto . inet_service : verdict", elements.get(DISPATCH6));
        addMap(sets, DISPATCH_IF, "type ifname . inet_proto . inet_service : verdict", elements.get(DISPATCH_IF));
        addMap(sets, DISPATCH_PORT, "type inet_proto . inet_service : verdict", elements.get(DISPATCH_PORT));
        addSet(sets, MASQ4, "type inet_proto . ipv4_addr . inet_service", elements.get(MASQ4));
        addSet(sets, MASQ6, "type inet_proto . ipv6_addr . inet_service", elements.get(MASQ6));
        addSet(sets, REJECT4, "type ipv4_addr . inet_proto . inet_service", elements.get(REJECT4));
        addSet(sets, REJECT6, "type ipv6_addr . inet_proto . inet_service", elements.get(REJECT6));
        addSet(sets, REJECT_IF, "type ifname . inet_proto . inet_service", elements.get(REJECT_IF));
        addSet(sets, REJECT_PORT, "type inet_proto . inet_service", elements.get(REJECT_PORT));
        // The generation token: every partial sync swaps it in the same transaction, which fails as a whole
        // when the table is not the one this process last wrote.
        sets.put(NftState.GEN, new NftState.NftSet(NftState.GEN, false, List.of("type mark"), List.of()));
        List<String> flatShards = new ArrayList<>();
        for (String k : elements.keySet()) if (k.startsWith("flat")) flatShards.add(k);
        flatShards.sort(Comparator.comparing(NftRenderer::flatOrder));
        for (String shard : flatShards) {
            String[] part = shard.split("_");
            String ip = part[0].equals("flat6") ? "ip6" : "ip";
            // Per-element counters: new connections and first-packet bytes per slot, summed per backend.
            sets.put(shard, new NftState.NftSet(shard, true, List.of("typeof " + ip + " daddr . " + part[1] + " dport . numgen inc mod 2 : "
                    + ip + " daddr . " + part[1] + " dport", "counter"), elements.get(shard)));
        }
        List<String> shards = new ArrayList<>();
        for (String k : elements.keySet()) if (k.startsWith("slots")) shards.add(k);
        shards.sort(Comparator.comparingInt(NftRenderer::shardOrder));
        for (String shard : shards) {
            String[] part = shard.split("_");
            String data = (part[0].equals("slots6") ? "ip6" : "ip") + " daddr . " + part[1] + " dport";
            sets.put(shard, new NftState.NftSet(shard, true,
                    List.of("typeof numgen inc mod 1 . numgen inc mod 2 : " + data, "counter"), elements.get(shard)));
        }
        sets.putAll(affinitySets);

        Map<String, NftState.Chain> chains = new LinkedHashMap<>();
        List<String> pre = new ArrayList<>(List.of(
                "ip daddr . meta l4proto . th dport vmap @" + DISPATCH4,
                "ip6 daddr . meta l4proto . th dport vmap @" + DISPATCH6,
                "fib daddr type local iifname . meta l4proto . th dport vmap @" + DISPATCH_IF,
                "fib daddr type local meta l4proto . th dport vmap @" + DISPATCH_PORT));
        pre.addAll(wildcardRules);
        chains.put("prerouting", new NftState.Chain("prerouting", "type nat hook prerouting priority dstnat; policy accept;", pre));
        // The router's own connections to a service address are balanced too; port-only services never are.
        chains.put("output", new NftState.Chain("output", "type nat hook output priority -100; policy accept;", List.of(
                "ip daddr . meta l4proto . th dport vmap @" + DISPATCH4,
                "ip6 daddr . meta l4proto . th dport vmap @" + DISPATCH6)));
        // Masquerade only connections nat'ed to a backend of a masquerading service: a set lookup, not a rule each.
        chains.put("postrouting", new NftState.Chain("postrouting", "type nat hook postrouting priority srcnat; policy accept;", List.of(
                "ct status dnat meta l4proto . ip daddr . th dport @" + MASQ4 + " masquerade",
                "ct status dnat meta l4proto . ip6 daddr . th dport @" + MASQ6 + " masquerade")));
        // A service with no usable backend is never dispatched, so its packets reach the filter hooks, where
        // reject is allowed: a reset for TCP, port unreachable otherwise, at once instead of a timeout.
        List<String> addrRejects = List.of(
                "ip daddr . meta l4proto . th dport @" + REJECT4 + " meta l4proto tcp reject with tcp reset",
                "ip daddr . meta l4proto . th dport @" + REJECT4 + " reject with icmp port-unreachable",
                "ip6 daddr . meta l4proto . th dport @" + REJECT6 + " meta l4proto tcp reject with tcp reset",
                "ip6 daddr . meta l4proto . th dport @" + REJECT6 + " reject with icmpv6 port-unreachable");
        List<String> localRejects = new ArrayList<>(addrRejects);
        localRejects.addAll(List.of(
                "fib daddr type local iifname . meta l4proto . th dport @" + REJECT_IF + " meta l4proto tcp reject with tcp reset",
                "fib daddr type local iifname . meta l4proto . th dport @" + REJECT_IF + " reject",
                "fib daddr type local meta l4proto . th dport @" + REJECT_PORT + " meta l4proto tcp reject with tcp reset",
                "fib daddr type local meta l4proto . th dport @" + REJECT_PORT + " reject"));
        chains.put("rejects", new NftState.Chain("rejects", "", localRejects));
        chains.put("rejects_addr", new NftState.Chain("rejects_addr", "", addrRejects));
        chains.put("filter_input", new NftState.Chain("filter_input", "type filter hook input priority filter; policy accept;",
                List.of("ct state new jump rejects")));
        chains.put("filter_forward", new NftState.Chain("filter_forward", "type filter hook forward priority filter; policy accept;",
                List.of("ct state new jump rejects_addr")));
        chains.put("filter_output", new NftState.Chain("filter_output", "type filter hook output priority filter; policy accept;",
                List.of("ct state new jump rejects_addr")));
        chains.putAll(serviceChains);
        NftScript script = NftScript.of(NftFirewallRenderer.extend(plan, new NftState(Map.of(), sets, chains)));
        if (caching) {
            lastFragments = fragments;
            lastScript = script;
            lastFirewall = firewall;
        }
        return script;
    }

    /** The plan's services by name; the same names in the same places as last time reuse last time's order. */
    private List<ServicePlan> sortedByName(List<ServicePlan> input) {
        int n = input.size();
        boolean sameOrder = caching && lastOrder.length == n && lastInputNames.size() == n;
        for (int i = 0; sameOrder && i < n; i++) {
            String a = input.get(i).name();
            String b = lastInputNames.get(i);
            sameOrder = a == b || a.equals(b);
        }
        List<ServicePlan> out = new ArrayList<>(n);
        if (sameOrder) {
            for (int i : lastOrder) out.add(input.get(i));
            return out;
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        java.util.Arrays.sort(order, Comparator.comparing(i -> input.get(i).name()));
        for (int i : order) out.add(input.get(i));
        if (caching) {
            lastOrder = java.util.Arrays.stream(order).mapToInt(Integer::intValue).toArray();
            lastInputNames = input.stream().map(ServicePlan::name).toList();
        }
        return out;
    }

    /** What makes two services collide: the same address, interface or port key. */
    private static String listenKey(Service s) {
        Listen l = s.listen();
        String tail = s.protocol().keyword() + " " + l.port();
        if (l.address().isPresent()) return "addr " + l.address().get() + " " + tail;
        if (l.iface().isPresent()) return "if " + l.iface().get() + " " + tail;
        return "port " + tail;
    }

    private static Fragment fragment(ServicePlan sp, long id) {
        Service s = sp.service();
        String name = Names.requireService(s.name());
        boolean v6 = family(sp) == IpAddress.Family.V6;
        String proto = s.protocol().keyword();
        Listen l = s.listen();
        Map<String, List<String>> elems = new LinkedHashMap<>();
        List<NftState.Chain> chains = new ArrayList<>();
        List<NftState.NftSet> sets = new ArrayList<>();
        List<String> preRules = new ArrayList<>();
        String comment = " comment \"" + name + "\"";

        if (sp.rejects()) {
            if (l.address().isPresent()) {
                add(elems, v6 ? REJECT6 : REJECT4, l.address().get() + " . " + proto + " . " + l.port() + comment);
            } else if (l.iface().isPresent() && !l.iface().get().endsWith("+")) {
                add(elems, REJECT_IF, "\"" + Names.requireInterface(l.iface().get()) + "\" . " + proto + " . " + l.port() + comment);
            } else if (l.iface().isEmpty()) {
                add(elems, REJECT_PORT, proto + " . " + l.port() + comment);
            }
            // A wildcard interface cannot be a set key: such a service is simply not balanced while it has no backend.
            return new Fragment(id, listenKey(s), elems, chains, sets, preRules);
        }

        List<Integer> slotOwners = slotOwners(sp);
        String ip = v6 ? "ip6" : "ip";
        String index = index(sp, v6, proto, slotOwners.size());
        String target;
        if (s.affinity().isPresent()) {
            target = "svc_" + name;
            List<String> rules = new ArrayList<>();
            ifaceCheck(l, rules);
            renderAffinity(sp, target, slotOwners, index, sets, chains, rules);
            chains.add(0, new NftState.Chain(target, "", rules));
        } else if (l.address().isPresent()) {
            boolean own = sp.selection() instanceof Selection.Cycle || l.iface().isPresent();
            // A map bound by many rules costs the kernel a walk of its elements per binding: services with a rule
            // of their own use id-sharded maps, the shared chains' few rules the unsharded one.
            String pick = (sp.selection() instanceof Selection.Maglev ? "maglev_" : "random_") + slotOwners.size();
            // Each shared chain has a map of its own: a service whose slot count changes moves its elements to
            // another small map, and a new chain's rule never binds (and makes the kernel walk) a big one.
            String flat = "flat" + (v6 ? "6_" : "4_") + proto + "_" + (own ? String.valueOf(id % SHARDS) : pick);
            String prefix = l.address().get() + " . " + l.port() + " . ";
            List<String> out = new ArrayList<>(slotOwners.size());
            for (int i = 0; i < slotOwners.size(); i++) {
                out.add(prefix + i + (i == 0 ? comment : "") + " : " + tuple(sp.backends().get(slotOwners.get(i)).backend()));
            }
            elems.put(flat, out);
            String rule = "dnat " + ip + " to " + ip + " daddr . " + proto + " dport . " + index + " map @" + flat;
            if (own) {
                // numgen inc keeps its counter per expression: an exact cycle needs a rule of the service's own.
                target = "svc_" + name;
                List<String> rules = new ArrayList<>();
                ifaceCheck(l, rules);
                rules.add(rule);
                chains.add(new NftState.Chain(target, "", rules));
            } else {
                // Random and maglev keep no state: every service with the same method and slot count shares one chain.
                target = "pick" + (v6 ? "6_" : "4_") + proto + "_" + pick;
                chains.add(new NftState.Chain(target, "", List.of(rule)));
            }
        } else {
            target = "svc_" + name;
            // One map family per protocol: nft 1.0.6 refuses, when adding a rule to a live table, a "meta l4proto
            // tcp" rule whose map data is typed "th dport" (conflicting protocols tcp vs. th).
            String shard = "slots" + (v6 ? "6_" : "4_") + proto + "_" + (id % SHARDS);
            List<String> out = new ArrayList<>(slotOwners.size());
            for (int i = 0; i < slotOwners.size(); i++) {
                out.add(id + " . " + i + (i == 0 ? comment : "") + " : " + tuple(sp.backends().get(slotOwners.get(i)).backend()));
            }
            elems.put(shard, out);
            // nft drops "meta l4proto" from its listing when the expression names tcp/udp itself (jhash).
            String dep = sp.selection() instanceof Selection.Maglev ? "" : "meta l4proto " + proto + " ";
            chains.add(new NftState.Chain(target, "", List.of(
                    dep + "dnat " + ip + " to numgen inc mod 1 offset " + id + " . " + index + " map @" + shard)));
        }

        String jump = " : jump " + target;
        if (l.address().isPresent()) {
            add(elems, v6 ? DISPATCH6 : DISPATCH4, l.address().get() + " . " + proto + " . " + l.port() + jump);
        } else if (l.iface().isPresent() && !l.iface().get().endsWith("+")) {
            add(elems, DISPATCH_IF, "\"" + Names.requireInterface(l.iface().get()) + "\" . " + proto + " . " + l.port() + jump);
        } else if (l.iface().isPresent()) {
            // A wildcard interface cannot be a map key: one rule each, the only per-service dispatch cost.
            preRules.add("fib daddr type local iifname " + ifname(l.iface().get()) + " " + proto + " dport " + l.port() + " jump " + target);
        } else {
            add(elems, DISPATCH_PORT, proto + " . " + l.port() + jump);
        }
        if (s.snat() == Snat.MASQUERADE) {
            for (BackendPlan b : sp.backends()) {
                add(elems, v6 ? MASQ6 : MASQ4, proto + " . " + b.backend().address() + " . " + b.backend().port());
            }
        }
        return new Fragment(id, listenKey(s), elems, chains, sets, preRules);
    }

    private static void ifaceCheck(Listen l, List<String> rules) {
        if (l.address().isPresent() && l.iface().isPresent()) {
            // The address map found the service; the interface is checked here (empty on output: returns).
            rules.add("iifname != " + ifname(l.iface().get()) + " return");
        }
    }

    private static void add(Map<String, List<String>> elems, String set, String element) {
        elems.computeIfAbsent(set, k -> new ArrayList<>()).add(element);
    }

    private static void renderAffinity(ServicePlan sp, String chain, List<Integer> slotOwners, String index,
                                       List<NftState.NftSet> sets, List<NftState.Chain> chains,
                                       List<String> serviceRules) {
        Service s = sp.service();
        boolean v6 = family(sp) == IpAddress.Family.V6;
        String saddr = v6 ? "ip6 saddr" : "ip saddr";
        List<String> backendChains = new ArrayList<>();
        for (BackendPlan bp : sp.backends()) {
            Backend b = bp.backend();
            String bc = "aff_" + s.name() + "_" + hex(b);
            backendChains.add(bc);
            sets.add(new NftState.NftSet(bc, false, List.of(
                    v6 ? "type ipv6_addr" : "type ipv4_addr", "size 65535", "flags dynamic,timeout",
                    "timeout " + nftDuration(s.affinity().get())), List.of()));
            serviceRules.add(saddr + " @" + bc + " goto " + bc);
            chains.add(new NftState.Chain(bc, "", List.of(
                    "update @" + bc + " { " + saddr + " }",
                    "meta l4proto " + s.protocol().keyword() + " dnat " + (v6 ? "ip6" : "ip") + " to " + b.endpoint())));
        }
        StringBuilder vmap = new StringBuilder(index).append(" vmap { ");
        for (int i = 0; i < slotOwners.size(); i++) {
            if (i > 0) vmap.append(", ");
            vmap.append(i).append(" : goto ").append(backendChains.get(slotOwners.get(i)));
        }
        serviceRules.add(vmap.append(" }").toString());
    }

    /** The expression that picks a slot, as nft lists it. */
    private static String index(ServicePlan sp, boolean v6, String proto, int slots) {
        Selection sel = sp.selection();
        if (sel instanceof Selection.Cycle) return "numgen inc mod " + slots;
        if (sel instanceof Selection.Random) return "numgen random mod " + slots;
        return "jhash " + (v6 ? "ip6" : "ip") + " saddr . " + proto + " sport mod " + slots + " seed " + JHASH_SEED;
    }

    /**
     * Slot i of the service's map names backend slotOwners[i]. Round-robin follows the plan's cycle; random
     * expands weights into that many slots, so {@code numgen random mod W} gives each backend exactly w/W;
     * maglev is the plan's table.
     */
    static List<Integer> slotOwners(ServicePlan sp) {
        Selection sel = sp.selection();
        if (sel instanceof Selection.Cycle c) return c.slots();
        if (sel instanceof Selection.Maglev m) return m.table();
        List<Integer> out = new ArrayList<>();
        for (int b = 0; b < sp.backends().size(); b++) {
            for (int k = 0; k < sp.backends().get(b).weight(); k++) out.add(b);
        }
        return out;
    }

    /** Stable ids from the name, so adding a service never renumbers another; collisions probe upward in name order. */
    static Map<String, Long> serviceIds(List<ServicePlan> sortedServices) {
        Map<String, Long> ids = new LinkedHashMap<>();
        Set<Long> used = new HashSet<>();
        for (ServicePlan sp : sortedServices) {
            CRC32 crc = new CRC32();
            crc.update(sp.name().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            long id = crc.getValue();
            while (!used.add(id)) id = (id + 1) & 0xffffffffL;
            if (ids.put(sp.name(), id) != null) throw new IllegalArgumentException("duplicate service " + sp.name());
        }
        return ids;
    }

    static IpAddress.Family family(ServicePlan sp) {
        // A rejecting service has no usable backend left; its configured ones still say which family it is.
        List<Backend> all = sp.rejects() ? sp.service().backends() : sp.backends().stream().map(BackendPlan::backend).toList();
        IpAddress.Family f = all.get(0).address().family();
        for (Backend b : all) {
            if (b.address().family() != f) {
                throw new IllegalArgumentException("service " + sp.name() + " mixes IPv4 and IPv6 backends");
            }
        }
        sp.service().listen().address().ifPresent(a -> {
            if (a.family() != f) throw new IllegalArgumentException("service " + sp.name() + " listens on another family than its backends");
        });
        return f;
    }

    private static void requireUnique(Set<String> keys, String key, String service) {
        if (!keys.add(key)) throw new IllegalArgumentException("service " + service + " listens where another service does");
    }

    private static void addMap(Map<String, NftState.NftSet> sets, String name, String type, List<String> elems) {
        sets.put(name, new NftState.NftSet(name, true, List.of(type), elems));
    }

    private static void addSet(Map<String, NftState.NftSet> sets, String name, String type, List<String> elems) {
        sets.put(name, new NftState.NftSet(name, false, List.of(type), elems));
    }

    /** flat maps by family, protocol, then id shards in number order, then shared-chain maps by method and size. */
    private static String flatOrder(String name) {
        String[] part = name.split("_");
        String tail = part.length == 3 ? String.format("0%08d", Integer.parseInt(part[2]))
                : "1" + part[2] + String.format("%08d", Integer.parseInt(part[3]));
        return part[0] + "_" + part[1] + "_" + tail;
    }

    private static int shardOrder(String shard) {
        String[] part = shard.split("_");
        return (part[0].endsWith("6") ? 2_000_000 : 0) + (part[1].equals("udp") ? 1_000_000 : 0) + Integer.parseInt(part[2]);
    }

    private static String ifname(String iface) {
        Names.requireInterface(iface);
        return "\"" + (iface.endsWith("+") ? iface.substring(0, iface.length() - 1) + "*" : iface) + "\"";
    }

    static String tuple(Backend b) {
        return b.address() + " . " + b.port();
    }

    /** A name part from the endpoint: hex address and port, valid in any nft identifier. */
    static String hex(Backend b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b.address().inet().getAddress()) sb.append(String.format("%02x", x & 0xff));
        return sb.append('_').append(b.port()).toString();
    }

    /** A duration the way nft prints it: 3h, 1h30m, 1d2h, 45s. */
    static String nftDuration(Duration d) {
        long s = d.getSeconds();
        if (s <= 0) throw new IllegalArgumentException("affinity timeout must be at least one second");
        StringBuilder sb = new StringBuilder();
        long[] units = {86400, 3600, 60, 1};
        String[] names = {"d", "h", "m", "s"};
        for (int i = 0; i < units.length; i++) {
            if (s >= units[i]) {
                sb.append(s / units[i]).append(names[i]);
                s %= units[i];
            }
        }
        return sb.toString();
    }
}
