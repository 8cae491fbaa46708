package io.nflb.render;

/**
 * What nflb wants in nftables: the whole {@code table inet nflb} as a script ({@link #text()}) and the same
 * objects in structured form ({@link #state()}) for the kernel step's comparison with what is live.
 */
public record NftScript(NftState state, String text) {

    public static NftScript of(NftState state) {
        return new NftScript(state, state.toText());
    }

    /**
     * One {@code nft -f} transaction that replaces whatever table inet nflb holds with this script.
     * {@code table x {}} first makes the delete valid when the table does not exist yet.
     */
    public String fullReplace() {
        return "table " + NftState.FAMILY + " " + NftState.TABLE + " {\n}\n"
                + "delete table " + NftState.FAMILY + " " + NftState.TABLE + "\n" + text;
    }
}
