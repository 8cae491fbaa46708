package io.nflb.explain;

/** What became of a new connection in the nat table. {@code endpoint} is the DNAT destination, else empty. */
public record Outcome(Kind kind, String endpoint) {

    public enum Kind { DNAT, NOT_BALANCED, DROPPED }

    public static final Outcome NOT_BALANCED = new Outcome(Kind.NOT_BALANCED, "");
    public static final Outcome DROPPED = new Outcome(Kind.DROPPED, "");

    public static Outcome dnat(String endpoint) {
        return new Outcome(Kind.DNAT, endpoint);
    }

    @Override
    public String toString() {
        return kind == Kind.DNAT ? endpoint : kind == Kind.DROPPED ? "dropped" : "not balanced";
    }
}
