package io.nflb.explain;

import io.nflb.model.IpAddress;
import io.nflb.model.Protocol;

import java.util.Optional;

/**
 * The first packet of a new connection, as the nat table sees it. A routed one ({@code local} false) enters
 * nat PREROUTING with an input interface; one the router opens itself enters nat OUTPUT with none.
 * An unknown {@code source} or {@code inIface} makes rules that test them "may match" (and says so).
 */
public record ConnectionProbe(Protocol protocol, IpAddress destination, int port, Optional<String> inIface,
                    Optional<IpAddress> source, boolean local) {

    public ConnectionProbe {
        if (protocol == null || destination == null) throw new IllegalArgumentException("incomplete probe");
        if (port < 1 || port > 65535) throw new IllegalArgumentException("port out of range: " + port);
        inIface = local || inIface == null ? Optional.empty() : inIface;
        source = source == null ? Optional.empty() : source;
    }

    public static ConnectionProbe routed(Protocol protocol, IpAddress destination, int port, String inIface) {
        return new ConnectionProbe(protocol, destination, port, Optional.ofNullable(inIface), Optional.empty(), false);
    }

    public static ConnectionProbe local(Protocol protocol, IpAddress destination, int port) {
        return new ConnectionProbe(protocol, destination, port, Optional.empty(), Optional.empty(), true);
    }

    /** The built-in nat chain this packet enters. */
    public String hook() {
        return local ? "OUTPUT" : "PREROUTING";
    }
}
