package io.nflb.dataplane.nft;

import io.nflb.model.IpAddress;
import io.nflb.model.NeighbourKind;
import io.nflb.model.PortRange;
import io.nflb.model.Prefix;
import io.nflb.model.Protocol;
import io.nflb.plan.Neighbour;
import io.nflb.plan.Neighbourhood;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Recognises the neighbours among the nftables tables that are not nflb's, from {@code nft -j list table}:
 * Docker's {@code docker-bridges}, libvirt's {@code libvirt_network}, kube-proxy's {@code kube-proxy},
 * firewalld's {@code firewalld}, fail2ban's {@code f2b-table}, CrowdSec's and sshguard's, and reads what nflb
 * needs from their sets, maps and rules. Every other table is reported with its base chains. iptables-nft's
 * own tables are left to the iptables reader, which prints them in the form their rules were written in.
 */
public final class NftNeighbours {

    /** Tables iptables-nft (and ebtables-nft, arptables-nft) make: read through iptables-save, not here. */
    private static final Set<String> XTABLES = Set.of("ip filter", "ip nat", "ip mangle", "ip raw", "ip security",
            "ip6 filter", "ip6 nat", "ip6 mangle", "ip6 raw", "ip6 security", "arp filter", "bridge filter", "bridge nat", "bridge broute");

    private NftNeighbours() {
    }

    /** Whether {@code family name} is read here: neither nflb's table nor one of iptables-nft's. */
    static boolean foreign(String family, String name) {
        return !(family.equals(NftNames.FAMILY) && name.equals(NftNames.TABLE)) && !XTABLES.contains(family + " " + name);
    }

    /** What the listings (each one {@code nft -j list table} document) show of the neighbours. */
    public static Neighbourhood read(List<String> tablesJson) {
        Map<NeighbourKind, Neighbour.Builder> found = new EnumMap<>(NeighbourKind.class);
        List<Neighbourhood.Foreign> others = new ArrayList<>();
        for (String json : tablesJson) {
            Map<String, Table> listed;
            try {
                listed = tables(json);
            } catch (RuntimeException e) {
                // A listing this reader does not understand is reported, not fatal: nflb's own rules do not depend on it.
                others.add(new Neighbourhood.Foreign("a table", "its nft -j listing could not be read: " + e.getMessage(), false));
                continue;
            }
            for (Table t : listed.values()) {
                if (!foreign(t.family, t.name)) continue;
                Optional<NeighbourKind> kind = kind(t);
                if (kind.isEmpty()) {
                    others.add(new Neighbourhood.Foreign("table " + t.family + " " + t.name, t.baseChains(), t.filters()));
                    continue;
                }
                Neighbour.Builder b = found.computeIfAbsent(kind.get(), k -> Neighbour.builder(k, "nftables"));
                if (kind.get().hasMode()) b.evidence("table " + t.family + " " + t.name);
                switch (kind.get()) {
                    case DOCKER -> docker(t, b);
                    case LIBVIRT -> libvirt(t, b);
                    case KUBE_PROXY -> kubeProxy(t, b);
                    case FIREWALLD -> firewalld(t, b);
                    case FAIL2BAN, DENY_LIST -> denyList(t, b);
                    default -> {
                    }
                }
            }
        }
        List<Neighbour> out = new ArrayList<>();
        for (Neighbour.Builder b : found.values()) out.add(b.build());
        return Neighbourhood.of(out, others, Set.of(), List.of());
    }

    private static Optional<NeighbourKind> kind(Table t) {
        String n = t.name;
        if (n.equals("docker-bridges")) return Optional.of(NeighbourKind.DOCKER);
        if (n.equals("libvirt_network")) return Optional.of(NeighbourKind.LIBVIRT);
        if (n.equals("kube-proxy")) return Optional.of(NeighbourKind.KUBE_PROXY);
        if (n.equals("firewalld") || n.equals("firewalld_policy_drop")) return Optional.of(NeighbourKind.FIREWALLD);
        if (n.startsWith("f2b") || t.chains.keySet().stream().anyMatch(c -> c.startsWith("f2b-"))) return Optional.of(NeighbourKind.FAIL2BAN);
        if (n.startsWith("crowdsec") || n.equals("sshguard")) return Optional.of(NeighbourKind.DENY_LIST);
        return Optional.empty();
    }

