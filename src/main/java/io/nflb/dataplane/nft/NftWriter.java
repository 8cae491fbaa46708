package io.nflb.dataplane.nft;

import io.nflb.host.Exec;

/**
 * How a partial sync reaches the kernel: one transaction made of a {@link NftChange} and the swap of the
 * generation token (the delete of {@code expected} fails, and the whole transaction with it, when the table is
 * not the one this process last wrote). Two ways: nft's own text through a long-lived {@code nft -i}
 * ({@link Text}), or netlink messages written straight to nf_tables ({@link NftNetlinkWriter}), which costs the
 * same whatever the size of the ruleset. Full replaces always go through {@code nft -f}.
 */
interface NftWriter {

    /** Sends {@code change} and the token swap as one transaction. Never throws for a refusal: the result says. */
    Exec.Result write(NftChange change, String expected, String next);

    /** Ends whatever the writer keeps open. */
    default void close() {
    }

    /** The token swap as nft commands. */
    static String tokenSwap(String expected, String next) {
        return "delete element " + NftNames.QUALIFIED + " " + NftNames.GEN + " { " + expected + " }\n"
                + "add element " + NftNames.QUALIFIED + " " + NftNames.GEN + " { " + next + " }\n";
    }

    /** nft's text through the tool's long-lived session. */
    final class Text implements NftWriter {

        private final NftTool tool;

        Text(NftTool tool) {
            this.tool = tool;
        }

        @Override
        public Exec.Result write(NftChange change, String expected, String next) {
            return tool.quickTransaction(change.text() + tokenSwap(expected, next));
        }
    }
}
