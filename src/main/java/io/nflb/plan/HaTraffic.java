package io.nflb.plan;

import io.nflb.model.IpAddress;

import java.util.List;
import java.util.Optional;

/**
 * What a router of a pair must let through itself whatever its firewall says: the peers' VRRP adverts on
 * {@code iface} (unicast from {@code peers}, or multicast to {@link #VRRP_MULTICAST}) and its own, and
 * conntrackd's sync with {@code syncPeer} on {@code syncIface}.
 */
public record HaTraffic(String iface, List<IpAddress> peers, Optional<String> syncIface, Optional<IpAddress> syncPeer) {

    public static final String VRRP_MULTICAST = "224.0.0.18";
    /** conntrackd's UDP port on the sync link, both ways. */
    public static final int SYNC_PORT = 3780;

    public HaTraffic {
        peers = List.copyOf(peers);
        syncIface = syncIface == null ? Optional.empty() : syncIface;
        syncPeer = syncPeer == null ? Optional.empty() : syncPeer;
    }
}
