package io.nflb.dataplane.nft;

import io.nflb.model.Backend;
import io.nflb.model.IpAddress;
import io.nflb.model.Service;
import io.nflb.plan.BackendPlan;
import io.nflb.plan.MaglevTable;
import io.nflb.plan.Plan;
import io.nflb.plan.Rational;
import io.nflb.plan.Selection;
import io.nflb.plan.ServicePlan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * ha mode ecmp: every router of the group translates every packet of a service without connection state, in
 * both directions, from the same maglev table (REPORT of issue 12, section 4). Towards the backend, in
 * prerouting at raw priority (before conntrack): {@code notrack}, then the port and the address are rewritten
 * by the table, indexed by a jhash of the client's address and port with nflb's fixed seed, fields neither
 * rewrite changes. Back, the reply is matched by its source (a backend endpoint serves one service, which the
 * config checks) and not tracked; its source is set back to the service's address and port in postrouting,
 * after routing, since the service address is local on a router that announces it and a local source arriving
 * from outside would be a martian. A reply to the router itself (a health check) stays tracked.
 * <p>
 * The stateful firewall sees these packets as {@code ct state untracked}: a forward chain with policy drop
 * accepts them by the backend endpoint (the request already translated, the reply not yet).
 */
final class NftStateless {

    private static final String V4_TUPLE = "type ipv4_addr . inet_proto . inet_service";

    private NftStateless() {
    }

    /** The services this translation takes: all of a stateless plan's, but those without a usable backend. */
    static boolean takes(Plan plan, ServicePlan sp) {
        return plan.stateless() && !sp.rejects();
    }

    /** {@code state} with the translation's maps and chains added, and the firewall's forward chain told about them. */
    static NftState extend(Plan plan, NftState state) {
        List<ServicePlan> services = plan.services().stream().filter(sp -> takes(plan, sp))
                .sorted(Comparator.comparing(ServicePlan::name)).toList();
        if (services.isEmpty()) return state;
        Map<String, NftState.NftSet> sets = new LinkedHashMap<>(state.sets());
        Map<String, NftState.Chain> chains = new LinkedHashMap<>(state.chains());
        List<String> forward = new ArrayList<>();
        List<String> endpoints = new ArrayList<>();
        List<String> reverse = new ArrayList<>();
        Map<String, NftState.NftSet> tables = new LinkedHashMap<>();
        Map<String, NftState.Chain> serviceChains = new LinkedHashMap<>();
        for (ServicePlan sp : services) {
            Service s = sp.service();
            if (s.family() != IpAddress.Family.V4 || s.listen().address().isEmpty() || !(sp.selection() instanceof Selection.Maglev m)) {
                throw new IllegalArgumentException("service " + s.name() + ": the stateless translation needs an IPv4 address and maglev");
            }
            String proto = s.protocol().keyword();
            String vip = s.listen().address().get().toString();
            forward.add(vip + " . " + proto + " . " + s.listen().port() + " : jump " + NftNames.statelessForwardChain(s.name()));
            for (BackendPlan bp : sp.backends()) {
                Backend b = bp.backend();
                String key = b.address() + " . " + proto + " . " + b.port();
                endpoints.add(key);
                reverse.add(key + " : jump " + NftNames.statelessReverseChain(s.name()));
            }
            List<String> addrs = new ArrayList<>(m.table().size());
            List<String> ports = new ArrayList<>(m.table().size());
            for (int i = 0; i < m.table().size(); i++) {
                Backend b = sp.backends().get(m.table().get(i)).backend();
                addrs.add(i + " : " + b.address());
                ports.add(i + " : " + b.port());
            }
            String addrMap = NftNames.statelessAddressMap(s.name());
            String portMap = NftNames.statelessPortMap(s.name());
            tables.put(addrMap, new NftState.NftSet(addrMap, true, List.of("typeof numgen inc mod 2 : ip daddr"), addrs));
            tables.put(portMap, new NftState.NftSet(portMap, true, List.of("typeof numgen inc mod 2 : " + proto + " dport"), ports));
            String hash = "jhash ip saddr . " + proto + " sport mod " + m.table().size() + " seed " + NftRenderer.JHASH_SEED;
            String fwd = NftNames.statelessForwardChain(s.name());
            serviceChains.put(fwd, new NftState.Chain(fwd, "", List.of("notrack",
                    proto + " dport set " + hash + " map @" + portMap,
                    "ip daddr set " + hash + " map @" + addrMap)));
            String rev = NftNames.statelessReverseChain(s.name());
            serviceChains.put(rev, new NftState.Chain(rev, "", List.of(
                    "ip saddr set " + vip + " " + proto + " sport set " + s.listen().port())));
        }
        sets.put(NftNames.STATELESS_FORWARD, new NftState.NftSet(NftNames.STATELESS_FORWARD, true, List.of(V4_TUPLE + " : verdict"), forward));
        sets.put(NftNames.STATELESS_BACKENDS, new NftState.NftSet(NftNames.STATELESS_BACKENDS, false, List.of(V4_TUPLE), endpoints));
        sets.put(NftNames.STATELESS_REVERSE, new NftState.NftSet(NftNames.STATELESS_REVERSE, true, List.of(V4_TUPLE + " : verdict"), reverse));
        sets.putAll(tables);
        chains.put(NftNames.STATELESS_PREROUTING, new NftState.Chain(NftNames.STATELESS_PREROUTING,
                "type filter hook prerouting priority raw; policy accept;", List.of(
                "ip daddr . meta l4proto . th dport vmap @" + NftNames.STATELESS_FORWARD,
                "ip saddr . meta l4proto . th sport @" + NftNames.STATELESS_BACKENDS + " fib daddr type != local notrack")));
        chains.put(NftNames.STATELESS_POSTROUTING, new NftState.Chain(NftNames.STATELESS_POSTROUTING,
                "type filter hook postrouting priority srcnat; policy accept;", List.of(
                "ip saddr . meta l4proto . th sport vmap @" + NftNames.STATELESS_REVERSE)));
        chains.putAll(serviceChains);
        NftState.Chain fw = chains.get(NftNames.firewallChain("forward"));
        if (fw != null && fw.header().contains("policy drop")) {
            // Untracked packets are neither established nor new: without these the policy drops every one of them.
            List<String> rules = new ArrayList<>(fw.rules());
            int at = rules.indexOf("ct state invalid drop") + 1;
            rules.addAll(at, List.of(
                    "ct state untracked ip daddr . meta l4proto . th dport @" + NftNames.STATELESS_BACKENDS + " accept",
                    "ct state untracked ip saddr . meta l4proto . th sport @" + NftNames.STATELESS_BACKENDS + " accept"));
            chains.put(fw.name(), new NftState.Chain(fw.name(), fw.header(), rules));
        }
        return new NftState(state.counters(), sets, chains);
    }

