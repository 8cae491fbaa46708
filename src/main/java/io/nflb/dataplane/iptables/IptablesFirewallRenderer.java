package io.nflb.dataplane.iptables;

import io.nflb.dataplane.iptables.IptablesRuleset.Jump;
import io.nflb.model.Firewall;
import io.nflb.model.IpAddress.Family;
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
import java.util.List;
import java.util.Optional;

import static io.nflb.dataplane.iptables.IptablesDialect.quote;

/**
 * The filter-table half of nflb in iptables: the firewall: section's policy and the services' per-client
 * limits. The policy lives in nflb's own chains NFLB-INPUT/FORWARD/OUTPUT, jumped to at the top of the
 * built-in chains and ending in DROP; the built-in chains' own policies are never changed, so a flush
 * removes the firewall with the rest. Without a firewall: section only limits are added, and a config with
 * neither renders exactly what it did before.
 */
final class IptablesFirewallRenderer {

    static final String FIREWALL_COMMENT = "nflb firewall";
    static final String LIMITS_COMMENT = "nflb limits";

    /** Message types IPv4 needs to work (path MTU discovery, traceroute, errors): unreachable, time exceeded, parameter problem. */
    private static final List<Integer> ICMP4_ERRORS = List.of(3, 11, 12);
    /** RFC 4890: destination unreachable, packet too big, time exceeded, parameter problem. */
    private static final List<Integer> ICMP6_ERRORS = List.of(1, 2, 3, 4);
    /** Router and neighbour discovery (133..136): without them IPv6 has no neighbours at all. */
    private static final List<Integer> ICMP6_DISCOVERY = List.of(133, 134, 135, 136);

    private IptablesFirewallRenderer() {
    }

    /**
     * {@code services}: what {@link IptablesRenderer} made of the services; its filter table is rebuilt here.
     * Where a neighbour's FORWARD policy DROP is live and the firewall has no forward drop of its own to accept
     * nflb's traffic in, {@link IptablesNames#PASS} does.
     */
    static IptablesRuleset extend(Plan plan, Family family, IptablesRuleset services) {
        IptablesRuleset r = policy(plan, family, services);
        boolean ownForwardDrop = plan.firewall().map(f -> f.forward() == Firewall.Policy.DROP).orElse(false);
        if (ownForwardDrop || !plan.neighbours().forwardDrop().contains(family)) return r;
        Optional<IptablesRuleset.Table> pass = forwardPass(plan, family);
        if (pass.isEmpty()) return r;
        List<IptablesRuleset.Table> tables = new ArrayList<>();
        boolean merged = false;
        for (IptablesRuleset.Table t : r.tables()) {
            if (!t.name().equals("filter")) {
                tables.add(t);
                continue;
            }
            merged = true;
            List<String> chains = new ArrayList<>(t.chains());
            chains.addAll(pass.get().chains());
            List<Jump> jumps = new ArrayList<>(t.jumps());
            jumps.addAll(pass.get().jumps());
            List<String> rules = new ArrayList<>(t.rules());
            rules.addAll(pass.get().rules());
            tables.add(new IptablesRuleset.Table("filter", chains, jumps, rules));
        }
        if (!merged) tables.add(pass.get());
        return new IptablesRuleset(family, tables);
    }

