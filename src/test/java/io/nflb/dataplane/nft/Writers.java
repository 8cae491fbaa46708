package io.nflb.dataplane.nft;

/** The two ways a partial sync reaches the kernel, for tests that run each under both. */
enum Writers {
    TEXT, NETLINK;

    NftWriter over(NftTool tool) {
        return this == TEXT ? new NftWriter.Text(tool) : new NftNetlinkWriter(tool);
    }
}