    private static void docker(Table t, Neighbour.Builder b) {
        List<String> bridges = new ArrayList<>();
        for (Object key : t.elementKeys("filter-forward-in-jumps")) if (key instanceof String s) bridges.add(s);
        bridges.forEach(b::iface);
        for (var c : t.chains.entrySet()) {
            if (!c.getKey().startsWith("nat-postrouting-out__")) continue;
            for (Rule r : c.getValue().rules) {
                r.prefix("saddr", "==").ifPresent(p -> b.network(p, "table " + t.family + " " + t.name + " chain " + c.getKey() + " masquerade"));
            }
        }
        Chain dnat = t.chains.get("nat-prerouting-and-output");
        if (dnat != null) {
            for (Rule r : dnat.rules) {
                Optional<Map<?, ?>> to = r.statement("dnat");
                Optional<Protocol> proto = r.transportProtocol();
                Optional<PortRange> port = r.ports("dport", "==");
                if (to.isEmpty() || proto.isEmpty() || port.isEmpty()) continue;
                Optional<String> bridge = r.meta("iifname", "!=").filter(bridges::contains);
                b.published(new Neighbour.Port(proto.get(), port.get(), bridge,
                        "-> " + to.get().get("addr") + (to.get().get("port") == null ? "" : ":" + to.get().get("port"))
                                + " (table " + t.family + " " + t.name + ")"));
            }
        }
    }

    private static void libvirt(Table t, Neighbour.Builder b) {
        List<String> bridges = new ArrayList<>();
        for (String chain : List.of("guest_output", "guest_input", "guest_cross")) {
            Chain c = t.chains.get(chain);
            if (c == null) continue;
            for (Rule r : c.rules) {
                for (String key : List.of("iif", "oif", "iifname", "oifname")) r.meta(key, "==").filter(i -> !bridges.contains(i)).ifPresent(bridges::add);
            }
        }
        bridges.forEach(b::iface);
        Chain out = t.chains.get("guest_output");
        boolean v6 = false;
        if (out != null) {
            for (Rule r : out.rules) {
                Optional<Prefix> p = r.prefix("saddr", "==");
                if (p.isPresent() && r.verdict().equals("accept")) {
                    b.network(p.get(), "table " + t.family + " " + t.name + " chain guest_output");
                    v6 |= p.get().family() == IpAddress.Family.V6;
                }
            }
        }
        // libvirt writes no input accepts for nftables (another table's accept could not override a drop): its
        // dnsmasq listens for DHCP and DNS on each bridge, DHCPv6 where the network has IPv6.
        if (!bridges.isEmpty()) b.derived("DHCP and DNS on " + String.join(", ", bridges) + " assumed: libvirt's nftables rules show no input ports");
        for (String i : bridges) {
            if (t.family.equals("ip")) {
                for (Protocol p : Protocol.values()) {
                    b.service(new Neighbour.Port(p, PortRange.of(53), Optional.of(i), "(DNS, libvirt's dnsmasq)"));
                    b.service(new Neighbour.Port(p, PortRange.of(67), Optional.of(i), "(DHCP, libvirt's dnsmasq)"));
                }
            } else if (v6) {
                b.service(new Neighbour.Port(Protocol.UDP, PortRange.of(547), Optional.of(i), "(DHCPv6, libvirt's dnsmasq)"));
            }
        }
    }

    private static void kubeProxy(Table t, Neighbour.Builder b) {
        for (Object key : t.elementKeys("service-nodeports")) {
            if (!(key instanceof Map<?, ?> m) || !(m.get("concat") instanceof List<?> l) || l.size() != 2) continue;
            Optional<Protocol> proto = protocol(String.valueOf(l.get(0)));
            if (proto.isEmpty() || !(l.get(1) instanceof Long port) || port < 1 || port > 65535) continue;
            b.published(new Neighbour.Port(proto.get(), PortRange.of(port.intValue()), Optional.empty(),
                    "(table " + t.family + " " + t.name + " map service-nodeports)"));
        }
        Chain mark = t.chains.get("mark-for-masquerade");
        if (mark != null) {
            for (Rule r : mark.rules) {
                r.markOr().ifPresent(m -> {
                    b.mark(m);
                    b.derived("mark 0x" + Long.toHexString(m) + " from table " + t.family + " " + t.name + " chain mark-for-masquerade");
                });
            }
        }
        for (var c : t.chains.entrySet()) {
            for (Rule r : c.getValue().rules) {
                if (!"mark-for-masquerade".equals(r.jumpTarget())) continue;
                r.prefix("saddr", "!=").ifPresent(p -> b.network(p, "table " + t.family + " " + t.name + " chain "
                        + c.getKey() + " (saddr != " + p + ", kube-proxy's cluster CIDR)"));
            }
        }
    }

