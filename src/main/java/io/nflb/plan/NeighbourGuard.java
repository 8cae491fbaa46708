package io.nflb.plan;

import io.nflb.model.Firewall;
import io.nflb.model.NeighbourKind;
import io.nflb.model.NeighbourModes;
import io.nflb.model.PortRange;
import io.nflb.model.Prefix;
import io.nflb.model.Protocol;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * The neighbours' side of the lockout guard: which of the flows a neighbour manages (a container's way out, a
 * published port, a VM's DHCP, a host firewall's allowed port) nflb's firewall lets through, before and after
 * an apply. Exact without a packet evaluator, because nflb writes the rules for neighbour traffic itself from
 * the same modes: allow lets it through, restrict lets published ports through only where {@code allow} covers
 * them, ignore treats it like any other traffic. A flow that passed and would be dropped refuses the apply
 * without --force; one that starts to pass is said.
 */
public final class NeighbourGuard {

    private NeighbourGuard() {
    }

    public enum Hook { INPUT, FORWARD }

    /**
     * What a neighbour's traffic is to nflb: connections into its network through a port it publishes, its
     * network's way out, its network as a whole (both ways), a service it runs on the router for its network,
     * or a port a host firewall lets in.
     */
    public enum Type { PUBLISHED, OUTBOUND, NETWORK, SERVICE, HOST_ALLOWED }

    /** One flow; {@code what} and {@code where} (the interface or chain) are how messages name it. */
    public record Flow(NeighbourKind kind, Hook hook, Type type, String what, String where, Optional<Protocol> protocol,
                       Optional<PortRange> port, Optional<String> iface, List<Prefix> networks) {
        public Flow {
            networks = List.copyOf(networks);
        }

        String direction() {
            return switch (type) {
                case PUBLISHED -> "forward in";
                case OUTBOUND -> "forward out";
                case NETWORK -> "forward";
                case SERVICE, HOST_ALLOWED -> "input";
            };
        }
    }

    public record Verdict(boolean passes, String why) {
    }

    public record Change(Flow flow, Verdict before, Verdict after) {
        public boolean dropsNow() {
            return before.passes() && !after.passes();
        }

        /** "  forward in   tcp/8080 -> 172.17.0.2:80 via docker0 (nat DOCKER)   firewall.neighbours.docker: restrict, ..." */
        public String line() {
            String what = flow.what().contains(flow.where()) ? flow.what() : flow.what() + " in " + flow.where();
            return String.format(Locale.ROOT, "  %-12s %-52s %s", flow.direction(), what + " ", after.why());
        }
    }

    /** Every flow the neighbours in {@code effective} (overrides applied) manage, in the order they were found. */
    public static List<Flow> flows(Neighbourhood effective) {
        List<Flow> out = new ArrayList<>();
        for (Neighbour n : effective.found()) {
            NeighbourKind k = n.kind();
            switch (k) {
                case DOCKER, LIBVIRT -> {
                    for (String i : n.interfaces()) {
                        List<Prefix> nets = n.networks();
                        out.add(new Flow(k, Hook.FORWARD, Type.OUTBOUND, i + (nets.isEmpty() ? "" : " (" + join(nets) + ")") + " -> any", i,
                                Optional.empty(), Optional.empty(), Optional.of(i), nets));
                    }
                    for (Neighbour.Port p : n.published()) out.add(published(k, p));
                    for (Neighbour.Port p : n.services()) {
                        out.add(new Flow(k, Hook.INPUT, Type.SERVICE, p.label() + p.iface().map(i -> " on " + i).orElse("") + " " + p.detail(),
                                p.iface().orElse("INPUT"), Optional.of(p.protocol()), Optional.of(p.port()), p.iface(), List.of()));
                    }
                }
                case KUBE_PROXY, OTHER -> {
                    for (Neighbour.Port p : n.published()) out.add(published(k, p));
                    String label = k == NeighbourKind.KUBE_PROXY ? "pod network" : "network";
                    String via = n.interfaces().isEmpty() ? "" : " via " + String.join(", ", n.interfaces());
                    for (Prefix net : n.networks()) {
                        out.add(new Flow(k, Hook.FORWARD, Type.NETWORK, label + " " + net + via + ", both ways", label,
                                Optional.empty(), Optional.empty(), Optional.empty(), List.of(net)));
                    }
                    if (n.networks().isEmpty()) {
                        for (String i : n.interfaces()) {
                            out.add(new Flow(k, Hook.FORWARD, Type.NETWORK, "traffic on " + i, i, Optional.empty(), Optional.empty(),
                                    Optional.of(i), List.of()));
                        }
                    }
                }
                case UFW, FIREWALLD -> {
                    for (Neighbour.Port p : n.services()) {
                        out.add(new Flow(k, Hook.INPUT, Type.HOST_ALLOWED, p.label() + " (" + k.keyword() + " allows it) in INPUT",
                                "INPUT", Optional.of(p.protocol()), Optional.of(p.port()), p.iface(), List.of()));
                    }
                }
                default -> {
                }
            }
        }
        return out;
    }

