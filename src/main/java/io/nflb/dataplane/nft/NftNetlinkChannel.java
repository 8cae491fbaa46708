package io.nflb.dataplane.nft;

import java.io.IOException;

/**
 * A netlink socket to nf_tables, reduced to what {@link NftNetlinkWriter} needs: send a batch, receive its
 * answers. The real one is {@link NetlinkSocket}; the tests' fake nft answers in memory.
 */
interface NftNetlinkChannel {

    /** Sends {@code length} bytes of {@code batch} as one datagram. */
    void send(byte[] batch, int length) throws IOException;

    /** Receives one datagram of answers into {@code into}; returns its length. Throws when none comes in time. */
    int receive(byte[] into) throws IOException;

    void close();
}
