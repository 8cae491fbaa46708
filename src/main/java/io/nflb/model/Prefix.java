package io.nflb.model;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;

/**
 * An address prefix such as 10.0.0.0/8 or 2001:db8::/32, always with its host bits zero: that is the form
 * both iptables-save and nft print back, so the rule text nflb writes compares equal to what it reads.
 */
public record Prefix(IpAddress network, int length) {

    public Prefix {
        if (network == null) throw new IllegalArgumentException("network is null");
        int max = maxLength(network.family());
        if (length < 0 || length > max) throw new IllegalArgumentException("prefix length " + length + " out of 0.." + max);
        if (!masked(network, length).equals(network)) {
            throw new IllegalArgumentException(network + "/" + length + " has host bits set");
        }
    }

    /** "a.b.c.d/n", "x::/n" or a bare address (a host prefix); empty when not one of those. */
    public static Optional<Prefix> parse(String text) {
        Optional<Unchecked> u = parseUnchecked(text);
        return u.filter(Unchecked::canonical).map(x -> new Prefix(x.address(), x.length()));
    }

    /** A parsed prefix whose host bits may be set, so an error can name the prefix that was meant. */
    public record Unchecked(IpAddress address, int length) {
        public boolean canonical() {
            return masked(address, length).equals(address);
        }

        public Prefix meant() {
            return new Prefix(masked(address, length), length);
        }
    }

    public static Optional<Unchecked> parseUnchecked(String text) {
        if (text == null) return Optional.empty();
        int slash = text.indexOf('/');
        Optional<IpAddress> address = IpAddress.parse(slash < 0 ? text : text.substring(0, slash));
        if (address.isEmpty()) return Optional.empty();
        int max = maxLength(address.get().family());
        if (slash < 0) return Optional.of(new Unchecked(address.get(), max));
        String len = text.substring(slash + 1);
        if (len.isEmpty() || len.length() > 3 || !len.chars().allMatch(Character::isDigit)) return Optional.empty();
        int n = Integer.parseInt(len);
        if (n > max) return Optional.empty();
        return Optional.of(new Unchecked(address.get(), n));
    }

    public IpAddress.Family family() {
        return network.family();
    }

    public boolean contains(IpAddress a) {
        return a.family() == family() && masked(a, length).equals(network);
    }

    /** 0.0.0.0/0 or ::/0. */
    public boolean isAny() {
        return length == 0;
    }

    static int maxLength(IpAddress.Family f) {
        return f == IpAddress.Family.V4 ? 32 : 128;
    }

    private static IpAddress masked(IpAddress a, int length) {
        byte[] b = a.inet().getAddress();
        BigInteger v = new BigInteger(1, b);
        int bits = b.length * 8;
        BigInteger mask = BigInteger.ONE.shiftLeft(bits).subtract(BigInteger.ONE)
                .xor(BigInteger.ONE.shiftLeft(bits - length).subtract(BigInteger.ONE));
        byte[] raw = v.and(mask).toByteArray();
        byte[] out = new byte[b.length];
        int copy = Math.min(raw.length, out.length);
        System.arraycopy(raw, raw.length - copy, out, out.length - copy, copy);
        try {
            return new IpAddress(InetAddress.getByAddress(out));
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return network + "/" + length;
    }
}