    private static IptablesRuleset policy(Plan plan, Family family, IptablesRuleset services) {
        List<ServicePlan> limited = plan.services().stream()
                .filter(s -> s.service().limits().isPresent() && !s.rejects() && s.service().family() == family)
                .toList();
        if (plan.firewall().isEmpty() && limited.isEmpty()) return services;

        List<IptablesRuleset.Table> tables = new ArrayList<>();
        IptablesRuleset.Table oldFilter = null;
        for (IptablesRuleset.Table t : services.tables()) {
            if (t.name().equals("filter")) oldFilter = t;
            else tables.add(t);
        }
        boolean rejects = oldFilter != null;
        List<String> chains = new ArrayList<>();
        List<String> rules = new ArrayList<>();
        if (rejects) {
            chains.add(IptablesNames.REJECT);
            rules.addAll(oldFilter.rules());
        }
        if (!limited.isEmpty()) {
            chains.add(IptablesNames.LIMITS);
            // Only a connection's first packet is counted: the limits are on new connections, not on packets.
            rules.add("-A " + IptablesNames.LIMITS + " -m conntrack ! --ctstate NEW -j RETURN");
            for (ServicePlan s : limited) {
                String chain = IptablesNames.limits(s.name());
                chains.add(chain);
                rules.add("-A " + IptablesNames.LIMITS + balanced(s.service(), "limits") + " -j " + chain);
            }
            for (ServicePlan s : limited) rules.addAll(limitRules(s.service(), family));
        }
        List<Jump> jumps = new ArrayList<>();
        Optional<Firewall> fw = plan.firewall();
        NeighbourRules neighbours = NeighbourRules.of(plan);
        for (String hook : List.of("INPUT", "FORWARD", "OUTPUT")) {
            // A host firewall nflb defers to (firewall.neighbours.ufw: allow) is the only input policy.
            boolean drops = fw.isPresent() && policy(fw.get(), hook) == Firewall.Policy.DROP
                    && !(hook.equals("INPUT") && neighbours.deferInput());
            if (drops) {
                String chain = "NFLB-" + hook;
                chains.add(chain);
                jumps.add(new Jump(hook, "-m comment --comment " + quote(FIREWALL_COMMENT) + " -j " + chain));
                rules.addAll(policyChain(fw.get(), hook, chain, plan, family, rejects, !limited.isEmpty(), neighbours));
                if (hook.equals("FORWARD")) dockerUser(fw.get(), family, neighbours, chains, jumps, rules);
            } else if (!hook.equals("OUTPUT")) {
                // As without a firewall: services without backends are refused and limits hold either way.
                if (rejects) jumps.add(new Jump(hook, "-m comment --comment " + quote(IptablesRenderer.REJECT_COMMENT) + " -j " + IptablesNames.REJECT));
                if (!limited.isEmpty()) jumps.add(new Jump(hook, "-m comment --comment " + quote(LIMITS_COMMENT) + " -j " + IptablesNames.LIMITS));
            }
        }
        tables.add(new IptablesRuleset.Table("filter", chains, jumps, rules));
        return new IptablesRuleset(family, tables);
    }

    /** The peers' VRRP adverts and conntrackd's sync in, the router's own out: a pair must hear each other. */
    private static List<String> haRules(io.nflb.plan.HaTraffic ha, String hook, String a) {
        List<String> r = new ArrayList<>();
        String sync = " -p udp -m udp --dport " + io.nflb.plan.HaTraffic.SYNC_PORT + " -j ACCEPT";
        if (hook.equals("INPUT")) {
            if (ha.peers().isEmpty()) r.add(a + " -d " + io.nflb.plan.HaTraffic.VRRP_MULTICAST + "/32 -i " + ha.iface() + " -p vrrp -j ACCEPT");
            for (IpAddress p : ha.peers()) r.add(a + " -s " + p + "/32 -i " + ha.iface() + " -p vrrp -j ACCEPT");
            ha.syncIface().ifPresent(i -> r.add(a + " -s " + ha.syncPeer().orElseThrow() + "/32 -i " + i + sync));
        } else if (hook.equals("OUTPUT")) {
            r.add(a + " -o " + ha.iface() + " -p vrrp -j ACCEPT");
            ha.syncIface().ifPresent(i -> r.add(a + " -o " + i + sync));
        }
        return r;
    }

    /**
     * The pass through a live iptables FORWARD policy DROP: nflb's balanced services and its forward: entries
     * (with their replies), nothing else, and no drop of its own (nflb's policy is elsewhere, if any). Empty when
     * there is nothing of nflb's to let through.
     */
    static Optional<IptablesRuleset.Table> forwardPass(Plan plan, Family family) {
        IpAddress.Family af = family == Family.V4 ? IpAddress.Family.V4 : IpAddress.Family.V6;
        String a = "-A " + IptablesNames.PASS;
        List<String> r = new ArrayList<>();
        List<Firewall.Rule> forward = plan.firewall().filter(f -> f.forward() == Firewall.Policy.DROP)
                .map(Firewall::forwardRules).orElse(List.of()).stream().filter(x -> x.families().contains(af)).toList();
        if (!forward.isEmpty()) r.add(a + " -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");
        for (ServicePlan s : plan.services()) {
            if (s.service().family() == family && !s.rejects()) r.add(a + balanced(s.service(), "balanced") + " -j ACCEPT");
        }
        for (Firewall.Rule rule : forward) {
            for (Optional<Prefix> from : each(rule.from(af))) {
                for (Optional<Prefix> to : each(rule.to(af))) r.add(a + allowRule(rule, from, to, "ACCEPT"));
            }
        }
        if (r.isEmpty()) return Optional.empty();
        Jump jump = new Jump("FORWARD", "-m comment --comment " + quote("nflb pass") + " -j " + IptablesNames.PASS);
        return Optional.of(new IptablesRuleset.Table("filter", List.of(IptablesNames.PASS), List.of(jump), r));
    }

