package io.nflb.config;

import static io.nflb.config.ConfigSchema.MAX_PORTS;
import static io.nflb.config.ConfigSchema.MAX_PREFIXES;
import static io.nflb.config.ConfigSchema.MAX_RULES;

import io.nflb.model.Firewall;
import io.nflb.model.IpAddress;
import io.nflb.model.Limits;
import io.nflb.model.NeighbourKind;
import io.nflb.model.NeighbourModes;
import io.nflb.model.PortRange;
import io.nflb.model.Prefix;
import io.nflb.model.Protocol;
import io.nflb.model.Rate;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/** The {@code firewall:} section and a service's {@code limits:}, bound like the rest of nflb.yaml. */
final class FirewallBinder {


    private final Problems problems;

    FirewallBinder(Problems problems) {
        this.problems = problems;
    }

    Optional<Firewall> firewall(YamlNode node) {
        return node.mapping(ConfigSchema.FIREWALL).flatMap(m -> {
            int mark = problems.mark();
            Firewall d = Firewall.defaults();
            Optional<Firewall.Policy[]> policy = m.optional("policy", new Firewall.Policy[]{d.input(), d.forward(), d.output()},
                    n -> n.mapping(ConfigSchema.POLICY).flatMap(p -> {
                        int pm = problems.mark();
                        Optional<Firewall.Policy> in = p.orDefault("input", FirewallBinder::policy);
                        Optional<Firewall.Policy> fw = p.orDefault("forward", FirewallBinder::policy);
                        Optional<Firewall.Policy> out = p.orDefault("output", FirewallBinder::policy);
                        return problems.buildIfNoneSince(pm, () -> new Firewall.Policy[]{in.get(), fw.get(), out.get()});
                    }));
            Optional<Boolean> ping = m.orDefault("ping", YamlNode::bool);
            Optional<List<Firewall.Rule>> allow = m.optional("allow", List.of(), n -> rules(n, "allow"));
            Optional<List<Firewall.Rule>> forward = m.optional("forward", List.of(), n -> rules(n, "forward"));
            Optional<Firewall.LogDrops> log = m.optional("log_drops", FirewallBinder::logDrops);
            Optional<NeighbourModes> neighbours = m.optional("neighbours", NeighbourModes.defaults(), this::neighbours);
            return problems.buildIfNoneSince(mark, () -> new Firewall(policy.get()[0], policy.get()[1], policy.get()[2],
                    ping.get(), allow.get(), forward.get(), log, neighbours.get()));
        });
    }

    /** {@code neighbours: {docker: restrict, kube-proxy: {mode: allow, networks: [10.244.0.0/16]}}}. */
    private Optional<NeighbourModes> neighbours(YamlNode node) {
        return node.mapping(ConfigSchema.NEIGHBOURS).flatMap(m -> {
            int mark = problems.mark();
            Map<NeighbourKind, NeighbourModes.Setting> settings = new EnumMap<>(NeighbourKind.class);
            m.get(NeighbourKind.FAIL2BAN.keyword()).ifPresent(n -> n.error("fail2ban has no mode"
                    + (n.found().equals("a string") ? ", not '" + n.string().orElse("") + "'" : "")
                    + ": nflb always keeps its INPUT accepts below fail2ban's bans; expected the key left out"));
            for (NeighbourKind kind : NeighbourKind.configurable()) {
                // Written as its default, a neighbour binds as if left out: the default is what leaving it out means.
                m.optional(kind.keyword(), n -> neighbour(n, kind)).filter(s -> !isDefault(kind, s))
                        .ifPresent(s -> settings.put(kind, s));
            }
            return problems.buildIfNoneSince(mark, () -> new NeighbourModes(settings));
        });
    }

    private static boolean isDefault(NeighbourKind kind, NeighbourModes.Setting s) {
        return s.mode() == NeighbourModes.defaultMode(kind) && s.interfaces().isEmpty() && s.networks().isEmpty();
    }

