package io.nflb.model;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;

/**
 * A literal IPv4 or IPv6 address, parsed without ever touching DNS. Its {@link #toString()} is the
 * canonical form that reaches rules, so two spellings of one address compare equal.
 */
public record IpAddress(InetAddress inet) {

    public enum Family { V4, V6 }

    public IpAddress {
        if (inet == null) throw new IllegalArgumentException("address is null");
    }

    /** Parses a literal address, or returns empty when {@code text} is not one (host names are refused). */
    public static Optional<IpAddress> parse(String text) {
        if (text == null || text.isEmpty() || text.length() > 45) return Optional.empty();
        if (text.indexOf(':') >= 0) return parseV6(text);
        byte[] bytes = new byte[4];
        return parseV4(text, bytes) ? Optional.of(fromBytes(bytes)) : Optional.empty();
    }

    /**
     * Four decimal octets 0..255 separated by dots, read in one pass into {@code out}; leading zeros are refused
     * (some tools read them as octal).
     */
    private static boolean parseV4(String text, byte[] out) {
        int octet = 0;
        int value = 0;
        int digits = 0;
        for (int i = 0, len = text.length(); i <= len; i++) {
            char c = i < len ? text.charAt(i) : '.';
            if (c >= '0' && c <= '9') {
                if (digits > 0 && value == 0) return false; // a leading zero
                value = value * 10 + (c - '0');
                if (++digits > 3 || value > 255) return false;
            } else if (c == '.') {
                if (digits == 0 || octet == 4) return false;
                out[octet++] = (byte) value;
                value = 0;
                digits = 0;
            } else {
                return false;
            }
        }
        return octet == 4;
    }

    private static Optional<IpAddress> parseV6(String text) {
        // Only hex digits, colons and an embedded dotted quad: InetAddress then never resolves a name.
        if (!text.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == ':' || c == '.')) {
            return Optional.empty();
        }
        if (text.chars().filter(c -> c == ':').count() < 2) return Optional.empty();
        try {
            return Optional.of(new IpAddress(InetAddress.getByName(text)));
        } catch (UnknownHostException e) {
            return Optional.empty();
        }
    }

    private static IpAddress fromBytes(byte[] bytes) {
        try {
            return new IpAddress(InetAddress.getByAddress(bytes));
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    public Family family() {
        return inet instanceof java.net.Inet4Address ? Family.V4 : Family.V6;
    }

    @Override
    public String toString() {
        String s = inet.getHostAddress();
        if (family() == Family.V6) {
            // getHostAddress does not compress zeros; the kernel tools print the RFC 5952 form.
            s = compressV6(inet.getAddress());
        }
        return s;
    }

    private static String compressV6(byte[] b) {
        int[] words = new int[8];
        for (int i = 0; i < 8; i++) words[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        int bestStart = -1, bestLen = 0;
        for (int i = 0; i < 8; ) {
            if (words[i] != 0) { i++; continue; }
            int j = i;
            while (j < 8 && words[j] == 0) j++;
            if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
            i = j;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') sb.append(':');
            sb.append(Integer.toHexString(words[i]));
        }
        return sb.toString();
    }
}
