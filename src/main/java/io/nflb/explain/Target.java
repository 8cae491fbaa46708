package io.nflb.explain;

/** Where a matching rule sends the packet. */
public sealed interface Target {

    /** -j CHAIN (call, comes back on RETURN) or -g CHAIN (goto, RETURN goes to our caller). */
    record Jump(String chain, boolean goTo) implements Target {
    }

    /**
     * DNAT to {@code destination} as written ("10.0.0.1:80", "[2001:db8::1]:8080", "10.0.0.1-10.0.0.4"); the
     * translated addresses are {@code firstAddress}..{@code lastAddress}, the ports {@code firstPort}..{@code lastPort}
     * (0: the port is not changed).
     */
    record Dnat(String destination, String firstAddress, String lastAddress, int firstPort, int lastPort) implements Target {
        public Dnat(String destination) {
            this(destination, "", "", 0, 0);
        }
    }

    /** ACCEPT, DROP, REJECT, RETURN, MASQUERADE, SNAT, REDIRECT...: {@code terminating} unless known to continue. */
    record Verdict(String name, boolean terminating) implements Target {
    }

    /** A rule with no target only counts. */
    record None() implements Target {
    }
}
