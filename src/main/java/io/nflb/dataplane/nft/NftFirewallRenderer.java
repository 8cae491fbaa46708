package io.nflb.dataplane.nft;

import io.nflb.model.Firewall;
import io.nflb.model.IpAddress;
import io.nflb.model.Limits;
import io.nflb.model.PortRange;
import io.nflb.model.Prefix;
import io.nflb.model.Protocol;
import io.nflb.model.Service;
import io.nflb.plan.NeighbourRules;
import io.nflb.plan.Plan;
import io.nflb.plan.ServicePlan;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The filter half of table inet nflb: the firewall: section's policy as base chains with hook filter and
 * that policy, and the services' per-client limits as dynamic sets. A packet must be accepted by every base
 * chain on its hook, so nflb's drop policy holds whatever other tables say, and deleting the table (flush)
 * removes it. Without a firewall: section and limits nothing is added. Rules are written as nft 1.0.6 lists them.
 */
final class NftFirewallRenderer {

    private static final String ICMP4_ERRORS = "destination-unreachable, time-exceeded, parameter-problem";
    private static final String ICMP4_WITH_PING = "destination-unreachable, echo-request, time-exceeded, parameter-problem";
    private static final String ICMP6_ERRORS = "destination-unreachable, packet-too-big, time-exceeded, parameter-problem";
    private static final String ICMP6_WITH_PING = ICMP6_ERRORS + ", echo-request";
    private static final String ICMP6_DISCOVERY = "nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert";
    /** nft leaves a limit's burst out of its listing when it is the default. */
    private static final int NFT_DEFAULT_BURST = 5;

    private NftFirewallRenderer() {
    }

    static NftState extend(Plan plan, NftState services) {
        NftState filter = objects(plan);
        if (filter.sets().isEmpty() && filter.chains().isEmpty()) return services;
        Map<String, NftState.NftSet> sets = new LinkedHashMap<>(services.sets());
        sets.putAll(filter.sets());
        Map<String, NftState.Chain> chains = new LinkedHashMap<>(services.chains());
        chains.putAll(filter.chains());
        return new NftState(services.counters(), sets, chains);
    }

    /** The firewall's own sets and chains (none without a firewall: section and limits), in the order they are listed. */
    static NftState objects(Plan plan) {
        List<ServicePlan> limited = plan.services().stream()
                .filter(s -> s.service().limits().isPresent() && !s.rejects()).sorted(java.util.Comparator.comparing(ServicePlan::name)).toList();
        Optional<Firewall> fw = plan.firewall();
        Map<String, NftState.NftSet> sets = new LinkedHashMap<>();
        Map<String, NftState.Chain> chains = new LinkedHashMap<>();
        if (fw.isEmpty() && limited.isEmpty()) return new NftState(Map.of(), sets, chains);
        if (!limited.isEmpty()) {
            List<String> dispatch = new ArrayList<>(List.of("ct state != new return"));
            for (ServicePlan s : limited) {
                String chain = NftNames.limitChain(s.name());
                dispatch.add(balanced(s) + " jump " + chain);
                chains.put(chain, new NftState.Chain(chain, "", limitRules(s.service(), v6(s), sets)));
            }
            chains.put(NftNames.LIMITS, new NftState.Chain(NftNames.LIMITS, "", dispatch));
        }
        NeighbourRules neighbours = NeighbourRules.of(plan);
        for (String hook : List.of("input", "forward", "output")) {
            String name = NftNames.firewallChain(hook);
            // A host firewall nflb defers to (firewall.neighbours.ufw: allow) is the only input policy.
            boolean drops = fw.isPresent() && policy(fw.get(), hook) == Firewall.Policy.DROP
                    && !(hook.equals("input") && neighbours.deferInput());
            String header = "type filter hook " + hook + " priority filter; policy " + (drops ? "drop" : "accept") + ";";
            if (drops) {
                List<String> rules = policyRules(fw.get(), hook, plan, !limited.isEmpty());
                // Before the log rule, if any: nflb logs only what it drops.
                int end = fw.get().logDrops().isPresent() ? rules.size() - 1 : rules.size();
                rules.addAll(end, NftNeighbourRules.rules(fw.get(), hook, neighbours));
                chains.put(name, new NftState.Chain(name, header, rules));
            } else if (!limited.isEmpty() && !hook.equals("output")) {
                chains.put(name, new NftState.Chain(name, header, List.of("jump " + NftNames.LIMITS)));
            }
        }
        return new NftState(Map.of(), sets, chains);
    }

