package io.nflb.model;

import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The firewall: a policy per hook, what may reach the router itself ({@code allow}), and what may be routed
 * through it beyond the balanced services ({@code forward}). Loopback, established and related traffic and
 * the ICMP that IPv4 and IPv6 need are always let through; invalid packets are always dropped.
 * {@code ping}: echo requests to the router are answered. {@code neighbours}: how the policies treat the traffic
 * other rule managers on the router manage (Docker, libvirt, kube-proxy, ufw, firewalld).
 */
public record Firewall(Policy input, Policy forward, Policy output, boolean ping, List<Rule> allow,
                       List<Rule> forwardRules, Optional<LogDrops> logDrops, NeighbourModes neighbours) {

    public enum Policy {
        ACCEPT, DROP;

        public String keyword() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** Rate-limited logging of what the policy drops; {@code prefix} is at most 29 printable characters (the kernel's limit). */
    public record LogDrops(String prefix, Rate rate) {
        public static final int MAX_PREFIX = 29;

        public LogDrops {
            if (prefix == null || prefix.isEmpty() || prefix.length() > MAX_PREFIX
                    || !prefix.chars().allMatch(c -> c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '\'' && c != '$')) {
                throw new IllegalArgumentException("bad log prefix: " + prefix);
            }
            if (rate == null) throw new IllegalArgumentException("rate is null");
        }
    }

    /**
     * One allowance. Empty {@code ports}: any port; empty {@code from}/{@code to}: any address. A rule
     * applies to the address families its prefixes name ({@link #families}).
     * {@code label} names it in rule comments and messages, e.g. "allow 1".
     */
    public record Rule(String label, Protocol protocol, List<PortRange> ports, List<Prefix> from, List<Prefix> to,
                       Optional<String> iface) {
        public Rule {
            if (label == null || !label.matches("[a-z]+ [0-9]{1,4}")) throw new IllegalArgumentException("bad label " + label);
            if (protocol == null) throw new IllegalArgumentException("protocol is null");
            ports = List.copyOf(ports);
            from = List.copyOf(from);
            to = List.copyOf(to);
            iface = iface == null ? Optional.empty() : iface;
            iface.ifPresent(Names::requireInterface);
            Set<IpAddress.Family> common = families(from);
            common.retainAll(families(to));
            if (common.isEmpty()) throw new IllegalArgumentException(label + ": from and to share no address family");
        }

        /** The families in both from (any when empty) and to (any when empty). */
        public Set<IpAddress.Family> families() {
            Set<IpAddress.Family> out = families(from);
            out.retainAll(families(to));
            return out;
        }

        private static Set<IpAddress.Family> families(List<Prefix> prefixes) {
            Set<IpAddress.Family> out = new HashSet<>();
            if (prefixes.isEmpty()) return new HashSet<>(Set.of(IpAddress.Family.values()));
            for (Prefix p : prefixes) out.add(p.family());
            return out;
        }

        public List<Prefix> from(IpAddress.Family f) {
            return from.stream().filter(p -> p.family() == f).toList();
        }

        public List<Prefix> to(IpAddress.Family f) {
            return to.stream().filter(p -> p.family() == f).toList();
        }
    }

    public Firewall {
        if (input == null || forward == null || output == null) throw new IllegalArgumentException("policy is incomplete");
        allow = List.copyOf(allow);
        forwardRules = List.copyOf(forwardRules);
        logDrops = logDrops == null ? Optional.empty() : logDrops;
        neighbours = neighbours == null ? NeighbourModes.defaults() : neighbours;
    }

    /** With every neighbour at its default. */
    public Firewall(Policy input, Policy forward, Policy output, boolean ping, List<Rule> allow, List<Rule> forwardRules,
                    Optional<LogDrops> logDrops) {
        this(input, forward, output, ping, allow, forwardRules, logDrops, NeighbourModes.defaults());
    }

    /** The policy on hook "input", "forward" or "output". */
    public Policy policy(String hook) {
        return switch (hook) {
            case "input" -> input;
            case "forward" -> forward;
            case "output" -> output;
            default -> throw new IllegalArgumentException("no hook " + hook);
        };
    }

    /** The defaults when a firewall: section names no policy: input and forward drop, output accepts. */
    public static Firewall defaults() {
        return new Firewall(Policy.DROP, Policy.DROP, Policy.ACCEPT, true, List.of(), List.of(), Optional.empty());
    }
}