    /** A mode alone ("restrict"), or {mode, interfaces, networks}. */
    private Optional<NeighbourModes.Setting> neighbour(YamlNode node, NeighbourKind kind) {
        if (!node.found().equals("a mapping")) {
            return mode(node, kind).map(mode -> new NeighbourModes.Setting(mode, List.of(), List.of(), true));
        }
        return node.mapping(kind == NeighbourKind.OTHER ? ConfigSchema.OTHER_NEIGHBOUR : ConfigSchema.NEIGHBOUR).flatMap(m -> {
            int mark = problems.mark();
            Optional<NeighbourModes.Mode> mode = m.optional("mode", NeighbourModes.defaultMode(kind), n -> mode(n, kind));
            Optional<List<String>> interfaces = m.optional("interfaces", List.of(), n -> managed(n, kind, "interfaces", this::interfaces));
            Optional<List<Prefix>> networks = m.optional("networks", List.of(), n -> managed(n, kind, "networks", this::prefixes));
            return problems.buildIfNoneSince(mark, () -> new NeighbourModes.Setting(mode.get(), interfaces.get(), networks.get(), true));
        });
    }

    private static Optional<NeighbourModes.Mode> mode(YamlNode node, NeighbourKind kind) {
        // Unrecognised neighbours publish nothing nflb could restrict to: they are let through or not.
        List<NeighbourModes.Mode> modes = kind == NeighbourKind.OTHER
                ? List.of(NeighbourModes.Mode.ALLOW, NeighbourModes.Mode.IGNORE) : List.of(NeighbourModes.Mode.values());
        return node.keyword(kind.keyword() + " mode", modes, NeighbourModes.Mode::keyword);
    }

    /** interfaces/networks only where the neighbour runs networks of its own. */
    private static <T> Optional<List<T>> managed(YamlNode node, NeighbourKind kind, String key, Function<YamlNode, Optional<List<T>>> bind) {
        if (!kind.managesNetworks()) {
            node.error(kind.keyword() + " manages no networks of its own; '" + key + "' applies to docker, libvirt, kube-proxy and other; expected the key left out");
            return Optional.empty();
        }
        return bind.apply(node);
    }

    private Optional<List<String>> interfaces(YamlNode node) {
        Optional<List<YamlNode>> items = node.found().equals("a sequence") ? node.sequence() : Optional.of(List.of(node));
        return items.flatMap(list -> {
            if (list.isEmpty() || list.size() > ConfigSchema.MAX_NEIGHBOUR_ITEMS) {
                node.error("expected 1 to " + ConfigSchema.MAX_NEIGHBOUR_ITEMS + " interface names; leave the key out to use what nflb recognises");
                return Optional.empty();
            }
            int mark = problems.mark();
            List<String> out = new ArrayList<>();
            for (YamlNode item : list) ConfigBinder.interfaceName(item).ifPresent(i -> {
                if (out.contains(i)) item.error("interface " + i + " is listed twice");
                out.add(i);
            });
            return problems.buildIfNoneSince(mark, () -> out);
        });
    }

    private static Optional<Firewall.Policy> policy(YamlNode n) {
        return n.keyword("policy", List.of(Firewall.Policy.values()), Firewall.Policy::keyword);
    }

    private Optional<List<Firewall.Rule>> rules(YamlNode node, String kind) {
        return node.sequence().flatMap(items -> {
            if (items.size() > MAX_RULES) {
                node.error("too many " + kind + " rules: " + items.size() + "; at most " + MAX_RULES);
                return Optional.empty();
            }
            int mark = problems.mark();
            List<Firewall.Rule> rules = new ArrayList<>();
            for (int i = 0; i < items.size(); i++) rule(items.get(i), kind + " " + (i + 1)).ifPresent(rules::add);
            return problems.buildIfNoneSince(mark, () -> rules);
        });
    }

