package io.nflb.dataplane.nft;

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
 * 10,000 rules costs a walk of all its elements per binding (140 s), so maps are sharded {@value NftNames#SHARDS} ways
 * by service id (and split by family and protocol). The constant id enters the key as {@code numgen inc mod 1 offset ID}, because nft 1.0.6
 * refuses constants in a key concatenation.</li>
 * <li>Affinity services (few, by nature) use per-backend chains and per-backend dynamic sets with a timeout:
 * a known client goes straight to its backend's chain, which refreshes the entry; a removed backend takes
 * its set, hence its clients, with it.</li>
 * </ul>
 * <p>
 * Pure: the same plan gives the same script. Each service renders to a {@link Fragment} of its own, which
 * {@link NftRenderCache} keeps between renders so a daemon re-renders only the services that changed.
 */
public final class NftRenderer {

    /** A fixed jhash seed: every router with the same config maps a client to the same maglev entry. */
    public static final String JHASH_SEED = "0x6e666c62";

    /** The sets and maps every table has, whatever its services (and the generation token's set). */
    static final List<String> GLOBAL_SETS = List.of(NftNames.DISPATCH4, NftNames.DISPATCH6, NftNames.DISPATCH_IF,
            NftNames.DISPATCH_PORT, NftNames.MASQ4, NftNames.MASQ6, NftNames.REJECT4, NftNames.REJECT6, NftNames.REJECT_IF,
            NftNames.REJECT_PORT);

    /** What one service contributes to the table: elements of shared maps, and chains and sets of its own. */
    record Fragment(long id, String listenKey, Map<String, List<String>> elements, List<NftState.Chain> chains,
                    List<NftState.NftSet> sets, List<String> preRules) {
    }

    private NftRenderer() {
    }

    public static NftScript render(Plan plan) {
        List<ServicePlan> services = new ArrayList<>(plan.services());
        services.sort(Comparator.comparing(ServicePlan::name));
        Map<String, Long> ids = serviceIds(services);
        List<Fragment> fragments = new ArrayList<>(services.size());
        for (ServicePlan sp : services) fragments.add(fragment(sp, ids.get(sp.name())));
        return NftScript.of(assemble(plan, services, fragments));
    }

    /** The whole table from the services' fragments ({@code services} sorted by name, fragments in that order). */
    static NftState assemble(Plan plan, List<ServicePlan> services, List<Fragment> fragments) {
        Map<String, List<String>> elements = new java.util.HashMap<>();
        for (String m : GLOBAL_SETS) elements.put(m, new ArrayList<>());
        Map<String, NftState.NftSet> affinitySets = new LinkedHashMap<>();
        Map<String, NftState.Chain> serviceChains = new LinkedHashMap<>();
        List<String> wildcardRules = new ArrayList<>();
        Set<String> keys = new HashSet<>();
        Set<String> masqSeen = new HashSet<>();
        for (int i = 0; i < services.size(); i++) {
            Fragment f = fragments.get(i);
            requireUnique(keys, f.listenKey(), services.get(i).name());
            if (NftStateless.takes(plan, services.get(i))) continue; // translated without state, below
            for (Map.Entry<String, List<String>> e : f.elements().entrySet()) {
                List<String> into = elements.computeIfAbsent(e.getKey(), k -> new ArrayList<>());
                if (e.getKey().equals(NftNames.MASQ4) || e.getKey().equals(NftNames.MASQ6)) {
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
        Map<String, NftState.NftSet> sets = sets(elements);
        sets.putAll(affinitySets);
        Map<String, NftState.Chain> chains = baseChains(wildcardRules);
        chains.putAll(serviceChains);
        return NftStateless.extend(plan, NftFirewallRenderer.extend(plan, new NftState(Map.of(), sets, chains)));
    }

    /** The dispatch, masquerade and reject sets, the generation token, then every slot map in declaration order. */
    private static Map<String, NftState.NftSet> sets(Map<String, List<String>> elements) {
        Map<String, NftState.NftSet> sets = new LinkedHashMap<>();
        for (String name : GLOBAL_SETS) sets.put(name, sharedSet(name, elements.get(name)));
        // The generation token: every partial sync swaps it in the same transaction, which fails as a whole
        // when the table is not the one this process last wrote.
        sets.put(NftNames.GEN, sharedSet(NftNames.GEN, List.of()));
        List<NftNames.SlotMap> slotMaps = new ArrayList<>();
        for (String k : elements.keySet()) NftNames.parseSlotMap(k).ifPresent(slotMaps::add);
        slotMaps.sort(Comparator.comparing(NftNames.SlotMap::order));
        for (NftNames.SlotMap m : slotMaps) sets.put(m.name(), sharedSet(m.name(), elements.get(m.name())));
        return sets;
    }

    /** One of the sets and maps shared by services (a global one, the token's, or a slot map), declared, with {@code elements}. */
    static NftState.NftSet sharedSet(String name, List<String> elements) {
        switch (name) {
            case NftNames.DISPATCH4: return map(name, "type ipv4_addr . inet_proto . inet_service : verdict", elements);
            case NftNames.DISPATCH6: return map(name, "type ipv6_addr . inet_proto . inet_service : verdict", elements);
            case NftNames.DISPATCH_IF: return map(name, "type ifname . inet_proto . inet_service : verdict", elements);
            case NftNames.DISPATCH_PORT: return map(name, "type inet_proto . inet_service : verdict", elements);
            case NftNames.MASQ4: return set(name, "type inet_proto . ipv4_addr . inet_service", elements);
            case NftNames.MASQ6: return set(name, "type inet_proto . ipv6_addr . inet_service", elements);
            case NftNames.REJECT4: return set(name, "type ipv4_addr . inet_proto . inet_service", elements);
            case NftNames.REJECT6: return set(name, "type ipv6_addr . inet_proto . inet_service", elements);
            case NftNames.REJECT_IF: return set(name, "type ifname . inet_proto . inet_service", elements);
            case NftNames.REJECT_PORT: return set(name, "type inet_proto . inet_service", elements);
            case NftNames.GEN: return set(name, "type mark", elements);
            default: break;
        }
        NftNames.SlotMap m = NftNames.parseSlotMap(name).orElseThrow(() -> new IllegalArgumentException("not a shared set: " + name));
        String ip = m.v6() ? "ip6" : "ip";
        String data = ip + " daddr . " + m.protocol() + " dport";
        // Keyed by the packet's own destination and the slot, or by the service id and the slot; per-element
        // counters give new connections and first-packet bytes per slot, summed per backend.
        String key = m.byId() ? "numgen inc mod 1" : ip + " daddr . " + m.protocol() + " dport";
        return new NftState.NftSet(m.name(), true, List.of("typeof " + key + " . numgen inc mod 2 : " + data, "counter"), elements);
    }

    /** The base chains: dispatch in the nat hooks, masquerade, and refusal of services without a backend. */
    static Map<String, NftState.Chain> baseChains(List<String> wildcardRules) {
        Map<String, NftState.Chain> chains = new LinkedHashMap<>();
        List<String> pre = new ArrayList<>(List.of(
                "ip daddr . meta l4proto . th dport vmap @" + NftNames.DISPATCH4,
                "ip6 daddr . meta l4proto . th dport vmap @" + NftNames.DISPATCH6,
                "fib daddr type local iifname . meta l4proto . th dport vmap @" + NftNames.DISPATCH_IF,
                "fib daddr type local meta l4proto . th dport vmap @" + NftNames.DISPATCH_PORT));
        pre.addAll(wildcardRules);
        chains.put(NftNames.PREROUTING, new NftState.Chain(NftNames.PREROUTING, "type nat hook prerouting priority dstnat; policy accept;", pre));
        // The router's own connections to a service address are balanced too; port-only services never are.
        chains.put(NftNames.OUTPUT, new NftState.Chain(NftNames.OUTPUT, "type nat hook output priority -100; policy accept;", List.of(
                "ip daddr . meta l4proto . th dport vmap @" + NftNames.DISPATCH4,
                "ip6 daddr . meta l4proto . th dport vmap @" + NftNames.DISPATCH6)));
        // Masquerade only connections nat'ed to a backend of a masquerading service: a set lookup, not a rule each.
        chains.put(NftNames.POSTROUTING, new NftState.Chain(NftNames.POSTROUTING, "type nat hook postrouting priority srcnat; policy accept;", List.of(
                "ct status dnat meta l4proto . ip daddr . th dport @" + NftNames.MASQ4 + " masquerade",
                "ct status dnat meta l4proto . ip6 daddr . th dport @" + NftNames.MASQ6 + " masquerade")));
        // A service with no usable backend is never dispatched, so its packets reach the filter hooks, where
        // reject is allowed: a reset for TCP, port unreachable otherwise, at once instead of a timeout.
        List<String> addrRejects = List.of(
                "ip daddr . meta l4proto . th dport @" + NftNames.REJECT4 + " meta l4proto tcp reject with tcp reset",
                "ip daddr . meta l4proto . th dport @" + NftNames.REJECT4 + " reject with icmp port-unreachable",
                "ip6 daddr . meta l4proto . th dport @" + NftNames.REJECT6 + " meta l4proto tcp reject with tcp reset",
                "ip6 daddr . meta l4proto . th dport @" + NftNames.REJECT6 + " reject with icmpv6 port-unreachable");
        List<String> localRejects = new ArrayList<>(addrRejects);
        localRejects.addAll(List.of(
                "fib daddr type local iifname . meta l4proto . th dport @" + NftNames.REJECT_IF + " meta l4proto tcp reject with tcp reset",
                "fib daddr type local iifname . meta l4proto . th dport @" + NftNames.REJECT_IF + " reject",
                "fib daddr type local meta l4proto . th dport @" + NftNames.REJECT_PORT + " meta l4proto tcp reject with tcp reset",
                "fib daddr type local meta l4proto . th dport @" + NftNames.REJECT_PORT + " reject"));
        chains.put(NftNames.REJECTS, new NftState.Chain(NftNames.REJECTS, "", localRejects));
        chains.put(NftNames.REJECTS_ADDR, new NftState.Chain(NftNames.REJECTS_ADDR, "", addrRejects));
        chains.put(NftNames.FILTER_INPUT, new NftState.Chain(NftNames.FILTER_INPUT, "type filter hook input priority filter; policy accept;",
                List.of("ct state new jump " + NftNames.REJECTS)));
        chains.put(NftNames.FILTER_FORWARD, new NftState.Chain(NftNames.FILTER_FORWARD, "type filter hook forward priority filter; policy accept;",
                List.of("ct state new jump " + NftNames.REJECTS_ADDR)));
        chains.put(NftNames.FILTER_OUTPUT, new NftState.Chain(NftNames.FILTER_OUTPUT, "type filter hook output priority filter; policy accept;",
                List.of("ct state new jump " + NftNames.REJECTS_ADDR)));
        return chains;
    }

    /** What makes two services collide: the same address, interface or port key. */
    static String listenKey(Service s) {
        Listen l = s.listen();
        String tail = s.protocol().keyword() + " " + l.port();
        if (l.address().isPresent()) return "addr " + l.address().get() + " " + tail;
        if (l.iface().isPresent()) return "if " + l.iface().get() + " " + tail;
        return "port " + tail;
    }

    static Fragment fragment(ServicePlan sp, long id) {
        Service s = sp.service();
        String name = s.name();
        boolean v6 = s.family() == IpAddress.Family.V6;
        String proto = s.protocol().keyword();
        Listen l = s.listen();
        Map<String, List<String>> elems = new LinkedHashMap<>();
        List<NftState.Chain> chains = new ArrayList<>();
        List<NftState.NftSet> sets = new ArrayList<>();
        List<String> preRules = new ArrayList<>();
        String comment = NftNames.comment(name);

        if (sp.rejects()) {
            if (l.address().isPresent()) {
                add(elems, v6 ? NftNames.REJECT6 : NftNames.REJECT4, l.address().get() + " . " + proto + " . " + l.port() + comment);
            } else if (l.iface().isPresent() && !l.iface().get().endsWith("+")) {
                add(elems, NftNames.REJECT_IF, "\"" + Names.requireInterface(l.iface().get()) + "\" . " + proto + " . " + l.port() + comment);
            } else if (l.iface().isEmpty()) {
                add(elems, NftNames.REJECT_PORT, proto + " . " + l.port() + comment);
            }
            // A wildcard interface cannot be a set key: such a service is simply not balanced while it has no backend.
            return new Fragment(id, listenKey(s), elems, chains, sets, preRules);
        }

        List<Integer> slotOwners = slotOwners(sp);
        String ip = v6 ? "ip6" : "ip";
        String index = index(sp, v6, proto, slotOwners.size());
        String target;
        if (s.affinity().isPresent()) {
            target = NftNames.serviceChain(name);
            List<String> rules = new ArrayList<>();
            ifaceCheck(l, rules);
            renderAffinity(sp, target, slotOwners, index, sets, chains, rules);
            chains.add(0, new NftState.Chain(target, "", rules));
        } else if (l.address().isPresent()) {
            boolean own = sp.selection() instanceof Selection.Cycle || l.iface().isPresent();
            // A map bound by many rules costs the kernel a walk of its elements per binding: services with a rule
            // of their own use id-sharded maps, the shared chains' few rules the unsharded one.
            String method = sp.selection() instanceof Selection.Maglev ? "maglev" : "random";
            // Each shared chain has a map of its own: a service whose slot count changes moves its elements to
            // another small map, and a new chain's rule never binds (and makes the kernel walk) a big one.
            String flat = (own ? NftNames.SlotMap.flatShard(v6, proto, id) : NftNames.SlotMap.flatShared(v6, proto, method, slotOwners.size())).name();
            String prefix = l.address().get() + " . " + l.port() + " . ";
            String[] tuples = tuples(sp);
            List<String> out = new ArrayList<>(slotOwners.size());
            for (int i = 0; i < slotOwners.size(); i++) {
                out.add(prefix + i + (i == 0 ? comment : "") + " : " + tuples[slotOwners.get(i)]);
            }
            elems.put(flat, out);
            String rule = "dnat " + ip + " to " + ip + " daddr . " + proto + " dport . " + index + " map @" + flat;
            if (own) {
                // numgen inc keeps its counter per expression: an exact cycle needs a rule of the service's own.
                target = NftNames.serviceChain(name);
                List<String> rules = new ArrayList<>();
                ifaceCheck(l, rules);
                rules.add(rule);
                chains.add(new NftState.Chain(target, "", rules));
            } else {
                // Random and maglev keep no state: every service with the same method and slot count shares one chain.
                target = NftNames.sharedChain(v6, proto, method, slotOwners.size());
                chains.add(new NftState.Chain(target, "", List.of(rule)));
            }
        } else {
            target = NftNames.serviceChain(name);
            // One map family per protocol: nft 1.0.6 refuses, when adding a rule to a live table, a "meta l4proto
            // tcp" rule whose map data is typed "th dport" (conflicting protocols tcp vs. th).
            String shard = NftNames.SlotMap.byIdShard(v6, proto, id).name();
            String[] tuples = tuples(sp);
            List<String> out = new ArrayList<>(slotOwners.size());
            for (int i = 0; i < slotOwners.size(); i++) {
                out.add(id + " . " + i + (i == 0 ? comment : "") + " : " + tuples[slotOwners.get(i)]);
            }
            elems.put(shard, out);
            // nft drops "meta l4proto" from its listing when the expression names tcp/udp itself (jhash).
            String dep = sp.selection() instanceof Selection.Maglev ? "" : "meta l4proto " + proto + " ";
            chains.add(new NftState.Chain(target, "", List.of(
                    dep + "dnat " + ip + " to numgen inc mod 1 offset " + id + " . " + index + " map @" + shard)));
        }

        String jump = " : jump " + target;
        if (l.address().isPresent()) {
            add(elems, v6 ? NftNames.DISPATCH6 : NftNames.DISPATCH4, l.address().get() + " . " + proto + " . " + l.port() + jump);
        } else if (l.iface().isPresent() && !l.iface().get().endsWith("+")) {
            add(elems, NftNames.DISPATCH_IF, "\"" + Names.requireInterface(l.iface().get()) + "\" . " + proto + " . " + l.port() + jump);
        } else if (l.iface().isPresent()) {
            // A wildcard interface cannot be a map key: one rule each, the only per-service dispatch cost.
            preRules.add("fib daddr type local iifname " + ifname(l.iface().get()) + " " + proto + " dport " + l.port() + " jump " + target);
        } else {
            add(elems, NftNames.DISPATCH_PORT, proto + " . " + l.port() + jump);
        }
        if (s.snat() == Snat.MASQUERADE) {
            for (BackendPlan b : sp.backends()) {
                add(elems, v6 ? NftNames.MASQ6 : NftNames.MASQ4, proto + " . " + b.backend().address() + " . " + b.backend().port());
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
        boolean v6 = s.family() == IpAddress.Family.V6;
        String saddr = v6 ? "ip6 saddr" : "ip saddr";
        List<String> backendChains = new ArrayList<>();
        for (BackendPlan bp : sp.backends()) {
            Backend b = bp.backend();
            String bc = NftNames.affinityChain(s.name(), b);
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
            long id = idWish(sp.name());
            while (!used.add(id)) id = nextId(id);
            if (ids.put(sp.name(), id) != null) throw new IllegalArgumentException("duplicate service " + sp.name());
        }
        return ids;
    }

    /** The id a service gets unless an earlier name (in name order) has it: the CRC-32 of its name. */
    static long idWish(String service) {
        CRC32 crc = new CRC32();
        crc.update(service.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        return crc.getValue();
    }

    /** The next id a collision probes. */
    static long nextId(long id) {
        return (id + 1) & 0xffffffffL;
    }

    private static void requireUnique(Set<String> keys, String key, String service) {
        if (!keys.add(key)) throw listensTwice(service);
    }

    static IllegalArgumentException listensTwice(String service) {
        return new IllegalArgumentException("service " + service + " listens where another service does");
    }

    private static NftState.NftSet map(String name, String type, List<String> elems) {
        return new NftState.NftSet(name, true, List.of(type), elems);
    }

    private static NftState.NftSet set(String name, String type, List<String> elems) {
        return new NftState.NftSet(name, false, List.of(type), elems);
    }

    private static String ifname(String iface) {
        Names.requireInterface(iface);
        return "\"" + (iface.endsWith("+") ? iface.substring(0, iface.length() - 1) + "*" : iface) + "\"";
    }

    static String tuple(Backend b) {
        return b.address() + " . " + b.port();
    }

    /** Each backend's tuple once, however many slots it owns. */
    private static String[] tuples(ServicePlan sp) {
        String[] out = new String[sp.backends().size()];
        for (int i = 0; i < out.length; i++) out[i] = tuple(sp.backends().get(i).backend());
        return out;
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
