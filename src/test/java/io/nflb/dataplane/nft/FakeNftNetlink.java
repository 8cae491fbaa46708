package io.nflb.dataplane.nft;

import io.nflb.model.IpAddress;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The fake nft's netlink socket: reads a batch the way nf_tables does (every message answered, the batch taken
 * or aborted whole) and turns each message back into the nft command it stands for, which the fake then runs
 * like any other. Element bytes are read by the set's declaration (fields in 4-byte registers, addresses and
 * ports big-endian, slots and marks in host order), rules by the expressions nft 1.0.6 itself sends for nflb's
 * round-robin rule; anything else is refused with EINVAL, as an encoding the kernel would misread.
 */
final class FakeNftNetlink implements NftNetlinkChannel {

    static final int ENOENT = 2;
    static final int EINVAL = 22;

    /** Runs decoded commands as one transaction; returns null when taken, else the refusal's message. */
    interface Runner {
        String run(List<String> commands);
    }

    private final Function<String, List<String>> headerOfSet;
    private final Runner runner;
    private final Deque<byte[]> answers = new ArrayDeque<>();
    private boolean closed;

    FakeNftNetlink(Function<String, List<String>> headerOfSet, Runner runner) {
        this.headerOfSet = headerOfSet;
        this.runner = runner;
    }

    @Override
    public void send(byte[] batch, int length) throws IOException {
        if (closed) throw new IOException("closed");
        ByteBuffer b = ByteBuffer.wrap(batch, 0, length).order(ByteOrder.nativeOrder());
        List<int[]> acks = new ArrayList<>(); // seq, errno
        List<String> commands = new ArrayList<>();
        int failures = 0;
        boolean begun = false;
        boolean ended = false;
        while (b.remaining() >= 16) {
            int at = b.position();
            int len = b.getInt(at);
            int type = b.getShort(at + 4) & 0xffff;
            int flags = b.getShort(at + 6) & 0xffff;
            int seq = b.getInt(at + 8);
            if (len < 20 || at + len > length) throw new IOException("malformed batch");
            ByteBuffer msg = ByteBuffer.wrap(batch, at + 20, len - 20).slice().order(ByteOrder.nativeOrder());
            b.position(at + ((len + 3) & ~3));
            if (type == 0x10) {
                begun = true;
                continue;
            }
            if (type == 0x11) {
                ended = true;
                break;
            }
            int errno = 0;
            try {
                if (!begun) throw new IllegalArgumentException("message outside a batch");
                if (batch[at + 16] != 1) throw new IllegalArgumentException("family " + batch[at + 16]);
                commands.add(command(type, flags, msg));
            } catch (IllegalArgumentException e) {
                errno = -EINVAL;
                failures++;
            }
            if ((flags & 4) != 0 || errno != 0) acks.add(new int[] {seq, errno});
        }
        if (!begun || !ended) throw new IOException("not a batch");
        if (failures == 0) {
            String refused = runner.run(commands);
            if (refused != null) {
                // The fake tells only that the batch was refused: the first message carries the error.
                int errno = refused.contains("No such file or directory") ? -ENOENT : -EINVAL;
                acks.get(0)[1] = errno;
            }
        }
        for (int[] a : acks) answers.add(ack(a[0], a[1]));
    }

    @Override
    public int receive(byte[] into) throws IOException {
        byte[] a = answers.poll();
        if (a == null) throw new IOException("no netlink answer in time");
        System.arraycopy(a, 0, into, 0, a.length);
        return a.length;
    }

    @Override
    public void close() {
        closed = true;
    }

    private static byte[] ack(int seq, int errno) {
        ByteBuffer a = ByteBuffer.allocate(36).order(ByteOrder.nativeOrder());
        a.putInt(36).putShort((short) NftNetlink.NLMSG_ERROR).putShort((short) 0x100).putInt(seq).putInt(0);
        a.putInt(errno).putInt(20).putShort((short) 0).putShort((short) 0).putInt(seq).putInt(0);
        return a.array();
    }

