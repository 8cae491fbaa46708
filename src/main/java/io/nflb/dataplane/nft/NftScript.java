package io.nflb.dataplane.nft;

/**
 * What nflb wants in nftables: the whole {@code table inet nflb} as a script ({@link #text()}) and the same
 * objects in structured form ({@link #state()}) for the kernel step's comparison with what is live. The text
 * is built on first use: a partial sync sends a difference and never needs the whole script.
 */
public final class NftScript {

    private final NftState state;
    private volatile String text;

    private NftScript(NftState state) {
        this.state = state;
    }

    public static NftScript of(NftState state) {
        return new NftScript(state);
    }

    public NftState state() {
        return state;
    }

    public String text() {
        String t = text;
        if (t == null) {
            t = state.toText();
            text = t;
        }
        return t;
    }

    /**
     * One {@code nft -f} transaction that replaces whatever table inet nflb holds with this script.
     * {@code table x {}} first makes the delete valid when the table does not exist yet.
     */
    public String fullReplace() {
        return "table " + NftNames.QUALIFIED + " {\n}\n"
                + "delete table " + NftNames.QUALIFIED + "\n" + text();
    }
}
