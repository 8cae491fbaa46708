package io.nflb.model;

/** Which kernel interface the rules are written for. */
public enum BackendKind {
    IPTABLES, NFTABLES, AUTO;

    public String keyword() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
