package io.nflb.model;

public enum Scheduler {
    ROUND_ROBIN("round-robin"), RANDOM("random"), MAGLEV("maglev");

    private final String keyword;

    Scheduler(String keyword) {
        this.keyword = keyword;
    }

    /** The spelling used in config files. */
    public String keyword() {
        return keyword;
    }
}