    private static Firewall.Policy policy(Firewall fw, String hook) {
        return switch (hook) {
            case "INPUT" -> fw.input();
            case "FORWARD" -> fw.forward();
            default -> fw.output();
        };
    }

    private static List<String> policyChain(Firewall fw, String hook, String chain, Plan plan, Family family,
                                            boolean rejects, boolean limits, NeighbourRules neighbours) {
        String a = "-A " + chain;
        boolean v4 = family == Family.V4;
        List<String> r = new ArrayList<>();
        if (!hook.equals("FORWARD")) r.add(a + (hook.equals("OUTPUT") ? " -o lo" : " -i lo") + " -j ACCEPT");
        r.add(a + " -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");
        // Neighbour discovery before the invalid check: its packets are never part of a connection.
        if (!v4 && !hook.equals("FORWARD")) {
            for (int t : ICMP6_DISCOVERY) r.add(a + " -p ipv6-icmp -m icmp6 --icmpv6-type " + t + " -j ACCEPT");
        }
        r.add(a + " -m conntrack --ctstate INVALID -j DROP");
        if (v4) plan.ha().ifPresent(ha -> r.addAll(haRules(ha, hook, a)));
        if (rejects && !hook.equals("OUTPUT")) r.add(a + " -j " + IptablesNames.REJECT);
        if (limits && !hook.equals("OUTPUT")) r.add(a + " -j " + IptablesNames.LIMITS);
        // Connections one of nflb's services balanced (the router's own ones too, in OUTPUT).
        for (ServicePlan s : plan.services()) {
            if (s.service().family() == family && !s.rejects()) {
                r.add(a + balanced(s.service(), "balanced") + " -j ACCEPT");
            }
        }
        if (hook.equals("OUTPUT")) {
            // The daemon's health checks are the router's own connections: down backends must stay reachable.
            for (io.nflb.model.Backend b : plan.probedEndpoints()) {
                if (b.address().family() != (v4 ? IpAddress.Family.V4 : IpAddress.Family.V6)) continue;
                r.add(a + " -d " + b.address() + (v4 ? "/32" : "/128") + " -p tcp -m comment --comment "
                        + quote("nflb health checks") + " -m tcp --dport " + b.port() + " -j ACCEPT");
            }
        }
        List<Integer> icmp = new ArrayList<>(v4 ? ICMP4_ERRORS : ICMP6_ERRORS);
        if (hook.equals("INPUT") && fw.ping()) icmp.add(v4 ? 8 : 128);
        for (int t : icmp) {
            r.add(a + (v4 ? " -p icmp -m icmp --icmp-type " : " -p ipv6-icmp -m icmp6 --icmpv6-type ") + t + " -j ACCEPT");
        }
        List<Firewall.Rule> allowed = hook.equals("INPUT") ? fw.allow() : hook.equals("FORWARD") ? fw.forwardRules() : List.of();
        IpAddress.Family af = v4 ? IpAddress.Family.V4 : IpAddress.Family.V6;
        // With a host firewall in restrict mode (both apply), nflb's allow passes a connection on to it instead of accepting it.
        String verdict = hook.equals("INPUT") && neighbours.allowsOnlyPass() ? "RETURN" : "ACCEPT";
        for (Firewall.Rule rule : allowed) {
            if (!rule.families().contains(af)) continue;
            for (Optional<Prefix> from : each(rule.from(af))) {
                for (Optional<Prefix> to : each(rule.to(af))) r.add(a + allowRule(rule, from, to, verdict));
            }
        }
        if (hook.equals("INPUT")) {
            for (NeighbourRules.Service s : neighbours.services()) {
                String proto = s.protocol().keyword();
                r.add(a + " -i " + s.iface() + " -p " + proto + " -m comment --comment " + quote(s.comment()) + " -m " + proto
                        + " --dport " + s.port().iptables() + " -j ACCEPT");
            }
        }
        if (hook.equals("FORWARD")) {
            for (NeighbourRules.Restriction x : neighbours.restricted()) {
                if (!x.userChain().contains(family)) r.addAll(restriction(fw, x, chain, family));
            }
            for (NeighbourRules.Pass p : neighbours.pass()) passRule(p, family).ifPresent(rule -> r.add(a + rule));
        }
        fw.logDrops().ifPresent(log -> r.add(a + " -m limit --limit " + log.rate().iptables()
                + " -j LOG --log-prefix " + quote(log.prefix())));
        r.add(a + " -m comment --comment " + quote("nflb policy " + hook.toLowerCase(java.util.Locale.ROOT) + " drop") + " -j DROP");
        return r;
    }

