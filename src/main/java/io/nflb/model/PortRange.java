package io.nflb.model;

/** One port or an inclusive range of ports. */
public record PortRange(int first, int last) {

    public PortRange {
        if (first < 1 || last > 65535 || first > last) throw new IllegalArgumentException("bad port range " + first + "-" + last);
    }

    public static PortRange of(int port) {
        return new PortRange(port, port);
    }

    public boolean contains(int port) {
        return port >= first && port <= last;
    }

    public String iptables() {
        return first == last ? Integer.toString(first) : first + ":" + last;
    }

    public String nft() {
        return first == last ? Integer.toString(first) : first + "-" + last;
    }
}