    /** The nft command a message stands for. */
    private String command(int type, int flags, ByteBuffer msg) {
        if (type >> 8 != 10) throw new IllegalArgumentException("subsystem " + (type >> 8));
        Map<Integer, ByteBuffer> a = attributes(msg);
        String table = string(a.get(1));
        if (!table.equals(NftNames.TABLE)) throw new IllegalArgumentException("table " + table);
        String q = "inet " + table;
        switch (type & 0xff) {
            case NftNetlink.NFT_MSG_NEWSETELEM, NftNetlink.NFT_MSG_DELSETELEM -> {
                boolean add = (type & 0xff) == NftNetlink.NFT_MSG_NEWSETELEM;
                if (add && (flags & 0x400) == 0) throw new IllegalArgumentException("add without NLM_F_CREATE");
                String set = string(a.get(NftNetlink.NFTA_SET_ELEM_LIST_SET));
                List<String> header = headerOfSet.apply(set);
                if (header == null) return (add ? "add" : "delete") + " element " + q + " " + set + " { 0 }"; // refused as missing
                List<String> out = new ArrayList<>();
                for (ByteBuffer e : list(a.get(NftNetlink.NFTA_SET_ELEM_LIST_ELEMENTS))) out.add(element(header, attributes(e), add));
                return (add ? "add" : "delete") + " element " + q + " " + set + " { " + String.join(", ", out) + " }";
            }
            case NftNetlink.NFT_MSG_DELRULE -> {
                if (a.size() != 2) throw new IllegalArgumentException("a rule delete that is not a flush");
                return "flush chain " + q + " " + string(a.get(NftNetlink.NFTA_RULE_CHAIN));
            }
            case NftNetlink.NFT_MSG_NEWRULE -> {
                if ((flags & 0xc00) != 0xc00) throw new IllegalArgumentException("a rule add without CREATE|APPEND");
                return "add rule " + q + " " + string(a.get(NftNetlink.NFTA_RULE_CHAIN)) + " " + rule(list(a.get(NftNetlink.NFTA_RULE_EXPRESSIONS)));
            }
            default -> throw new IllegalArgumentException("message type " + type);
        }
    }

    private static String element(List<String> header, Map<Integer, ByteBuffer> e, boolean add) {
        boolean mark = header.get(0).equals("type mark");
        NftNetlink.SetType type;
        try {
            type = NftNetlink.SetType.of(header);
        } catch (NftNetlink.Unsupported x) {
            throw new IllegalArgumentException(x.getMessage());
        }
        StringBuilder sb = new StringBuilder(value(type.keyFields(), attributes(e.get(NftNetlink.NFTA_SET_ELEM_KEY)).get(NftNetlink.NFTA_DATA_VALUE), mark));
        if (!add) {
            if (e.size() != 1) throw new IllegalArgumentException("a delete with more than a key");
            return sb.toString();
        }
        ByteBuffer udata = e.get(NftNetlink.NFTA_SET_ELEM_USERDATA);
        if (udata != null) {
            int t = udata.get() & 0xff;
            int l = udata.get() & 0xff;
            byte[] c = new byte[l];
            udata.get(c);
            if (t != NftNetlink.UDATA_SET_ELEM_COMMENT || l < 2 || c[l - 1] != 0 || udata.remaining() != 0) {
                throw new IllegalArgumentException("user data");
            }
            sb.append(" comment \"").append(new String(c, 0, l - 1, StandardCharsets.US_ASCII)).append('"');
        }
        ByteBuffer data = e.get(NftNetlink.NFTA_SET_ELEM_DATA);
        if ((data != null) != (type.verdict() || type.data() != null)) throw new IllegalArgumentException("data");
        if (data != null) {
            Map<Integer, ByteBuffer> d = attributes(data);
            if (type.verdict()) {
                Map<Integer, ByteBuffer> v = attributes(d.get(NftNetlink.NFTA_DATA_VERDICT));
                int code = v.get(NftNetlink.NFTA_VERDICT_CODE).order(ByteOrder.BIG_ENDIAN).getInt();
                String verb = code == NftNetlink.NFT_JUMP ? "jump" : code == NftNetlink.NFT_GOTO ? "goto" : null;
                if (verb == null) throw new IllegalArgumentException("verdict " + code);
                sb.append(" : ").append(verb).append(' ').append(string(v.get(NftNetlink.NFTA_VERDICT_CHAIN)));
            } else {
                sb.append(" : ").append(value(type.data(), d.get(NftNetlink.NFTA_DATA_VALUE), false));
            }
        }
        return sb.toString();
    }