    /** One per address and port: two services may check the same backend. */

    /** One value each, or a single empty one when the rule does not restrict that side. */
    private static List<Optional<Prefix>> each(List<Prefix> prefixes) {
        if (prefixes.isEmpty()) return List.of(Optional.empty());
        return prefixes.stream().map(Optional::of).toList();
    }

    /**
     * Docker restrict mode where Docker writes iptables: the published ports' filter goes into Docker's
     * DOCKER-USER, the chain Docker reserves for its users and runs before its own accepts, through a chain of
     * nflb's jumped to first. Kept in NFLB-FORWARD instead, a dockerd restart that puts its jumps above nflb's
     * would open the published ports to everyone until nflb's next apply.
     */
    private static void dockerUser(Firewall fw, Family family, NeighbourRules neighbours, List<String> chains, List<Jump> jumps,
                                   List<String> rules) {
        List<String> r = new ArrayList<>();
        for (NeighbourRules.Restriction x : neighbours.restricted()) {
            if (x.userChain().contains(family)) r.addAll(restriction(fw, x, IptablesNames.DOCKER_USER, family));
        }
        if (r.isEmpty()) return;
        chains.add(IptablesNames.DOCKER_USER);
        jumps.add(new Jump(IptablesNames.DOCKER_USER_HOST, "-m comment --comment " + quote("nflb neighbours") + " -j " + IptablesNames.DOCKER_USER));
        rules.addAll(r);
    }

    /**
     * A published port or node port passes only where an allow entry covers it (returning to the neighbour's
     * own rules, which still decide); every other connection DNATed into the bridge, or from the node port, drops.
     */
    private static List<String> restriction(Firewall fw, NeighbourRules.Restriction x, String chain, Family family) {
        String a = "-A " + chain;
        IpAddress.Family af = family == Family.V4 ? IpAddress.Family.V4 : IpAddress.Family.V6;
        List<String> r = new ArrayList<>();
        for (Firewall.Rule rule : fw.allow()) {
            if (!rule.families().contains(af)) continue;
            if (x.nodePort().isPresent() && (rule.protocol() != x.nodePort().get().protocol()
                    || (!rule.ports().isEmpty() && rule.ports().stream().noneMatch(p -> p.contains(x.nodePort().get().port().first()))))) {
                continue;
            }
            List<Optional<PortRange>> ports = x.nodePort().isPresent() ? List.of(Optional.of(x.nodePort().get().port()))
                    : rule.ports().isEmpty() ? List.of(Optional.empty()) : rule.ports().stream().map(Optional::of).toList();
            for (Optional<Prefix> from : each(rule.from(af))) {
                for (Optional<Prefix> to : each(rule.to(af))) {
                    for (Optional<PortRange> port : ports) {
                        StringBuilder sb = new StringBuilder(a);
                        from.filter(p -> !p.isAny()).ifPresent(p -> sb.append(" -s ").append(p));
                        x.bridge().ifPresent(b -> sb.append(rule.iface().map(i -> " -i " + i).orElse(" ! -i " + b)).append(" -o ").append(b));
                        if (x.bridge().isEmpty()) rule.iface().ifPresent(i -> sb.append(" -i ").append(i));
                        sb.append(" -p ").append(rule.protocol().keyword()).append(" -m comment --comment ").append(quote("nflb " + rule.label()))
                                .append(" -m conntrack --ctstate DNAT");
                        to.filter(p -> !p.isAny()).ifPresent(p -> sb.append(" --ctorigdst ").append(hostless(p)));
                        port.ifPresent(p -> sb.append(" --ctorigdstport ").append(p.iptables()));
                        r.add(sb.append(" -j RETURN").toString());
                    }
                }
            }
        }
        StringBuilder drop = new StringBuilder(a);
        x.bridge().ifPresent(b -> drop.append(" ! -i ").append(b).append(" -o ").append(b));
        x.nodePort().ifPresent(p -> drop.append(" -p ").append(p.protocol().keyword()));
        drop.append(" -m comment --comment ").append(quote(x.comment())).append(" -m conntrack --ctstate DNAT");
        x.nodePort().ifPresent(p -> drop.append(" --ctorigdstport ").append(p.port().iptables()));
        r.add(drop.append(" -j DROP").toString());
        return r;
    }