    private Optional<Firewall.Rule> rule(YamlNode node, String label) {
        return node.mapping(label.split(" ")[0] + " rule", ConfigSchema.RULE).flatMap(m -> {
            int mark = problems.mark();
            Optional<Protocol> protocol = m.orDefault("protocol",
                    n -> n.keyword("protocol", List.of(Protocol.values()), Protocol::keyword));
            Optional<List<PortRange>> ports = m.optional("ports", List.of(), this::ports);
            Optional<List<Prefix>> from = m.optional("from", List.of(), this::prefixes);
            Optional<List<Prefix>> to = m.optional("to", List.of(), this::prefixes);
            Optional<String> iface = m.optional("interface", ConfigBinder::interfaceName);
            if (from.isPresent() && to.isPresent() && !from.get().isEmpty() && !to.get().isEmpty()) {
                Set<IpAddress.Family> f = families(from.get());
                f.retainAll(families(to.get()));
                if (f.isEmpty()) {
                    m.get("to").orElseThrow().error(label + ": 'from' and 'to' share no address family ('from' is "
                            + names(families(from.get())) + ", 'to' is " + names(families(to.get())) + ")");
                }
            }
            return problems.buildIfNoneSince(mark, () -> new Firewall.Rule(label, protocol.get(), ports.get(),
                    from.get(), to.get(), iface));
        });
    }

    /** [22, 443, "8000-8100"] or a single port. */
    private Optional<List<PortRange>> ports(YamlNode node) {
        Optional<List<YamlNode>> items = node.found().equals("a sequence") ? node.sequence() : Optional.of(List.of(node));
        return items.flatMap(list -> {
            if (list.isEmpty()) {
                node.error("expected at least one port; leave 'ports' out to match any port");
                return Optional.empty();
            }
            int mark = problems.mark();
            List<PortRange> out = new ArrayList<>();
            int slots = 0;
            for (YamlNode item : list) {
                Optional<PortRange> r = port(item);
                if (r.isEmpty()) continue;
                if (out.contains(r.get())) item.error("port " + r.get().nft() + " is listed twice");
                out.add(r.get());
                slots += r.get().first() == r.get().last() ? 1 : 2;
            }
            if (slots > MAX_PORTS) node.error("too many ports: " + slots + " (a range counts 2); at most " + MAX_PORTS + " per rule");
            return problems.buildIfNoneSince(mark, () -> out);
        });
    }

    private static Optional<PortRange> port(YamlNode item) {
        if (item.found().equals("an integer")) return item.integer("port", ConfigSchema.PORT.min(), ConfigSchema.PORT.max()).map(PortRange::of);
        return item.string().flatMap(text -> {
            String[] p = text.split("-", -1);
            if (p.length == 2 && p[0].matches("[0-9]{1,5}") && p[1].matches("[0-9]{1,5}")) {
                int a = Integer.parseInt(p[0]), b = Integer.parseInt(p[1]);
                if (a >= 1 && b <= 65535 && a < b) return Optional.of(new PortRange(a, b));
            }
            item.error("'" + text + "' is not a port or port range; expected 1..65535 or a range such as 8000-8100");
            return Optional.empty();
        });
    }

    private Optional<List<Prefix>> prefixes(YamlNode node) {
        Optional<List<YamlNode>> items = node.found().equals("a sequence") ? node.sequence() : Optional.of(List.of(node));
        return items.flatMap(list -> {
            if (list.isEmpty()) {
                node.error("expected at least one address or prefix; leave the key out to match any address");
                return Optional.empty();
            }
            if (list.size() > MAX_PREFIXES) {
                node.error("too many prefixes: " + list.size() + "; at most " + MAX_PREFIXES + " per rule");
                return Optional.empty();
            }
            int mark = problems.mark();
            List<Prefix> out = new ArrayList<>();
            for (YamlNode item : list) prefix(item).ifPresent(p -> {
                if (out.contains(p)) item.error(p + " is listed twice");
                out.add(p);
            });
            return problems.buildIfNoneSince(mark, () -> out);
        });
    }

