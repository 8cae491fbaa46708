package io.nflb.dataplane.nft;

import io.nflb.model.IpAddress;
import io.nflb.model.Names;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * nflb's partial syncs as nf_tables netlink messages: one batch (BATCH_BEGIN ... BATCH_END, which the kernel
 * commits or aborts as a whole) holding the element deletes and adds of a {@link NftChange}, the rewrite of a
 * round-robin service chain (flush, then its one rule), and the swap of the generation token. The messages are
 * the ones nft 1.0.6 sends for the same commands (checked with {@code nft --debug=netlink} and
 * {@code --debug=mnl}): set elements keyed by concatenations whose fields each fill whole 4-byte registers
 * (addresses and ports in network order, slots and marks in host order), map data, verdicts, and the element
 * comment as libnftnl's user data (nflb's counters name a service by its slot 0's comment).
 * <p>
 * Anything else a change may hold (new or deleted chains and sets, other rules) is not encoded: {@link #batch}
 * throws {@link Unsupported} and the caller sends the change as text.
 */
final class NftNetlink {

    static final int NLMSG_ERROR = 2;
    static final int NLMSG_DONE = 3;
    static final int NLM_F_REQUEST = 1;
    private static final int NLM_F_ACK = 4;
    private static final int NLM_F_CREATE = 0x400;
    private static final int NLM_F_APPEND = 0x800;
    private static final int NFNL_MSG_BATCH_BEGIN = 0x10;
    private static final int NFNL_MSG_BATCH_END = 0x11;
    static final int NFNL_SUBSYS_NFTABLES = 10;
    static final int NFT_MSG_NEWRULE = 6;
    static final int NFT_MSG_DELRULE = 8;
    static final int NFT_MSG_NEWSETELEM = 12;
    static final int NFT_MSG_DELSETELEM = 14;
    private static final int NFPROTO_INET = 1;
    private static final int NLA_F_NESTED = 0x8000;

    // nf_tables.h attribute numbers
    static final int NFTA_SET_ELEM_LIST_TABLE = 1, NFTA_SET_ELEM_LIST_SET = 2, NFTA_SET_ELEM_LIST_ELEMENTS = 3;
    static final int NFTA_LIST_ELEM = 1;
    static final int NFTA_SET_ELEM_KEY = 1, NFTA_SET_ELEM_DATA = 2, NFTA_SET_ELEM_USERDATA = 6;
    static final int NFTA_DATA_VALUE = 1, NFTA_DATA_VERDICT = 2;
    static final int NFTA_VERDICT_CODE = 1, NFTA_VERDICT_CHAIN = 2;
    static final int NFT_JUMP = -3, NFT_GOTO = -4;
    static final int NFTA_RULE_TABLE = 1, NFTA_RULE_CHAIN = 2, NFTA_RULE_EXPRESSIONS = 4;
    static final int NFTA_EXPR_NAME = 1, NFTA_EXPR_DATA = 2;
    /** libnftnl's user data type of an element's comment. */
    static final int UDATA_SET_ELEM_COMMENT = 0;

    /** The biggest batch sent at once; the socket's send buffer is made this big. */
    static final int MAX_BATCH = 4 << 20;
    /** An attribute's length is 16 bits: a message's element list stays below this. */
    private static final int MAX_ELEMENT_LIST = 60_000;

    /** What the batch cannot say; the change then goes through nft as text. */
    static final class Unsupported extends Exception {
        Unsupported(String what) {
            super(what, null, false, false);
        }
    }

    /** A batch ready to send: its bytes, and the sequence numbers of the messages the kernel answers. */
    record Batch(byte[] bytes, int length, int firstSeq, int lastSeq) {
        int answers() {
            return lastSeq - firstSeq + 1;
        }
    }

    private ByteBuffer b = ByteBuffer.allocate(64 * 1024).order(ByteOrder.nativeOrder());
    private int seq;

    NftNetlink(int firstSeq) {
        this.seq = firstSeq;
    }

    /** {@code change} and the token swap ({@code expected} deleted from set gen, {@code next} added) as one batch. */
    Batch batch(NftChange change, String expected, String next) throws Unsupported {
        if (!change.newChains().isEmpty() || !change.newSets().isEmpty() || !change.newCounters().isEmpty()) {
            throw new Unsupported("new chains, sets or counters");
        }
        if (!change.deletedChains().isEmpty() || !change.deletedSets().isEmpty() || !change.deletedCounters().isEmpty()) {
            throw new Unsupported("deleted chains, sets or counters");
        }
        List<String> rewritten = change.rewrittenChains().stream().map(NftState.Chain::name).toList();
        if (!rewritten.equals(change.flushedChains())) throw new Unsupported("chains flushed without their rules");
        List<RoundRobinRule> rules = new ArrayList<>();
        for (NftState.Chain c : change.rewrittenChains()) {
            if (c.rules().size() != 1) throw new Unsupported("a chain of several rules");
            rules.add(RoundRobinRule.parse(c.rules().get(0)).orElseThrow(() -> new Unsupported("a rule other than a round-robin selection")));
        }
        b.clear();
        int begin = b.position();
        message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 0, NFNL_SUBSYS_NFTABLES);
        end(begin);
        int first = seq + 1;
        for (NftChange.Elements e : change.deletedElements()) elements(NFT_MSG_DELSETELEM, e, false);
        for (int i = 0; i < rules.size(); i++) flush(change.rewrittenChains().get(i).name());
        for (int i = 0; i < rules.size(); i++) rule(change.rewrittenChains().get(i).name(), rules.get(i));
        for (NftChange.Elements e : change.addedElements()) elements(NFT_MSG_NEWSETELEM, e, true);
        List<String> mark = List.of("type mark");
        elements(NFT_MSG_DELSETELEM, new NftChange.Elements(NftNames.GEN, mark, List.of(expected)), false);
        elements(NFT_MSG_NEWSETELEM, new NftChange.Elements(NftNames.GEN, mark, List.of(next)), true);
        int last = seq;
        int endMessage = b.position();
        message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, 0, NFNL_SUBSYS_NFTABLES);
        end(endMessage);
        if (b.position() > MAX_BATCH) throw new Unsupported("a batch of " + b.position() + " bytes");
        return new Batch(b.array(), b.position(), first, last);
    }

    /** What the kernel answered to a batch so far. */
    static final class Answers {
        private final Batch batch;
        private int error;
        private boolean last;
        private boolean whole;

        Answers(Batch batch) {
            this.batch = batch;
        }

        /**
         * Reads one datagram of answers (whole netlink messages). The kernel answers every message of the batch
         * once the whole batch is done (0, or a negative errno for those it refused), and the batch as a whole
         * (an answer to BATCH_BEGIN) when the commit itself failed or the batch was refused before it began.
         * Answers to an earlier batch are skipped; anything else is a surprise.
         */
        void read(byte[] reply, int length) throws java.io.IOException {
            ByteBuffer r = ByteBuffer.wrap(reply, 0, length).order(ByteOrder.nativeOrder());
            while (r.remaining() >= 16) {
                int at = r.position();
                int len = r.getInt(at);
                int type = r.getShort(at + 4) & 0xffff;
                int mseq = r.getInt(at + 8);
                if (len < 16 || at + len > length) throw new java.io.IOException("a malformed netlink answer");
                if (type != NLMSG_ERROR || len < 20) throw new java.io.IOException("a netlink answer of type " + type);
                int errno = r.getInt(at + 16);
                if (errno > 0) throw new java.io.IOException("a netlink answer with errno " + errno);
                r.position(Math.min(length, at + ((len + 3) & ~3)));
                if (mseq - batch.firstSeq() < -1) continue; // to an earlier batch
                if (mseq - batch.lastSeq() > 0) throw new java.io.IOException("an answer to message " + mseq + ", never sent");
                if (errno != 0 && error == 0) error = errno;
                if (mseq == batch.firstSeq() - 1) whole = errno != 0;
                if (mseq == batch.lastSeq()) last = true;
            }
            if (r.remaining() != 0) throw new java.io.IOException("a truncated netlink answer");
        }

        /**
         * Whether every answer that will come has come: the last message's (the kernel answers in order), or the
         * answer to the batch as a whole. After a failed commit the messages' acks follow it; the next batch skips them.
         */
        boolean complete() {
            return last || whole;
        }

        /** 0 when the batch was taken, else the kernel's first negative errno. */
        int error() {
            return error;
        }
    }

    // --- messages

    private void message(int type, int flags, int family, int resId) {
        ensure(20);
        b.putInt(0).putShort((short) type).putShort((short) flags).putInt(++seq).putInt(0);
        b.put((byte) family).put((byte) 0).order(ByteOrder.BIG_ENDIAN).putShort((short) resId).order(ByteOrder.nativeOrder());
    }

    private int nftMessage(int msg, int flags) {
        int start = b.position();
        message((NFNL_SUBSYS_NFTABLES << 8) | msg, NLM_F_REQUEST | NLM_F_ACK | flags, NFPROTO_INET, 0);
        return start;
    }

    private void end(int start) {
        b.putInt(start, b.position() - start);
    }

    private void elements(int msg, NftChange.Elements e, boolean add) throws Unsupported {
        SetType type = SetType.of(e.header());
        List<String> all = e.elements();
        int i = 0;
        while (i < all.size()) {
            int start = nftMessage(msg, add ? NLM_F_CREATE : 0);
            string(NFTA_SET_ELEM_LIST_TABLE, NftNames.TABLE);
            string(NFTA_SET_ELEM_LIST_SET, e.set());
            int list = nest(NFTA_SET_ELEM_LIST_ELEMENTS);
            do {
                element(type, all.get(i), add);
                i++;
            } while (i < all.size() && b.position() - list < MAX_ELEMENT_LIST);
            endNest(list);
            end(start);
        }
    }

    /** One element: its key, for an add also its data and comment. Its text is as nft lists it. */
    private void element(SetType type, String text, boolean add) throws Unsupported {
        int elem = nest(NFTA_LIST_ELEM);
        int key = nest(NFTA_SET_ELEM_KEY);
        attr(NFTA_DATA_VALUE, type.key(NftState.NftSet.key(text)));
        endNest(key);
        if (add) {
            int colon = text.indexOf(" : ");
            if (type.verdict() || type.data() != null) {
                if (colon < 0) throw new Unsupported("a map element without data: " + text);
                String data = text.substring(colon + 3);
                int d = nest(NFTA_SET_ELEM_DATA);
                if (type.verdict()) verdict(data);
                else attr(NFTA_DATA_VALUE, type.data().encode(data));
                endNest(d);
            } else if (colon >= 0) {
                throw new Unsupported("data for a set: " + text);
            }
            Optional<String> comment = NftNames.commentOf(colon < 0 ? text : text.substring(0, colon));
            if (comment.isPresent()) {
                byte[] c = comment.get().getBytes(StandardCharsets.US_ASCII);
                byte[] udata = new byte[c.length + 3];
                udata[0] = UDATA_SET_ELEM_COMMENT;
                udata[1] = (byte) (c.length + 1);
                System.arraycopy(c, 0, udata, 2, c.length);
                attr(NFTA_SET_ELEM_USERDATA, udata);
            }
        }
        endNest(elem);
    }

    private void verdict(String text) throws Unsupported {
        String[] w = text.split(" ");
        if (w.length != 2 || !(w[0].equals("jump") || w[0].equals("goto"))) throw new Unsupported("verdict " + text);
        int v = nest(NFTA_DATA_VERDICT);
        u32be(NFTA_VERDICT_CODE, w[0].equals("jump") ? NFT_JUMP : NFT_GOTO);
        string(NFTA_VERDICT_CHAIN, w[1]);
        endNest(v);
    }

    private void flush(String chain) {
        int start = nftMessage(NFT_MSG_DELRULE, 0);
        string(NFTA_RULE_TABLE, NftNames.TABLE);
        string(NFTA_RULE_CHAIN, chain);
        end(start);
    }

    /**
     * {@code dnat ip to ip daddr . tcp dport . numgen inc mod W map @M}: the family and protocol checks nft adds,
     * the packet's address and port and the slot into consecutive registers, the map lookup, the DNAT.
     */
    private void rule(String chain, RoundRobinRule r) {
        int start = nftMessage(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
        string(NFTA_RULE_TABLE, NftNames.TABLE);
        string(NFTA_RULE_CHAIN, chain);
        int exprs = nest(NFTA_RULE_EXPRESSIONS);
        // Registers as nft allocates them: the address in reg 1, then the port and the slot in the next 32-bit
        // registers (reg 9 and 10 after an IPv4 address; after an IPv6 one, reg 2, the 128-bit name of the
        // fifth 32-bit register, and reg 13).
        int portReg = r.v6() ? 2 : 9;
        int slotReg = r.v6() ? 13 : 10;
        meta(15 /* NFT_META_NFPROTO */);
        cmpEq(r.v6() ? 10 : 2);
        meta(16 /* NFT_META_L4PROTO */);
        cmpEq(r.protocol().equals("tcp") ? 6 : 17);
        payload(1, 1 /* network header */, r.v6() ? 24 : 16, r.v6() ? 16 : 4);
        payload(portReg, 2 /* transport header */, 2, 2);
        int e = expr("numgen");
        u32be(1, slotReg);
        u32be(2, r.slots());
        u32be(3, 0); // NFT_NG_INCREMENTAL
        u32be(4, 0);
        endExpr(e);
        e = expr("lookup");
        u32be(2, 1); // sreg
        u32be(3, 1); // dreg
        string(1, r.map());
        endExpr(e);
        e = expr("nat");
        u32be(1, 1); // NFT_NAT_DNAT
        u32be(2, r.v6() ? 10 : 2);
        u32be(3, 1); // addr_min
        u32be(5, portReg); // proto_min
        endExpr(e);
        endNest(exprs);
        end(start);
    }

    private void meta(int key) {
        int e = expr("meta");
        u32be(2, key);
        u32be(1, 1);
        endExpr(e);
    }

    private void cmpEq(int value) {
        int e = expr("cmp");
        u32be(1, 1);
        u32be(2, 0); // NFT_CMP_EQ
        int d = nest(3);
        attr(NFTA_DATA_VALUE, new byte[] {(byte) value});
        endNest(d);
        endExpr(e);
    }

    private void payload(int reg, int base, int offset, int length) {
        int e = expr("payload");
        u32be(1, reg);
        u32be(2, base);
        u32be(3, offset);
        u32be(4, length);
        endExpr(e);
    }

    /** Opens list element, name and data of one expression; returns what {@link #endExpr} closes. */
    private int expr(String name) {
        int elem = nest(NFTA_LIST_ELEM);
        string(NFTA_EXPR_NAME, name);
        nest(NFTA_EXPR_DATA);
        return elem;
    }

    private void endExpr(int elem) {
        // The data nest is the last thing opened inside the element: its start is 4 + the name attribute further on.
        int name = elem + 4;
        int data = name + ((b.getShort(name) + 3) & ~3);
        endNest(data);
        endNest(elem);
    }

    // --- attributes

    private int nest(int type) {
        ensure(4);
        int at = b.position();
        b.putShort((short) 0).putShort((short) (type | NLA_F_NESTED));
        return at;
    }

    private void endNest(int at) {
        b.putShort(at, (short) (b.position() - at));
    }

    private void attr(int type, byte[] value) {
        ensure(8 + value.length);
        b.putShort((short) (4 + value.length)).putShort((short) type).put(value);
        while (b.position() % 4 != 0) b.put((byte) 0);
    }

    private void string(int type, String s) {
        byte[] z = new byte[s.length() + 1];
        System.arraycopy(s.getBytes(StandardCharsets.US_ASCII), 0, z, 0, s.length());
        attr(type, z);
    }

    private void u32be(int type, int v) {
        attr(type, ByteBuffer.allocate(4).order(ByteOrder.BIG_ENDIAN).putInt(v).array());
    }

    /** Grows the buffer (up to a little over {@link #MAX_BATCH}; past that the batch is refused). */
    private void ensure(int more) {
        if (b.remaining() >= more) return;
        int size = Math.max(b.capacity() * 2, b.position() + more);
        if (size > MAX_BATCH + (1 << 20)) throw new IllegalStateException("netlink batch too big");
        ByteBuffer bigger = ByteBuffer.allocate(size).order(ByteOrder.nativeOrder());
        b.flip();
        bigger.put(b);
        b = bigger;
    }

    // --- what the renderer writes, typed

    /** The round-robin service chain's one rule. */
    record RoundRobinRule(boolean v6, String protocol, int slots, String map) {
        private static final Pattern RULE = Pattern.compile(
                "dnat (ip|ip6) to (ip|ip6) daddr \\. (tcp|udp) dport \\. numgen inc mod ([1-9][0-9]{0,8}) map @([a-z0-9_]+)");

        static Optional<RoundRobinRule> parse(String rule) {
            Matcher m = RULE.matcher(rule);
            if (!m.matches() || !m.group(1).equals(m.group(2))) return Optional.empty();
            return Optional.of(new RoundRobinRule(m.group(1).equals("ip6"), m.group(3), Integer.parseInt(m.group(4)), m.group(5)));
        }
    }

    /** One field of a key or data concatenation, and how its text becomes bytes. */
    enum Field {
        IPV4(4), IPV6(16), PROTOCOL(4), PORT(4), IFNAME(16), HOST_U32(4);

        final int size;

        Field(int size) {
            this.size = size;
        }

        void put(ByteBuffer out, String text) throws Unsupported {
            int at = out.position();
            switch (this) {
                case IPV4, IPV6 -> {
                    IpAddress a = IpAddress.parse(text).orElseThrow(() -> new Unsupported("address " + text));
                    byte[] raw = a.inet().getAddress();
                    if (raw.length != size) throw new Unsupported("address " + text + " of the other family");
                    out.put(raw);
                }
                case PROTOCOL -> {
                    if (text.equals("tcp")) out.put((byte) 6);
                    else if (text.equals("udp")) out.put((byte) 17);
                    else throw new Unsupported("protocol " + text);
                }
                case PORT -> out.order(ByteOrder.BIG_ENDIAN).putShort((short) number(text, 65535)).order(ByteOrder.nativeOrder());
                case IFNAME -> {
                    if (text.length() < 3 || !text.startsWith("\"") || !text.endsWith("\"")) throw new Unsupported("interface " + text);
                    String name = Names.requireInterface(text.substring(1, text.length() - 1));
                    if (name.length() > 15 || name.endsWith("+")) throw new Unsupported("interface " + text);
                    out.put(name.getBytes(StandardCharsets.US_ASCII));
                }
                case HOST_U32 -> out.putInt((int) number(text, 0xffffffffL));
                default -> throw new IllegalStateException();
            }
            while (out.position() < at + size) out.put((byte) 0);
        }

        private static long number(String text, long max) throws Unsupported {
            try {
                long v = text.startsWith("0x") ? Long.parseLong(text.substring(2), 16) : Long.parseLong(text);
                if (v < 0 || v > max) throw new Unsupported("number " + text);
                return v;
            } catch (NumberFormatException e) {
                throw new Unsupported("number " + text);
            }
        }
    }

    /** A concatenation of fields. */
    record Fields(List<Field> fields) {
        byte[] encode(String text) throws Unsupported {
            String[] parts = text.split(" \\. ");
            if (parts.length != fields.size()) throw new Unsupported("\"" + text + "\" for " + fields);
            int size = 0;
            for (Field f : fields) size += f.size;
            ByteBuffer out = ByteBuffer.allocate(size).order(ByteOrder.nativeOrder());
            for (int i = 0; i < parts.length; i++) fields.get(i).put(out, parts[i].strip());
            return out.array();
        }
    }

    /** A set's key and data, read from its declaration as nft lists it ("type ..." or "typeof ..."). */
    record SetType(Fields keyFields, Fields data, boolean verdict) {

        byte[] key(String text) throws Unsupported {
            return keyFields.encode(text);
        }

        static SetType of(List<String> header) throws Unsupported {
            if (header.isEmpty()) throw new Unsupported("a set without a type");
            String h = header.get(0);
            boolean typeof = h.startsWith("typeof ");
            if (!typeof && !h.startsWith("type ")) throw new Unsupported("declaration " + h);
            String body = h.substring(typeof ? 7 : 5);
            int colon = body.indexOf(" : ");
            String key = colon < 0 ? body : body.substring(0, colon);
            String data = colon < 0 ? null : body.substring(colon + 3);
            boolean verdict = "verdict".equals(data);
            return new SetType(fields(key, typeof), data == null || verdict ? null : fields(data, typeof), verdict);
        }

        private static Fields fields(String concatenation, boolean typeof) throws Unsupported {
            List<Field> out = new ArrayList<>();
            for (String part : concatenation.split(" \\. ")) out.add(typeof ? expression(part.strip()) : datatype(part.strip()));
            return new Fields(out);
        }

        private static Field datatype(String t) throws Unsupported {
            return switch (t) {
                case "ipv4_addr" -> Field.IPV4;
                case "ipv6_addr" -> Field.IPV6;
                case "inet_proto" -> Field.PROTOCOL;
                case "inet_service" -> Field.PORT;
                case "ifname" -> Field.IFNAME;
                case "mark" -> Field.HOST_U32;
                default -> throw new Unsupported("type " + t);
            };
        }

        private static Field expression(String e) throws Unsupported {
            if (e.equals("ip daddr")) return Field.IPV4;
            if (e.equals("ip6 daddr")) return Field.IPV6;
            if (e.equals("tcp dport") || e.equals("udp dport")) return Field.PORT;
            if (e.matches("numgen inc mod [0-9]+")) return Field.HOST_U32;
            throw new Unsupported("typeof " + e);
        }
    }
}
