package io.nflb.model;

import java.util.Optional;

/**
 * One real server behind a service. {@code port} is already defaulted from the service's listen port.
 * {@code health}: this backend's own check, which replaces the service's; empty to use the service's.
 */
public record Backend(IpAddress address, int port, int weight, Optional<HealthCheck> health) {

    public static final int MAX_WEIGHT = 1000;

    public Backend {
        if (address == null) throw new IllegalArgumentException("address is null");
        if (port < 1 || port > 65535) throw new IllegalArgumentException("port out of range: " + port);
        if (weight < 1 || weight > MAX_WEIGHT) throw new IllegalArgumentException("weight out of range: " + weight);
        health = health == null ? Optional.empty() : health;
    }

    /** A backend checked as its service says. */
    public Backend(IpAddress address, int port, int weight) {
        this(address, port, weight, Optional.empty());
    }

    /** address:port, with brackets for IPv6, as iptables' --to-destination and humans write it. */
    public String endpoint() {
        return address.family() == IpAddress.Family.V6 ? "[" + address + "]:" + port : address + ":" + port;
    }
}
