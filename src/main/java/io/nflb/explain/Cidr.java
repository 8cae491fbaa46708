package io.nflb.explain;

import io.nflb.model.IpAddress;

/** An address with a prefix length, as -s / -d take them: "10.0.0.0/8", "10.0.0.1", "fd00::/64", "10.0.0.0/255.0.0.0". */
public record Cidr(byte[] network, int prefix) {

    public static Cidr parse(String text) {
        int slash = text.indexOf('/');
        String addr = slash < 0 ? text : text.substring(0, slash);
        IpAddress ip = IpAddress.parse(addr)
                .orElseThrow(() -> new IllegalArgumentException("not an address: " + text));
        byte[] bytes = ip.inet().getAddress();
        int prefix = bytes.length * 8;
        if (slash >= 0) {
            String p = text.substring(slash + 1);
            if (p.chars().allMatch(Character::isDigit) && !p.isEmpty()) {
                prefix = Integer.parseInt(p);
            } else {
                byte[] mask = IpAddress.parse(p).orElseThrow(() -> new IllegalArgumentException("bad mask: " + text))
                        .inet().getAddress();
                prefix = 0;
                for (byte b : mask) prefix += Integer.bitCount(b & 0xff);
            }
            if (prefix > bytes.length * 8) throw new IllegalArgumentException("bad prefix: " + text);
        }
        return new Cidr(bytes, prefix);
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