    /** Each stateless service's maglev table in {@code state} (a rendered or a live table), as {@link MaglevTable#digest}s. */
    static Map<String, String> digests(NftState state) {
        Map<String, String> out = new TreeMap<>();
        for (String service : services(state)) {
            List<String> endpoints = endpointPerSlot(state, service);
            if (!endpoints.isEmpty()) out.put(service, MaglevTable.digest(endpoints));
        }
        return out;
    }

    /** The translation's lookups evaluated: each backend's exact share of the table's slots. */
    static List<NftServiceShares> explain(NftState state) {
        List<NftServiceShares> out = new ArrayList<>();
        NftState.NftSet fwd = state.sets().get(NftNames.STATELESS_FORWARD);
        if (fwd == null) return out;
        for (String e : fwd.elements()) {
            int i = e.indexOf(" : jump ");
            String service = NftNames.serviceOfStatelessChain(e.substring(i + 8)).orElseThrow();
            List<String> endpoints = endpointPerSlot(state, service);
            Map<String, Rational> shares = new LinkedHashMap<>();
            Map<String, Integer> count = new LinkedHashMap<>();
            for (String ep : endpoints) count.merge(ep, 1, Integer::sum);
            count.forEach((ep, n) -> shares.put(ep, Rational.of(n, endpoints.size())));
            out.add(new NftServiceShares(service, List.of(NftNames.STATELESS_FORWARD + " " + e.substring(0, i)),
                    NftServiceShares.Method.MAGLEV, false, endpoints.size(), shares, List.of()));
        }
        return out;
    }

    private static List<String> services(NftState state) {
        NftState.NftSet fwd = state.sets().get(NftNames.STATELESS_FORWARD);
        if (fwd == null) return List.of();
        List<String> out = new ArrayList<>();
        for (String e : fwd.elements()) {
            int i = e.indexOf(" : jump ");
            if (i >= 0) NftNames.serviceOfStatelessChain(e.substring(i + 8)).ifPresent(out::add);
        }
        return out;
    }

    /** "address:port" of each slot, from the address and port maps; empty when they disagree on the slots. */
    private static List<String> endpointPerSlot(NftState state, String service) {
        NftState.NftSet addrs = state.sets().get(NftNames.statelessAddressMap(service));
        NftState.NftSet ports = state.sets().get(NftNames.statelessPortMap(service));
        if (addrs == null || ports == null) return List.of();
        Map<Integer, String> a = bySlot(addrs);
        Map<Integer, String> p = bySlot(ports);
        List<String> out = new ArrayList<>(a.size());
        for (int i = 0; i < a.size(); i++) {
            if (!a.containsKey(i) || !p.containsKey(i)) return List.of();
            out.add(a.get(i) + ":" + p.get(i));
        }
        return out;
    }

    private static Map<Integer, String> bySlot(NftState.NftSet map) {
        Map<Integer, String> out = new TreeMap<>();
        for (String e : map.elements()) {
            String[] kv = e.split(" : ", 2);
            out.put(Integer.parseInt(kv[0].strip()), kv[1].strip());
        }
        return out;
    }
}