    /** conntrack prints a host prefix as the bare address. */
    private static String hostless(Prefix p) {
        return p.length() == (p.family() == IpAddress.Family.V4 ? 32 : 128) ? p.network().toString() : p.toString();
    }

    /** A neighbour's forwarded traffic, returned to the chains after nflb's (the neighbour's own rules decide). */
    private static Optional<String> passRule(NeighbourRules.Pass p, Family family) {
        IpAddress.Family af = family == Family.V4 ? IpAddress.Family.V4 : IpAddress.Family.V6;
        if (p.source().map(x -> x.family() != af).orElse(false) || p.destination().map(x -> x.family() != af).orElse(false)) {
            return Optional.empty();
        }
        StringBuilder sb = new StringBuilder();
        p.source().ifPresent(x -> sb.append(" -s ").append(x));
        p.destination().ifPresent(x -> sb.append(" -d ").append(x));
        p.in().ifPresent(i -> sb.append(" -i ").append(i));
        p.out().ifPresent(o -> sb.append(" -o ").append(o));
        sb.append(" -m comment --comment ").append(quote(p.comment()));
        p.mark().ifPresent(m -> sb.append(" -m mark --mark 0x").append(Long.toHexString(m)).append("/0x").append(Long.toHexString(m)));
        return Optional.of(sb.append(" -j RETURN").toString());
    }

    private static String allowRule(Firewall.Rule rule, Optional<Prefix> from, Optional<Prefix> to, String verdict) {
        StringBuilder sb = new StringBuilder();
        // iptables-save leaves out a match on any address (0.0.0.0/0): so does nflb.
        from.filter(p -> !p.isAny()).ifPresent(p -> sb.append(" -s ").append(p));
        to.filter(p -> !p.isAny()).ifPresent(p -> sb.append(" -d ").append(p));
        rule.iface().ifPresent(i -> sb.append(" -i ").append(i));
        String proto = rule.protocol().keyword();
        sb.append(" -p ").append(proto).append(" -m comment --comment ").append(quote("nflb " + rule.label()));
        if (rule.ports().size() == 1) {
            sb.append(" -m ").append(proto).append(" --dport ").append(rule.ports().get(0).iptables());
        } else if (rule.ports().size() > 1) {
            sb.append(" -m multiport --dports ").append(String.join(",", rule.ports().stream().map(PortRange::iptables).toList()));
        }
        return sb.append(" -j ").append(verdict).toString();
    }

    /** Matches the connections this service DNATed: its protocol, original destination address (if any) and port. */
    private static String balanced(Service s, String what) {
        StringBuilder sb = new StringBuilder(" -p ").append(s.protocol().keyword())
                .append(" -m comment --comment ").append(quote(s.name() + " " + what))
                .append(" -m conntrack --ctstate DNAT");
        s.listen().address().ifPresent(a -> sb.append(" --ctorigdst ").append(a));
        return sb.append(" --ctorigdstport ").append(s.listen().port()).toString();
    }

    private static List<String> limitRules(Service s, Family family) {
        Limits l = s.limits().orElseThrow();
        String a = "-A " + IptablesNames.limits(s.name());
        String proto = " -p " + s.protocol().keyword();
        String verdict = verdict(l.action(), s.protocol(), family);
        List<String> r = new ArrayList<>();
        if (l.maxConnectionsPerSource() > 0) {
            r.add(a + proto + " -m comment --comment " + quote(s.name() + " max_connections_per_source")
                    + " -m connlimit --connlimit-above " + l.maxConnectionsPerSource()
                    + " --connlimit-mask " + (family == Family.V4 ? 32 : 128) + " --connlimit-saddr" + verdict);
        }
        l.perSourceRate().ifPresent(rate -> r.add(a + proto + " -m comment --comment " + quote(s.name() + " per_source_rate")
                + " -m hashlimit --hashlimit-above " + rate.iptables() + " --hashlimit-burst " + l.burst()
                + " --hashlimit-mode srcip --hashlimit-name " + IptablesNames.hashlimit(s.name()) + verdict));
        return r;
    }

    private static String verdict(Limits.Action action, Protocol protocol, Family family) {
        if (action == Limits.Action.DROP) return " -j DROP";
        if (protocol == Protocol.TCP) return " -j REJECT --reject-with tcp-reset";
        return " -j REJECT --reject-with " + (family == Family.V4 ? "icmp-port-unreachable" : "icmp6-port-unreachable");
    }
}
