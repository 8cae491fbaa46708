package io.nflb.explain;

import io.nflb.model.IpAddress;

import java.util.Optional;

/**
 * An address with a prefix length, as -s / -d take them: "10.0.0.0/8", "10.0.0.1", "fd00::/64",
 * "10.0.0.0/255.0.0.0". Read by our own code, not InetAddress: "::ffff:192.0.2.1/128" stays a 16-byte IPv6
 * value (Java would make it an IPv4 address, and /128 then no prefix of it).
 */
public record Cidr(byte[] network, int prefix) {

    /** A dotted mask whose ones are not contiguous: iptables keeps it as address+mask, no prefix can say it. */
    public static final class NonContiguousMask extends IllegalArgumentException {
        public NonContiguousMask(String text) {
            super("non-contiguous mask in " + text);
        }
    }

    public static Cidr parse(String text) {
        int slash = text.indexOf('/');
        String addr = slash < 0 ? text : text.substring(0, slash);
        byte[] bytes = address(addr).orElseThrow(() -> new IllegalArgumentException("not an address: " + text));
        int prefix = bytes.length * 8;
        if (slash >= 0) {
            String p = text.substring(slash + 1);
            if (!p.isEmpty() && p.length() <= 3 && p.chars().allMatch(Character::isDigit)) {
                prefix = Integer.parseInt(p);
            } else {
                byte[] mask = address(p).orElseThrow(() -> new IllegalArgumentException("bad mask: " + text));
                if (mask.length != bytes.length) throw new IllegalArgumentException("bad mask: " + text);
                prefix = 0;
                boolean zeros = false;
                for (byte b : mask) {
                    for (int bit = 7; bit >= 0; bit--) {
                        boolean one = (b >> bit & 1) != 0;
                        if (one && zeros) throw new NonContiguousMask(text);
                        if (one) prefix++;
                        else zeros = true;
                    }
                }
            }
            if (prefix > bytes.length * 8) throw new IllegalArgumentException("bad prefix: " + text);
        }
        return new Cidr(bytes, prefix);
    }

    /** The 4 or 16 bytes of a literal address, as written (an IPv4-mapped IPv6 address keeps its 16 bytes). */
    public static Optional<byte[]> address(String text) {
        if (text.indexOf(':') >= 0) return v6(text);
        return v4(text);
    }

    private static Optional<byte[]> v4(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) return Optional.empty();
        byte[] bytes = new byte[4];
        for (int i = 0; i < 4; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(c -> c >= '0' && c <= '9')) return Optional.empty();
            int v = Integer.parseInt(p);
            if (v > 255) return Optional.empty();
            bytes[i] = (byte) v;
        }
        return Optional.of(bytes);
    }

    private static Optional<byte[]> v6(String text) {
        if (text.length() > 45) return Optional.empty();
        int gap = text.indexOf("::");
        if (gap >= 0 && text.indexOf("::", gap + 1) >= 0) return Optional.empty();
        String head = gap < 0 ? text : text.substring(0, gap);
        String tail = gap < 0 ? "" : text.substring(gap + 2);
        int[] h = groups(head, gap < 0);
        int[] t = groups(tail, true);
        if (h == null || t == null) return Optional.empty();
        int total = h.length + t.length;
        if (gap < 0 ? total != 8 : total > 7) return Optional.empty();
        byte[] bytes = new byte[16];
        for (int i = 0; i < h.length; i++) {
            bytes[2 * i] = (byte) (h[i] >> 8);
            bytes[2 * i + 1] = (byte) h[i];
        }
        for (int i = 0; i < t.length; i++) {
            int at = 8 - t.length + i;
            bytes[2 * at] = (byte) (t[i] >> 8);
            bytes[2 * at + 1] = (byte) t[i];
        }
        return Optional.of(bytes);
    }

    /** 16-bit groups of one side of "::"; the last group may be a dotted quad when {@code last} allows it. */
    private static int[] groups(String side, boolean last) {
        if (side.isEmpty()) return new int[0];
        String[] parts = side.split(":", -1);
        int n = parts.length;
        boolean quad = last && parts[n - 1].indexOf('.') >= 0;
        int[] out = new int[quad ? n + 1 : n];
        for (int i = 0; i < n; i++) {
            String p = parts[i];
            if (quad && i == n - 1) {
                Optional<byte[]> v4 = v4(p);
                if (v4.isEmpty()) return null;
                out[i] = (v4.get()[0] & 0xff) << 8 | (v4.get()[1] & 0xff);
                out[i + 1] = (v4.get()[2] & 0xff) << 8 | (v4.get()[3] & 0xff);
            } else {
                if (p.isEmpty() || p.length() > 4) return null;
                int v = 0;
                for (char c : p.toCharArray()) {
                    int d = Character.digit(c, 16);
                    if (d < 0) return null;
                    v = v << 4 | d;
                }
                out[i] = v;
            }
        }
        return out;
    }

    public boolean isV6() {
        return network.length == 16;
    }

    public boolean contains(IpAddress address) {
        byte[] a = address.inet().getAddress();
        if (a.length != network.length) return false;
        for (int bit = 0; bit < prefix; bit++) {
            int m = 0x80 >>> (bit % 8);
            if ((a[bit / 8] & m) != (network[bit / 8] & m)) return false;
        }
        return true;
    }
}
