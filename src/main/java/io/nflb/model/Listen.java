package io.nflb.model;

import java.util.Optional;

/** What a service matches: a destination port, optionally a destination address and an input interface. */
public record Listen(int port, Optional<IpAddress> address, Optional<String> iface) {

    public Listen {
        if (port < 1 || port > 65535) throw new IllegalArgumentException("port out of range: " + port);
        address = address == null ? Optional.empty() : address;
        iface = iface == null ? Optional.empty() : iface;
        iface.ifPresent(Names::requireInterface);
    }
}
