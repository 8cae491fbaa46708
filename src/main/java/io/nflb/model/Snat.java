package io.nflb.model;

public enum Snat {
    NONE, MASQUERADE;

    public String keyword() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
