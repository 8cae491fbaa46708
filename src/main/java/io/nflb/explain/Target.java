package io.nflb.explain;

/** Where a matching rule sends the packet. */
public sealed interface Target {

    /** -j CHAIN (call, comes back on RETURN) or -g CHAIN (goto, RETURN goes to our caller). */
    record Jump(String chain, boolean goTo) implements Target {
    }

    record Dnat(String destination) implements Target {
    }

    /** ACCEPT, DROP, REJECT, RETURN, MASQUERADE, SNAT, REDIRECT...: {@code terminating} unless known to continue. */
    record Verdict(String name, boolean terminating) implements Target {
    }

    /** A rule with no target only counts. */
    record None() implements Target {
    }
}