    private static String value(NftNetlink.Fields fields, ByteBuffer bytes, boolean mark) {
        int size = 0;
        for (NftNetlink.Field f : fields.fields()) size += f.size;
        if (bytes == null || bytes.remaining() != size) throw new IllegalArgumentException("a value of the wrong length");
        List<String> parts = new ArrayList<>();
        for (NftNetlink.Field f : fields.fields()) {
            byte[] raw = new byte[f.size];
            bytes.get(raw);
            ByteBuffer r = ByteBuffer.wrap(raw);
            parts.add(switch (f) {
                case IPV4, IPV6 -> {
                    try {
                        yield new IpAddress(InetAddress.getByAddress(raw)).toString();
                    } catch (java.net.UnknownHostException e) {
                        throw new IllegalArgumentException(e);
                    }
                }
                case PROTOCOL -> {
                    requireZero(raw, 1);
                    yield raw[0] == 6 ? "tcp" : raw[0] == 17 ? "udp" : String.valueOf(raw[0]);
                }
                case PORT -> {
                    requireZero(raw, 2);
                    yield String.valueOf(r.order(ByteOrder.BIG_ENDIAN).getShort() & 0xffff);
                }
                case IFNAME -> {
                    int n = 0;
                    while (n < raw.length && raw[n] != 0) n++;
                    requireZero(raw, n);
                    yield "\"" + new String(raw, 0, n, StandardCharsets.US_ASCII) + "\"";
                }
                case HOST_U32 -> {
                    long v = r.order(ByteOrder.nativeOrder()).getInt() & 0xffffffffL;
                    yield mark ? String.format("0x%08x", v) : String.valueOf(v);
                }
            });
        }
        return String.join(" . ", parts);
    }

    private static void requireZero(byte[] raw, int from) {
        for (int i = from; i < raw.length; i++) if (raw[i] != 0) throw new IllegalArgumentException("padding");
    }

    /** The nine expressions of {@code dnat ip to ip daddr . tcp dport . numgen inc mod W map @M}, back to that text. */
    private static String rule(List<ByteBuffer> exprs) {
        List<String> names = new ArrayList<>();
        List<Map<Integer, ByteBuffer>> data = new ArrayList<>();
        for (ByteBuffer e : exprs) {
            Map<Integer, ByteBuffer> x = attributes(e);
            names.add(string(x.get(NftNetlink.NFTA_EXPR_NAME)));
            data.add(attributes(x.get(NftNetlink.NFTA_EXPR_DATA)));
        }
        if (!names.equals(List.of("meta", "cmp", "meta", "cmp", "payload", "payload", "numgen", "lookup", "nat"))) {
            throw new IllegalArgumentException("expressions " + names);
        }
        boolean v6 = cmpValue(data.get(1)) == 10;
        if (!v6 && cmpValue(data.get(1)) != 2) throw new IllegalArgumentException("nfproto");
        int proto = cmpValue(data.get(3));
        String ip = v6 ? "ip6" : "ip";
        int portReg = v6 ? 2 : 9;
        expect(data.get(0), Map.of(1, 1, 2, 15));
        expect(data.get(2), Map.of(1, 1, 2, 16));
        expect(data.get(4), Map.of(1, 1, 2, 1, 3, v6 ? 24 : 16, 4, v6 ? 16 : 4));
        expect(data.get(5), Map.of(1, portReg, 2, 2, 3, 2, 4, 2));
        int modulus = be(data.get(6).get(2));
        expect(data.get(6), Map.of(1, v6 ? 13 : 10, 2, modulus, 3, 0, 4, 0));
        String map = string(data.get(7).remove(1));
        expect(data.get(7), Map.of(2, 1, 3, 1));
        expect(data.get(8), Map.of(1, 1, 2, v6 ? 10 : 2, 3, 1, 5, portReg));
        String p = proto == 6 ? "tcp" : proto == 17 ? "udp" : null;
        if (p == null) throw new IllegalArgumentException("l4proto " + proto);
        return "dnat " + ip + " to " + ip + " daddr . " + p + " dport . numgen inc mod " + modulus + " map @" + map;
    }