    private static Flow published(NeighbourKind k, Neighbour.Port p) {
        String into = p.iface().map(i -> " via " + i).orElse(k == NeighbourKind.KUBE_PROXY ? " node port" : " published");
        return new Flow(k, Hook.FORWARD, Type.PUBLISHED, p.label() + into + (p.detail().isEmpty() ? "" : " " + p.detail()),
                p.iface().orElse(k == NeighbourKind.KUBE_PROXY ? "node port" : "published"),
                Optional.of(p.protocol()), Optional.of(p.port()), p.iface(), List.of());
    }

    /** Whether nflb's firewall {@code fw} lets {@code f} through, and why, naming the config key that decides. */
    public static Verdict verdict(Flow f, Optional<Firewall> fw) {
        if (fw.isEmpty()) return new Verdict(true, "no nflb firewall");
        Firewall w = fw.get();
        String hook = f.hook() == Hook.INPUT ? "input" : "forward";
        if (w.policy(hook) == Firewall.Policy.ACCEPT) return new Verdict(true, "firewall.policy." + hook + ": accept");
        NeighbourModes.Setting s = w.neighbours().of(f.kind());
        String key = f.kind().configKey() + ": " + s.describe();
        NeighbourModes.Mode m = s.mode();
        return switch (f.type()) {
            case PUBLISHED -> switch (m) {
                case ALLOW -> new Verdict(true, key);
                case RESTRICT -> covered(key, allowCovering(w.allow(), f), "firewall.allow", f);
                case IGNORE -> covered(key, forwardCovering(w.forwardRules(), f), "firewall.forward", f);
            };
            case OUTBOUND -> m == NeighbourModes.Mode.ALLOW || (m == NeighbourModes.Mode.RESTRICT && f.kind() != NeighbourKind.LIBVIRT)
                    ? new Verdict(true, key) : covered(key, forwardCovering(w.forwardRules(), f), "firewall.forward", f);
            case NETWORK -> m != NeighbourModes.Mode.IGNORE ? new Verdict(true, key)
                    : covered(key, forwardCovering(w.forwardRules(), f), "firewall.forward", f);
            case SERVICE -> m != NeighbourModes.Mode.IGNORE ? new Verdict(true, key)
                    : covered(key, allowCovering(w.allow(), f), "firewall.allow", f);
            case HOST_ALLOWED -> m == NeighbourModes.Mode.ALLOW ? new Verdict(true, key + " (nflb defers the router's input to " + f.kind().keyword() + ")")
                    : covered(key, allowCovering(w.allow(), f), "firewall.allow", f);
        };
    }

    private static Verdict covered(String key, Optional<Firewall.Rule> rule, String list, Flow f) {
        if (rule.isEmpty()) {
            return new Verdict(false, key + ", no " + list + " entry covers " + f.protocol().map(Protocol::keyword).orElse("it")
                    + f.port().map(p -> "/" + p.nft()).orElse(""));
        }
        Firewall.Rule r = rule.get();
        String only = r.from().isEmpty() ? "" : " from " + String.join(", ", r.from().stream().map(Prefix::toString).toList()) + " only";
        return new Verdict(true, key + ", " + list.substring("firewall.".length()) + " entry " + r.label().split(" ")[1] + " covers it" + only);
    }

    /** The first allow entry that accepts the flow's protocol and port (and interface, if it names one). */
    static Optional<Firewall.Rule> allowCovering(List<Firewall.Rule> rules, Flow f) {
        for (Firewall.Rule r : rules) {
            if (f.protocol().isPresent() && r.protocol() != f.protocol().get()) continue;
            if (f.port().isPresent() && !r.ports().isEmpty() && r.ports().stream().noneMatch(p -> p.contains(f.port().get().first()))) continue;
            if (r.iface().isPresent() && f.type() == Type.SERVICE && !matches(r.iface().get(), f.iface().orElse(""))) continue;
            return Optional.of(r);
        }
        return Optional.empty();
    }