    private static void firewalld(Table t, Neighbour.Builder b) {
        if (t.name.equals("firewalld_policy_drop")) {
            b.note("table " + t.family + " " + t.name + " drops every new connection while firewalld reloads");
            return;
        }
        for (var c : t.chains.entrySet()) {
            if (!c.getKey().matches("filter_IN_.+_allow")) continue;
            for (Rule r : c.getValue().rules) {
                if (!r.verdict().equals("accept") || r.matches.size() != 1) continue;
                Optional<Protocol> proto = r.transportProtocol();
                if (proto.isEmpty()) continue;
                for (PortRange p : r.portSet("dport")) b.service(new Neighbour.Port(proto.get(), p, Optional.empty(), ""));
                b.derived("allowed ports from table " + t.family + " " + t.name + " chain " + c.getKey());
            }
        }
    }

    private static void denyList(Table t, Neighbour.Builder b) {
        long banned = 0;
        for (var s : t.sets.entrySet()) banned += s.getValue().size();
        b.evidence("table " + t.family + " " + t.name + ": " + t.baseChains() + ", " + banned + (banned == 1 ? " address" : " addresses") + " refused");
        b.derived("its base chain runs at its own priority and its drops are final: nflb's accepts cannot undo them");
    }

    private static Optional<Protocol> protocol(String name) {
        for (Protocol p : Protocol.values()) if (p.keyword().equals(name)) return Optional.of(p);
        return Optional.empty();
    }

    // ---- the JSON listing, as far as recognition needs it ----

    private static final class Table {
        final String family;
        final String name;
        final Map<String, Chain> chains = new LinkedHashMap<>();
        final Map<String, List<Object>> sets = new LinkedHashMap<>();

        Table(String family, String name) {
            this.family = family;
            this.name = name;
        }

        List<Object> elementKeys(String set) {
            List<Object> out = new ArrayList<>();
            for (Object e : sets.getOrDefault(set, List.of())) out.add(e instanceof List<?> pair && pair.size() == 2 ? pair.get(0) : e);
            return out;
        }

        String baseChains() {
            List<String> out = new ArrayList<>();
            for (Chain c : chains.values()) {
                if (c.hook != null) out.add("chain " + c.name + " hook " + c.hook + " priority " + c.prio + " policy " + c.policy);
            }
            return out.isEmpty() ? "no base chains" : String.join(", ", out);
        }

        /** A base chain at input or forward that drops: by policy, or by a rule that drops whatever reaches it. */
        boolean filters() {
            for (Chain c : chains.values()) {
                if (!"input".equals(c.hook) && !"forward".equals(c.hook)) continue;
                if ("drop".equals(c.policy)) return true;
                for (Rule r : c.rules) if (r.matches.isEmpty() && (r.verdict().equals("drop") || r.verdict().equals("reject"))) return true;
            }
            return false;
        }
    }

    private static final class Chain {
        final String name;
        String hook;
        Object prio;
        String policy;
        final List<Rule> rules = new ArrayList<>();

        Chain(String name) {
            this.name = name;
        }
    }

    /** A rule: its match expressions and its other statements, as nft -j gives them. */
    private record Rule(List<Map<?, ?>> matches, List<Map<?, ?>> statements) {

        static Rule of(List<?> expr) {
            List<Map<?, ?>> matches = new ArrayList<>();
            List<Map<?, ?>> statements = new ArrayList<>();
            for (Object e : expr) {
                if (!(e instanceof Map<?, ?> m)) continue;
                if (m.get("match") instanceof Map<?, ?> match) matches.add(match);
                else if (!m.containsKey("counter")) statements.add(m);
            }
            return new Rule(matches, statements);
        }

        String verdict() {
            for (Map<?, ?> s : statements) {
                for (String v : List.of("accept", "drop", "reject", "return", "jump", "goto")) if (s.containsKey(v)) return v;
            }
            return "";
        }

        String jumpTarget() {
            for (Map<?, ?> s : statements) {
                if (s.get("jump") instanceof Map<?, ?> j) return String.valueOf(j.get("target"));
            }
            return "";
        }

        Optional<Map<?, ?>> statement(String name) {
            for (Map<?, ?> s : statements) if (s.get(name) instanceof Map<?, ?> m) return Optional.of(m);
            return Optional.empty();
        }

        /** The right side of "meta KEY OP VALUE" when it is a name. */
        Optional<String> meta(String key, String op) {
            for (Map<?, ?> m : matches) {
                if (op.equals(m.get("op")) && m.get("left") instanceof Map<?, ?> l && l.get("meta") instanceof Map<?, ?> meta
                        && key.equals(meta.get("key")) && m.get("right") instanceof String s) {
                    return Optional.of(s);
                }
            }
            return Optional.empty();
        }

