package io.nflb.explain;

import io.nflb.plan.Rational;

import java.util.List;
import java.util.Set;

/**
 * One condition of a rule, parsed from text. {@link Unknown} keeps, as one canonical text, what this parser
 * does not model (an opaque condition: lint reasons with it in three-valued logic, explain assumes it matches).
 */
public sealed interface Match {

    boolean negated();

    /** -p; {@code number} 0 is "all". */
    record Protocol(boolean negated, String name, int number) implements Match {
    }

    record Address(boolean negated, boolean source, Cidr cidr, String text) implements Match {
    }

    /** -i / -o; a name ending in '+' matches every interface starting with the rest (the rest itself too). */
    record Interface(boolean negated, boolean input, String name) implements Match {
        public boolean matches(String iface) {
            return name.endsWith("+") ? iface.startsWith(name.substring(0, name.length() - 1)) : iface.equals(name);
        }
    }

    /** --dport / --sport / --dports etc.: inclusive ranges. */
    record Ports(boolean negated, boolean destination, List<int[]> ranges) implements Match {
        public boolean contains(int port) {
            for (int[] r : ranges) {
                if (port >= r[0] && port <= r[1]) return true;
            }
            return false;
        }
    }

    /** -m statistic --mode random; {@code kernel} is the probability the kernel stores, lround(p * 2^31) / 2^31. */
    record Random(boolean negated, Rational kernel, String text) implements Match {
        /** The kernel's 31-bit value k: a packet matches when its 31 random bits are below k. */
        public long stored() {
            return kernel.num().shiftLeft(31).divide(kernel.den()).longValueExact();
        }
    }

    /** -m statistic --mode nth --every n --packet p (1 <= n <= 2^32-1). */
    record Nth(boolean negated, long every, long packet) implements Match {
    }

    /** -m state --state / -m conntrack --ctstate. */
    record State(boolean negated, Set<String> states) implements Match {
    }

    /** -m addrtype --src-type / --dst-type. */
    record AddrType(boolean negated, boolean source, Set<String> types) implements Match {
    }

    /**
     * -m recent: {@code check} for --rcheck/--update (a client seen before), else --set/--remove (which always
     * match, and record the client); {@code seconds} is --seconds, or -1.
     */
    record Recent(boolean negated, boolean check, String name, long seconds, String text) implements Match {
    }

    /**
     * Anything else, as one canonical text per match module ("-m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN").
     * {@code stateful}: whether its value for a packet can depend on earlier packets (limit, hashlimit,
     * recent, ...; any module not known to be stateless counts as stateful).
     */
    record Unknown(boolean negated, String module, String text, boolean stateful) implements Match {
        public Unknown(boolean negated, String module, String text) {
            this(negated, module, text, !STATELESS_MODULES.contains(module));
        }
    }

    /** Match modules whose result depends only on the packet (and its conntrack entry) in hand. */
    Set<String> STATELESS_MODULES = Set.of("tcp", "udp", "sctp", "dccp", "udplite", "icmp", "icmp6", "mark", "connmark",
            "set", "addrtype", "length", "ttl", "hl", "tos", "dscp", "ecn", "mac", "iprange", "physdev", "policy", "owner",
            "u32", "string", "rt", "frag", "hbh", "dst", "ipv6header", "mh", "pkttype", "devgroup", "cgroup", "socket",
            "helper", "realm", "time", "conntrack", "state", "multiport", "comment", "bpf", "cpu", "esp", "ah", "ipvs",
            "rpfilter", "osf", "tcpmss", "ipcomp", "l2tp", "-f", "?");
}
