package io.nflb.model;

import java.util.OptionalInt;

/**
 * An address with an optional port as people type it: "10.0.0.1", "10.0.0.1:80", "2001:db8::1",
 * "[2001:db8::1]:80". The inverse of {@link Backend#endpoint()}; IPv6 needs brackets only when a port follows.
 */
public record HostPort(IpAddress address, OptionalInt port) {

    /** Parses {@code text}; the exception says what is wrong with it. */
    public static HostPort parse(String text) {
        String addressText = text;
        OptionalInt port = OptionalInt.empty();
        if (text.startsWith("[")) {
            int end = text.indexOf(']');
            if (end < 0) throw new IllegalArgumentException("'" + text + "': a '[' without its ']'");
            addressText = text.substring(1, end);
            String rest = text.substring(end + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) throw new IllegalArgumentException("'" + text + "': expected ':PORT' after ']'");
                port = OptionalInt.of(port(text, rest.substring(1)));
            }
        } else if (text.indexOf(':') >= 0 && text.indexOf(':') == text.lastIndexOf(':')) {
            // One colon: v4 with a port. Several: a bare IPv6 address, which cannot carry a port.
            addressText = text.substring(0, text.indexOf(':'));
            port = OptionalInt.of(port(text, text.substring(text.indexOf(':') + 1)));
        }
        IpAddress address = IpAddress.parse(addressText).orElseThrow(() ->
                new IllegalArgumentException("'" + text + "' is not an IP address (ADDRESS[:PORT], [V6]:PORT)"));
        return new HostPort(address, port);
    }

    private static int port(String text, String digits) {
        if (!digits.matches("[0-9]{1,5}") || Integer.parseInt(digits) < 1 || Integer.parseInt(digits) > 65535) {
            throw new IllegalArgumentException("'" + text + "': '" + digits + "' is not a port (1-65535)");
        }
        return Integer.parseInt(digits);
    }
}