        /** "ip saddr OP PREFIX" or "ip6 ..." with a prefix or a single address on the right. */
        Optional<Prefix> prefix(String field, String op) {
            for (Map<?, ?> m : matches) {
                if (!op.equals(m.get("op")) || !(m.get("left") instanceof Map<?, ?> l) || !(l.get("payload") instanceof Map<?, ?> p)) continue;
                if (!field.equals(p.get("field")) || !("ip".equals(p.get("protocol")) || "ip6".equals(p.get("protocol")))) continue;
                Object r = m.get("right");
                if (r instanceof Map<?, ?> rm && rm.get("prefix") instanceof Map<?, ?> px && px.get("len") instanceof Long len) {
                    return Prefix.parse(px.get("addr") + "/" + len);
                }
                if (r instanceof String s) return Prefix.parse(s);
            }
            return Optional.empty();
        }

        /** The protocol of a "tcp dport" or "udp dport" match. */
        Optional<Protocol> transportProtocol() {
            for (Map<?, ?> m : matches) {
                if (m.get("left") instanceof Map<?, ?> l && l.get("payload") instanceof Map<?, ?> p && "dport".equals(p.get("field"))) {
                    Optional<Protocol> proto = protocol(String.valueOf(p.get("protocol")));
                    if (proto.isPresent()) return proto;
                }
            }
            return Optional.empty();
        }

        /** The port or range of "tcp dport OP N". */
        Optional<PortRange> ports(String field, String op) {
            for (Map<?, ?> m : matches) {
                if (op.equals(m.get("op")) && m.get("left") instanceof Map<?, ?> l && l.get("payload") instanceof Map<?, ?> p
                        && field.equals(p.get("field"))) {
                    return port(m.get("right"));
                }
            }
            return Optional.empty();
        }

        /** The ports of "tcp dport N", "tcp dport { N, M }" or "tcp dport N-M". */
        List<PortRange> portSet(String field) {
            List<PortRange> out = new ArrayList<>();
            for (Map<?, ?> m : matches) {
                if (!(m.get("left") instanceof Map<?, ?> l) || !(l.get("payload") instanceof Map<?, ?> p) || !field.equals(p.get("field"))) continue;
                Object r = m.get("right");
                List<?> items = r instanceof Map<?, ?> rm && rm.get("set") instanceof List<?> set ? set : List.of(r);
                for (Object i : items) port(i).ifPresent(out::add);
            }
            return out;
        }

        private static Optional<PortRange> port(Object o) {
            try {
                if (o instanceof Long n) return Optional.of(PortRange.of(n.intValue()));
                if (o instanceof Map<?, ?> m && m.get("range") instanceof List<?> r && r.size() == 2 && r.get(0) instanceof Long a && r.get(1) instanceof Long b) {
                    return Optional.of(new PortRange(a.intValue(), b.intValue()));
                }
            } catch (IllegalArgumentException e) {
                return Optional.empty();
            }
            return Optional.empty();
        }

        /** "mark set mark or M": kube-proxy's masquerade mark. */
        Optional<Long> markOr() {
            for (Map<?, ?> s : statements) {
                if (s.get("mangle") instanceof Map<?, ?> mg && mg.get("value") instanceof Map<?, ?> v && v.get("|") instanceof List<?> or
                        && or.size() == 2 && or.get(1) instanceof Long m) {
                    return Optional.of(m);
                }
            }
            return Optional.empty();
        }
    }

    private static Map<String, Table> tables(String json) {
        Map<String, Table> tables = new LinkedHashMap<>();
        if (!(NftJson.parse(json) instanceof Map<?, ?> root) || !(root.get("nftables") instanceof List<?> all)) return tables;
        for (Object o : all) {
            if (!(o instanceof Map<?, ?> m)) continue;
            for (String kind : List.of("table", "chain", "rule", "set", "map")) {
                if (!(m.get(kind) instanceof Map<?, ?> obj)) continue;
                String family = String.valueOf(obj.get("family"));
                String table = String.valueOf(kind.equals("table") ? obj.get("name") : obj.get("table"));
                Table t = tables.computeIfAbsent(family + " " + table, k -> new Table(family, table));
                switch (kind) {
                    case "chain" -> {
                        Chain c = t.chains.computeIfAbsent(String.valueOf(obj.get("name")), Chain::new);
                        if (obj.get("hook") != null) {
                            c.hook = String.valueOf(obj.get("hook"));
                            c.prio = obj.get("prio");
                            c.policy = String.valueOf(obj.get("policy"));
                        }
                    }
                    case "rule" -> {
                        if (obj.get("expr") instanceof List<?> expr) {
                            t.chains.computeIfAbsent(String.valueOf(obj.get("chain")), Chain::new).rules.add(Rule.of(expr));
                        }
                    }
                    case "set", "map" -> t.sets.put(String.valueOf(obj.get("name")),
                            obj.get("elem") instanceof List<?> elem ? new ArrayList<>(elem) : new ArrayList<>());
                    default -> {
                    }
                }
            }
        }
        return tables;
    }
}