    private static int cmpValue(Map<Integer, ByteBuffer> cmp) {
        if (be(cmp.get(1)) != 1 || be(cmp.get(2)) != 0 || cmp.size() != 3) throw new IllegalArgumentException("cmp");
        ByteBuffer v = attributes(cmp.get(3)).get(NftNetlink.NFTA_DATA_VALUE);
        if (v.remaining() != 1) throw new IllegalArgumentException("cmp data");
        return v.get() & 0xff;
    }

    private static void expect(Map<Integer, ByteBuffer> attrs, Map<Integer, Integer> values) {
        if (!attrs.keySet().equals(values.keySet())) throw new IllegalArgumentException("attributes " + attrs.keySet() + " not " + values.keySet());
        values.forEach((k, v) -> {
            if (be(attrs.get(k)) != v) throw new IllegalArgumentException("attribute " + k);
        });
    }

    private static int be(ByteBuffer b) {
        if (b == null || b.remaining() != 4) throw new IllegalArgumentException("not a 32-bit value");
        return b.duplicate().order(ByteOrder.BIG_ENDIAN).getInt();
    }

    /** A message's or nest's attributes by type (without the nested flag); each value a buffer of its payload. */
    static Map<Integer, ByteBuffer> attributes(ByteBuffer b) {
        if (b == null) throw new IllegalArgumentException("missing attribute");
        Map<Integer, ByteBuffer> out = new LinkedHashMap<>();
        for (ByteBuffer[] a : each(b)) {
            int type = a[0].getShort(2) & 0x7fff;
            if (out.put(type, a[1]) != null) throw new IllegalArgumentException("attribute " + type + " twice");
        }
        return out;
    }

    /** The payloads of a nest's list elements (type NFTA_LIST_ELEM each). */
    static List<ByteBuffer> list(ByteBuffer b) {
        List<ByteBuffer> out = new ArrayList<>();
        for (ByteBuffer[] a : each(b)) {
            if ((a[0].getShort(2) & 0x7fff) != NftNetlink.NFTA_LIST_ELEM) throw new IllegalArgumentException("not a list element");
            out.add(a[1]);
        }
        return out;
    }

    private static List<ByteBuffer[]> each(ByteBuffer b) {
        if (b == null) throw new IllegalArgumentException("missing attribute");
        ByteBuffer r = b.duplicate().order(ByteOrder.nativeOrder());
        List<ByteBuffer[]> out = new ArrayList<>();
        while (r.remaining() >= 4) {
            int at = r.position();
            int len = r.getShort(at) & 0xffff;
            if (len < 4 || at + len > r.limit()) throw new IllegalArgumentException("attribute length");
            ByteBuffer head = r.duplicate().position(at).limit(at + 4).slice().order(ByteOrder.nativeOrder());
            ByteBuffer payload = r.duplicate().position(at + 4).limit(at + len).slice().order(ByteOrder.nativeOrder());
            out.add(new ByteBuffer[] {head, payload});
            r.position(Math.min(r.limit(), at + ((len + 3) & ~3)));
        }
        if (r.remaining() != 0) throw new IllegalArgumentException("trailing bytes");
        return out;
    }

    private static String string(ByteBuffer b) {
        if (b == null || b.remaining() < 1) throw new IllegalArgumentException("missing string");
        byte[] raw = new byte[b.remaining()];
        b.duplicate().get(raw);
        if (raw[raw.length - 1] != 0) throw new IllegalArgumentException("string without NUL");
        return new String(raw, 0, raw.length - 1, StandardCharsets.US_ASCII);
    }
}
