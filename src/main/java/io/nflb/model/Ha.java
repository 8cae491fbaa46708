package io.nflb.model;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The {@code ha:} section: this router's part in a pair (or group) of routers. {@code vrrp}: one primary
 * holds the service addresses and the servers' gateway, keepalived moves them, conntrackd copies the NAT
 * state over {@code sync}. {@code ecmp}: every router carries the service addresses and translates without
 * state; VRRP only moves the servers' gateway addresses (this router's own, {@code gateway.address}, and the
 * peers', {@code gateway.peerAddresses}). {@code peers}: the other routers' addresses on {@code iface}, where
 * VRRP adverts go by unicast (multicast when empty).
 */
public record Ha(Mode mode, String iface, int routerId, int priority, List<IpAddress> peers, Duration advertInterval,
                 boolean preempt, Optional<Gateway> gateway, Optional<Sync> sync) {

    public enum Mode {
        VRRP, ECMP;

        public String keyword() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** VRRPv3 counts adverts in centiseconds, 12 bits. */
    public static final Duration MIN_ADVERT = Duration.ofMillis(10);
    public static final Duration MAX_ADVERT = Duration.ofMillis(40_950);

    /** An address as it sits on an interface: host bits kept, with the length of its subnet (192.168.2.1/24). */
    public record InterfaceAddress(IpAddress address, int length) {
        public InterfaceAddress {
            if (address == null) throw new IllegalArgumentException("address is null");
            int max = address.family() == IpAddress.Family.V4 ? 32 : 128;
            if (length < 1 || length > max) throw new IllegalArgumentException("prefix length " + length + " out of 1.." + max);
        }

        @Override
        public String toString() {
            return address + "/" + length;
        }
    }

    /** The servers' default route: {@code address} moves with this router's VIPs (vrrp) or is this router's own (ecmp). */
    public record Gateway(String iface, InterfaceAddress address, List<InterfaceAddress> peerAddresses) {
        public Gateway {
            Names.requireInterface(iface);
            if (address == null) throw new IllegalArgumentException("gateway address is null");
            peerAddresses = List.copyOf(peerAddresses);
        }

        /** Every gateway address of the group, in address order: the same list on every router. */
        public List<InterfaceAddress> all() {
            List<InterfaceAddress> all = new java.util.ArrayList<>(peerAddresses);
            all.add(address);
            all.sort(java.util.Comparator.comparing(a -> new java.math.BigInteger(1, a.address().inet().getAddress())));
            return all;
        }
    }

    /** conntrackd's link: this router's interface on it, and the peer's address there. */
    public record Sync(String iface, IpAddress peer) {
        public Sync {
            Names.requireInterface(iface);
            if (peer == null) throw new IllegalArgumentException("sync peer is null");
        }
    }

    public Ha {
        if (mode == null) throw new IllegalArgumentException("mode is null");
        Names.requireInterface(iface);
        if (iface.endsWith("+")) throw new IllegalArgumentException("ha interface cannot be a wildcard: " + iface);
        if (routerId < 1 || routerId > 255) throw new IllegalArgumentException("router_id out of 1..255: " + routerId);
        if (priority < 1 || priority > 254) throw new IllegalArgumentException("priority out of 1..254: " + priority);
        peers = List.copyOf(peers);
        if (advertInterval == null || advertInterval.compareTo(MIN_ADVERT) < 0 || advertInterval.compareTo(MAX_ADVERT) > 0
                || advertInterval.toMillis() % 10 != 0 || advertInterval.toNanos() % 1_000_000 != 0) {
            throw new IllegalArgumentException("advert interval must be 10ms..40950ms in 10ms steps: " + advertInterval);
        }
        gateway = gateway == null ? Optional.empty() : gateway;
        sync = sync == null ? Optional.empty() : sync;
        if (mode == Mode.ECMP && sync.isPresent()) throw new IllegalArgumentException("ecmp mode has no state sync");
        if (mode == Mode.ECMP && gateway.isEmpty()) throw new IllegalArgumentException("ecmp mode needs a gateway");
        if (mode == Mode.VRRP && gateway.isPresent() && !gateway.get().peerAddresses().isEmpty()) {
            throw new IllegalArgumentException("gateway peer addresses are for ecmp mode");
        }
        if (mode == Mode.ECMP && routerId + gateway.get().peerAddresses().size() > 255) {
            throw new IllegalArgumentException("ecmp gateway instances need router ids up to 255");
        }
    }

    /** The VRRP instance id of each gateway address in ecmp mode: router_id, router_id + 1, ... in {@link Gateway#all()} order. */
    public int gatewayRouterId(InterfaceAddress gatewayAddress) {
        int i = gateway.orElseThrow().all().indexOf(gatewayAddress);
        if (i < 0) throw new IllegalArgumentException("not a gateway address: " + gatewayAddress);
        return routerId + i;
    }
}