    /** The first forward entry that lets the flow's network (or interface) out, or a published port's protocol and port in. */
    static Optional<Firewall.Rule> forwardCovering(List<Firewall.Rule> rules, Flow f) {
        for (Firewall.Rule r : rules) {
            if (f.type() == Type.PUBLISHED) {
                if (r.protocol() != f.protocol().orElse(r.protocol())) continue;
                if (!r.ports().isEmpty() && f.port().isPresent() && r.ports().stream().noneMatch(p -> p.contains(f.port().get().first()))) continue;
                return Optional.of(r);
            }
            if (r.iface().isPresent() && !matches(r.iface().get(), f.iface().orElse(""))) continue;
            if (!r.from().isEmpty() && r.from().stream().noneMatch(p -> f.networks().stream().anyMatch(n -> overlap(p, n)))) continue;
            return Optional.of(r);
        }
        return Optional.empty();
    }

    private static String join(List<Prefix> prefixes) {
        return String.join(", ", prefixes.stream().map(Prefix::toString).toList());
    }

    private static boolean matches(String pattern, String iface) {
        return pattern.endsWith("+") ? iface.startsWith(pattern.substring(0, pattern.length() - 1)) : pattern.equals(iface);
    }

    private static boolean overlap(Prefix a, Prefix b) {
        return a.family() == b.family() && (a.contains(b.network()) || b.contains(a.network()));
    }

    /**
     * Every flow whose verdict differs between the firewall installed now ({@code before}, empty when nflb has
     * none) and the one being applied, both next to the neighbours found in the kernel now.
     */
    public static List<Change> changes(Neighbourhood found, Optional<Firewall> before, Optional<Firewall> after) {
        Neighbourhood effective = after.map(f -> found.effective(f.neighbours())).orElse(found);
        List<Change> out = new ArrayList<>();
        for (Flow f : flows(effective)) {
            Verdict b = verdict(f, before), a = verdict(f, after);
            if (b.passes() != a.passes()) out.add(new Change(f, b, a));
        }
        return out;
    }

    /** The refusal for flows that would be dropped: each with its neighbour, interface or chain and config key. */
    public static String refusal(List<Change> drops) {
        Set<NeighbourKind> kinds = new LinkedHashSet<>();
        drops.forEach(c -> kinds.add(c.flow().kind()));
        StringBuilder sb = new StringBuilder("the new firewall would drop traffic that "
                + String.join(" and ", kinds.stream().map(NeighbourKind::keyword).toList()) + (kinds.size() == 1 ? " manages" : " manage") + ":\n");
        for (Change c : drops) sb.append(c.line()).append('\n');
        sb.append("Nothing was applied; use --force to apply anyway, or set ")
                .append(String.join(", ", kinds.stream().map(k -> k.configKey() + ": allow").toList())).append('.');
        return sb.toString();
    }

    /**
     * What an operator should know that does not change whether a neighbour's traffic passes: an allow entry a
     * host firewall that nflb defers to will refuse, with the command that opens it.
     */
    public static List<String> warnings(Plan plan) {
        List<String> out = new ArrayList<>();
        if (plan.firewall().isEmpty()) return out;
        Firewall fw = plan.firewall().get();
        Neighbourhood n = plan.effectiveNeighbours();
        if (fw.input() == Firewall.Policy.DROP) {
            for (Neighbour host : n.found()) {
                if (!host.kind().hostFirewall() || fw.neighbours().mode(host.kind()) != NeighbourModes.Mode.ALLOW) continue;
                for (Firewall.Rule r : fw.allow()) {
                    List<PortRange> ports = r.ports().isEmpty() ? List.of() : r.ports();
                    for (PortRange p : ports) {
                        boolean allowed = host.services().stream().anyMatch(s -> s.protocol() == r.protocol()
                                && s.port().first() <= p.first() && s.port().last() >= p.last());
                        if (allowed) continue;
                        String spec = p.nft().replace('-', ':') + "/" + r.protocol().keyword();
                        String open = host.kind() == NeighbourKind.UFW ? "ufw allow " + spec
                                : "firewall-cmd --permanent --add-port=" + p.nft() + "/" + r.protocol().keyword() + " && firewall-cmd --reload";
                        out.add(host.kind().keyword() + " does not allow " + r.protocol().keyword() + "/" + p.nft() + " (firewall." + r.label()
                                + "), and nflb defers the router's input to it (" + host.kind().configKey() + ": "
                                + fw.neighbours().of(host.kind()).describe() + "): run `" + open + "`");
                    }
                }
            }
        }
        return out;
    }
}