    private static Firewall.Policy policy(Firewall fw, String hook) {
        return switch (hook) {
            case "input" -> fw.input();
            case "forward" -> fw.forward();
            default -> fw.output();
        };
    }

    private static List<String> policyRules(Firewall fw, String hook, Plan plan, boolean limits) {
        List<String> r = new ArrayList<>();
        if (!hook.equals("forward")) r.add(hook.equals("output") ? "oif \"lo\" accept" : "iif \"lo\" accept");
        r.add("ct state established,related accept");
        // Neighbour discovery before the invalid check: its packets are never part of a connection.
        if (!hook.equals("forward")) r.add("icmpv6 type { " + ICMP6_DISCOVERY + " } accept");
        r.add("ct state invalid drop");
        plan.ha().ifPresent(ha -> r.addAll(haRules(ha, hook)));
        if (limits && !hook.equals("output")) r.add("jump " + NftNames.LIMITS);
        List<ServicePlan> services = new ArrayList<>(plan.services());
        services.sort(java.util.Comparator.comparing(ServicePlan::name));
        for (ServicePlan s : services) {
            if (!s.rejects()) r.add(balanced(s) + " accept");
        }
        if (hook.equals("output")) {
            // The daemon's health checks are the router's own connections: down backends must stay reachable.
            for (io.nflb.model.Backend b : plan.probedEndpoints()) {
                r.add((b.address().family() == IpAddress.Family.V4 ? "ip" : "ip6") + " daddr " + b.address() + " tcp dport " + b.port() + " accept");
            }
        }
        boolean ping = hook.equals("input") && fw.ping();
        r.add("icmp type { " + (ping ? ICMP4_WITH_PING : ICMP4_ERRORS) + " } accept");
        r.add("icmpv6 type { " + (ping ? ICMP6_WITH_PING : ICMP6_ERRORS) + " } accept");
        List<Firewall.Rule> allowed = hook.equals("input") ? fw.allow() : hook.equals("forward") ? fw.forwardRules() : List.of();
        for (Firewall.Rule rule : allowed) {
            for (IpAddress.Family f : List.of(IpAddress.Family.V4, IpAddress.Family.V6)) {
                if (!rule.families().contains(f)) continue;
                // A rule without addresses serves both families at once; one with addresses, its own.
                if (rule.from().isEmpty() && rule.to().isEmpty() && f == IpAddress.Family.V6) continue;
                boolean both = rule.from().isEmpty() && rule.to().isEmpty();
                for (Optional<Prefix> from : each(rule.from(f))) {
                    for (Optional<Prefix> to : each(rule.to(f))) r.add(allowRule(rule, f, both, from, to));
                }
            }
        }
        fw.logDrops().ifPresent(log -> r.add("limit rate " + log.rate().nft() + " log prefix \"" + log.prefix() + "\""));
        return r;
    }

    /** The peers' VRRP adverts and conntrackd's sync in, the router's own out: a pair must hear each other. */
    private static List<String> haRules(io.nflb.plan.HaTraffic ha, String hook) {
        List<String> r = new ArrayList<>();
        String vrrp = " ip protocol vrrp accept";
        String sync = " udp dport " + io.nflb.plan.HaTraffic.SYNC_PORT + " accept";
        if (hook.equals("input")) {
            String from = ha.peers().isEmpty() ? " ip daddr " + io.nflb.plan.HaTraffic.VRRP_MULTICAST
                    : ha.peers().size() == 1 ? " ip saddr " + ha.peers().get(0)
                    : " ip saddr { " + String.join(", ", ha.peers().stream().map(Object::toString).toList()) + " }";
            r.add("iifname " + ifname(ha.iface()) + from + vrrp);
            if (ha.syncIface().isPresent()) r.add("iifname " + ifname(ha.syncIface().get()) + " ip saddr " + ha.syncPeer().orElseThrow() + sync);
        } else if (hook.equals("output")) {
            r.add("oifname " + ifname(ha.iface()) + vrrp);
            ha.syncIface().ifPresent(i -> r.add("oifname " + ifname(i) + sync));
        }
        return r;
    }

    static List<Optional<Prefix>> each(List<Prefix> prefixes) {
        if (prefixes.isEmpty()) return List.of(Optional.empty());
        return prefixes.stream().map(Optional::of).toList();
    }