    private static Optional<Prefix> prefix(YamlNode item) {
        return item.string().flatMap(text -> {
            Optional<Prefix.Unchecked> u = Prefix.parseUnchecked(text);
            if (u.isEmpty()) {
                item.error("'" + text + "' is not an IPv4 or IPv6 address or prefix such as 10.0.0.0/8 or 2001:db8::/32");
                return Optional.empty();
            }
            if (!u.get().canonical()) {
                item.error("'" + text + "' has host bits set; did you mean " + u.get().meant() + "?");
                return Optional.empty();
            }
            return Optional.of(u.get().meant());
        });
    }

    private static Optional<Firewall.LogDrops> logDrops(YamlNode node) {
        return node.mapping(ConfigSchema.LOG_DROPS).flatMap(m -> {
            Optional<String> prefix = m.orDefault("prefix", n -> n.string().filter(p -> {
                if (!p.isEmpty() && p.length() <= Firewall.LogDrops.MAX_PREFIX
                        && p.chars().allMatch(c -> c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '\'' && c != '$')) {
                    return true;
                }
                n.error("log prefix must be 1 to " + Firewall.LogDrops.MAX_PREFIX + " printable ASCII characters without quotes, backslashes or '$' (nft reads $ as a variable)");
                return false;
            }));
            Optional<Rate> rate = m.orDefault("rate", FirewallBinder::rate);
            if (prefix.isEmpty() || rate.isEmpty()) return Optional.empty();
            return Optional.of(new Firewall.LogDrops(prefix.get(), rate.get()));
        });
    }

    private static Optional<Rate> rate(YamlNode n) {
        return n.string().flatMap(text -> {
            Optional<Rate> r = Rate.parse(text);
            if (r.isEmpty()) n.error("'" + text + "' is not a rate; expected a count of 1.." + Rate.MAX_COUNT + " per s, m or h, such as 50/s");
            return r;
        });
    }

    static Optional<Limits> limits(YamlNode node) {
        return node.mapping(ConfigSchema.LIMITS).flatMap(m -> {
            Optional<Rate> rate = m.optional("per_source_rate", n -> rate(n).filter(r -> {
                // hashlimit prints other units back with an extra option nflb would have to mirror exactly.
                if (r.unit() == Rate.Unit.SECOND) return true;
                n.error("per_source_rate must be a whole count per second, such as 50/s; found " + r);
                return false;
            }));
            Optional<Integer> burst = m.optional("burst", YamlNode::integer);
            Optional<Integer> conns = m.optional("max_connections_per_source", 0, YamlNode::integer);
            Optional<Limits.Action> action = m.orDefault("action",
                    n -> n.keyword("action", List.of(Limits.Action.values()), Limits.Action::keyword));
            boolean rateGiven = m.get("per_source_rate").isPresent();
            if (!rateGiven && m.get("max_connections_per_source").isEmpty()) {
                m.node().error("limits needs 'per_source_rate' or 'max_connections_per_source'");
                return Optional.empty();
            }
            if (!rateGiven && m.get("burst").isPresent()) {
                m.get("burst").get().error("'burst' applies only with 'per_source_rate'");
                return Optional.empty();
            }
            if ((rateGiven && rate.isEmpty()) || (m.get("burst").isPresent() && burst.isEmpty()) || conns.isEmpty() || action.isEmpty()) {
                return Optional.empty();
            }
            // Without a burst, a client may open one second's worth at once.
            int b = burst.orElse(rate.map(r -> (int) Math.min(r.count(), Limits.MAX_BURST)).orElse(1));
            return Optional.of(new Limits(rate, b, conns.get(), action.get()));
        });
    }

    private static Set<IpAddress.Family> families(List<Prefix> prefixes) {
        Set<IpAddress.Family> out = new java.util.HashSet<>();
        for (Prefix p : prefixes) out.add(p.family());
        return out;
    }

    private static String names(Set<IpAddress.Family> f) {
        return f.size() == 2 ? "IPv4 and IPv6" : f.contains(IpAddress.Family.V4) ? "IPv4 only" : "IPv6 only";
    }
}
