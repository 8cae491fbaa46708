package io.nflb.explain;

import io.nflb.plan.Rational;

import java.util.List;
import java.util.Set;

/** One condition of a rule, parsed from text. {@link Unknown} keeps whatever this parser does not understand. */
public sealed interface Match {

    boolean negated();

    record Protocol(boolean negated, String name) implements Match {
    }

    record Address(boolean negated, boolean source, Cidr cidr, String text) implements Match {
    }

    /** -i / -o; a name ending in '+' matches every interface starting with the rest. */
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
    }

    /** -m statistic --mode nth --every n --packet p. */
    record Nth(boolean negated, int every, int packet) implements Match {
    }

    /** -m state --state / -m conntrack --ctstate. */
    record State(boolean negated, Set<String> states) implements Match {
    }

    /** -m addrtype --src-type / --dst-type. */
    record AddrType(boolean negated, boolean source, Set<String> types) implements Match {
    }

    /** -m recent: {@code check} for --rcheck/--update, else --set/--remove (which always match). */
    record Recent(boolean negated, boolean check, String name) implements Match {
    }

    /** Anything else: kept, assumed to match, and reported. */
    record Unknown(boolean negated, String module, String text) implements Match {
    }
}