    private static String allowRule(Firewall.Rule rule, IpAddress.Family f, boolean bothFamilies,
                                    Optional<Prefix> from, Optional<Prefix> to) {
        StringBuilder sb = new StringBuilder();
        rule.iface().ifPresent(i -> sb.append("iifname ").append(ifname(i)).append(' '));
        String ip = f == IpAddress.Family.V4 ? "ip" : "ip6";
        boolean addressed = false;
        if (from.isPresent() && !from.get().isAny()) {
            sb.append(ip).append(" saddr ").append(nft(from.get())).append(' ');
            addressed = true;
        }
        if (to.isPresent() && !to.get().isAny()) {
            sb.append(ip).append(" daddr ").append(nft(to.get())).append(' ');
            addressed = true;
        }
        // 0.0.0.0/0 still means IPv4 only.
        if (!addressed && !bothFamilies) sb.append("meta nfproto ").append(f == IpAddress.Family.V4 ? "ipv4" : "ipv6").append(' ');
        String proto = rule.protocol().keyword();
        if (rule.ports().isEmpty()) {
            sb.append("meta l4proto ").append(proto);
        } else if (rule.ports().size() == 1) {
            sb.append(proto).append(" dport ").append(rule.ports().get(0).nft());
        } else {
            sb.append(proto).append(" dport { ").append(String.join(", ", rule.ports().stream()
                    .sorted(java.util.Comparator.comparingInt(PortRange::first)).map(PortRange::nft).toList())).append(" }");
        }
        return sb.append(" accept").toString();
    }

    /** nft lists a host prefix as the bare address. */
    static String nft(Prefix p) {
        return p.length() == (p.family() == IpAddress.Family.V4 ? 32 : 128) ? p.network().toString() : p.toString();
    }

    /** The connections this service DNATed: its protocol, original destination address (if any) and port. */
    private static String balanced(ServicePlan s) {
        Service svc = s.service();
        StringBuilder sb = new StringBuilder("meta l4proto ").append(svc.protocol().keyword()).append(" ct status dnat");
        svc.listen().address().ifPresent(a -> sb.append(" ct original ").append(a.family() == IpAddress.Family.V4 ? "ip" : "ip6")
                .append(" daddr ").append(a));
        return sb.append(" ct original proto-dst ").append(svc.listen().port()).toString();
    }

    private static List<String> limitRules(Service s, boolean v6, Map<String, NftState.NftSet> sets) {
        Limits l = s.limits().orElseThrow();
        String type = v6 ? "type ipv6_addr" : "type ipv4_addr";
        String saddr = v6 ? "ip6 saddr" : "ip saddr";
        String proto = "meta l4proto " + s.protocol().keyword();
        String verdict = verdict(l.action(), s.protocol(), v6);
        List<String> r = new ArrayList<>();
        if (l.maxConnectionsPerSource() > 0) {
            String set = NftNames.connectionsSet(s.name());
            sets.put(set, new NftState.NftSet(set, false, List.of(type, "size 65535", "flags dynamic"), List.of()));
            r.add(proto + " add @" + set + " { " + saddr + " ct count over " + l.maxConnectionsPerSource() + " }" + verdict);
        }
        l.perSourceRate().ifPresent(rate -> {
            String set = NftNames.rateSet(s.name());
            // An idle client's entry expires; a minute is far longer than any burst lasts.
            sets.put(set, new NftState.NftSet(set, false, List.of(type, "size 65535", "flags dynamic,timeout", "timeout 1m"), List.of()));
            r.add(proto + " add @" + set + " { " + saddr + " limit rate over " + rate.nft()
                    + (l.burst() == NFT_DEFAULT_BURST ? "" : " burst " + l.burst() + " packets") + " }" + verdict);
        });
        return r;
    }

    private static String verdict(Limits.Action action, Protocol protocol, boolean v6) {
        if (action == Limits.Action.DROP) return " drop";
        if (protocol == Protocol.TCP) return " reject with tcp reset";
        return v6 ? " reject with icmpv6 port-unreachable" : " reject with icmp port-unreachable";
    }

    private static boolean v6(ServicePlan s) {
        return s.service().family() == IpAddress.Family.V6;
    }

    static String ifname(String iface) {
        return "\"" + (iface.endsWith("+") ? iface.substring(0, iface.length() - 1) + "*" : iface) + "\"";
    }
}
