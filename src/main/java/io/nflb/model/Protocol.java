package io.nflb.model;

public enum Protocol {
    TCP, UDP;

    /** The spelling used in config files and in both rule languages. */
    public String keyword() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
