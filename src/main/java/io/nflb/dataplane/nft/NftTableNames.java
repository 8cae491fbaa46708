package io.nflb.dataplane.nft;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The names of every nf_tables table, dumped over netlink. nft 1.0.6 fetches the whole ruleset for
 * {@code nft list tables} (1.3 s beside 10,000 services of nflb's), and the neighbours are read before every
 * apply; the kernel's own table dump is a few hundred bytes whatever the ruleset holds.
 */
final class NftTableNames {

    /** A table: its family as nft writes it ("ip", "inet", ...) and its name. */
    record Table(String family, String name) {
    }

    private static final int NFT_MSG_GETTABLE = 1;
    private static final int NFT_MSG_NEWTABLE = 0;
    private static final int NLM_F_DUMP = 0x300;
    private static final int NLM_F_DUMP_INTR = 0x10;
    private static final int NFTA_TABLE_NAME = 1;
    /** More tables than any machine has: a dump that goes on past this is not believed. */
    private static final int MAX_TABLES = 4096;

    private NftTableNames() {
    }

    /** The dump request: GETTABLE for every family. */
    static byte[] request(int seq) {
        ByteBuffer b = ByteBuffer.allocate(20).order(ByteOrder.nativeOrder());
        b.putInt(20).putShort((short) (NftNetlink.NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETTABLE))
                .putShort((short) (NftNetlink.NLM_F_REQUEST | NLM_F_DUMP)).putInt(seq).putInt(0);
        b.put((byte) 0).put((byte) 0).putShort((short) 0); // nfgenmsg: any family, version 0, resource 0
        return b.array();
    }

    /** Sends the dump request on {@code channel} and reads the answers to its end. */
    static List<Table> read(NftNetlinkChannel channel) throws IOException {
        int seq = (int) (System.nanoTime() & 0x3fffffff) | 1;
        byte[] req = request(seq);
        channel.send(req, req.length);
        List<Table> out = new ArrayList<>();
        byte[] buffer = new byte[64 << 10];
        while (true) {
            int n = channel.receive(buffer);
            if (parse(buffer, n, seq, out)) return out;
            if (out.size() > MAX_TABLES) throw new IOException("a table dump of more than " + MAX_TABLES + " tables");
        }
    }

    /**
     * Adds the tables of one datagram to {@code out}; true when it held the dump's end. A dump the kernel
     * marks interrupted (the ruleset changed during it) or an error answer is an IOException: the caller
     * asks nft instead.
     */
    static boolean parse(byte[] datagram, int length, int seq, List<Table> out) throws IOException {
        ByteBuffer r = ByteBuffer.wrap(datagram, 0, length).order(ByteOrder.nativeOrder());
        int at = 0;
        while (at + 16 <= length) {
            int len = r.getInt(at);
            int type = r.getShort(at + 4) & 0xffff;
            int flags = r.getShort(at + 6) & 0xffff;
            int mseq = r.getInt(at + 8);
            if (len < 16 || at + len > length) throw new IOException("a malformed netlink answer");
            int next = at + ((len + 3) & ~3);
            if (mseq != seq) {
                at = next; // an answer to something else
                continue;
            }
            if ((flags & NLM_F_DUMP_INTR) != 0) throw new IOException("the table dump was interrupted by a change");
            if (type == NftNetlink.NLMSG_DONE) return true;
            if (type == NftNetlink.NLMSG_ERROR) {
                int errno = len >= 20 ? -r.getInt(at + 16) : 0;
                throw new IOException("the table dump was refused (errno " + errno + ")");
            }
            if (type != (NftNetlink.NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWTABLE) || len < 20) {
                throw new IOException("a netlink answer of type " + type + " in a table dump");
            }
            String family = family(r.get(at + 16) & 0xff);
            String name = null;
            int a = at + 20;
            while (a + 4 <= at + len) {
                int alen = r.getShort(a) & 0xffff;
                int atype = r.getShort(a + 2) & 0x3fff;
                if (alen < 4 || a + alen > at + len) throw new IOException("a malformed attribute in a table dump");
                if (atype == NFTA_TABLE_NAME) {
                    int end = a + alen;
                    while (end > a + 4 && datagram[end - 1] == 0) end--;
                    name = new String(datagram, a + 4, end - a - 4, StandardCharsets.UTF_8);
                }
                a += (alen + 3) & ~3;
            }
            if (name == null) throw new IOException("a table without a name in a table dump");
            if (family != null) out.add(new Table(family, name));
            at = next;
        }
        return false;
    }

    /** nft's word for an NFPROTO value; null for one nft has no word for (such a table is not listed). */
    private static String family(int nfproto) {
        return switch (nfproto) {
            case 1 -> "inet";
            case 2 -> "ip";
            case 3 -> "arp";
            case 5 -> "netdev";
            case 7 -> "bridge";
            case 10 -> "ip6";
            default -> null;
        };
    }
}
