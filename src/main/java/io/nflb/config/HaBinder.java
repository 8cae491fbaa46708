package io.nflb.config;

import io.nflb.model.Backend;
import io.nflb.model.BackendKind;
import io.nflb.model.Ha;
import io.nflb.model.IpAddress;
import io.nflb.model.Prefix;
import io.nflb.model.Scheduler;
import io.nflb.model.Service;
import io.nflb.model.Snat;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The {@code ha:} section, and what it asks of the services, bound like the rest of nflb.yaml. */
final class HaBinder {


    private final Problems problems;
    /** The section as opened, for errors the later checks place in it. */
    private YamlMap opened;

    HaBinder(Problems problems) {
        this.problems = problems;
    }

    Optional<Ha> ha(YamlNode node) {
        return node.mapping(ConfigSchema.HA).flatMap(m -> {
            opened = m;
            int mark = problems.mark();
            Optional<Ha.Mode> mode = m.orDefault("mode", n -> n.keyword("ha mode", List.of(Ha.Mode.values()), Ha.Mode::keyword));
            Optional<String> iface = m.require("interface", HaBinder::plainInterface);
            Optional<Integer> routerId = m.require("router_id", YamlNode::integer);
            Optional<Integer> priority = m.require("priority", YamlNode::integer);
            Optional<List<IpAddress>> peers = m.optional("peers", List.of(), this::peers);
            Optional<Duration> advert = m.orDefault("advert_interval", HaBinder::advert);
            Optional<Boolean> preempt = m.orDefault("preempt", YamlNode::bool);
            Optional<Ha.Gateway> gateway = m.optional("gateway", this::gateway);
            Optional<Ha.Sync> sync = m.optional("sync", this::sync);
            mode.ifPresent(md -> {
                if (md == Ha.Mode.ECMP) {
                    m.get("sync").ifPresent(n -> n.error("'sync' applies only to 'mode: vrrp': in ecmp mode every router"
                            + " translates without state, so there is nothing to copy"));
                    if (m.get("gateway").isEmpty()) {
                        m.node().error("'mode: ecmp' needs 'gateway': the servers' replies must reach a live router without"
                                + " help from a dead one (give this router's gateway address and the peers' in peer_addresses)");
                    }
                } else {
                    m.get("gateway").flatMap(g -> gateway.filter(x -> !x.peerAddresses().isEmpty()).map(x -> g))
                            .ifPresent(g -> g.error("'peer_addresses' applies only to 'mode: ecmp': in vrrp mode the one"
                                    + " gateway address moves with the primary"));
                }
            });
            if (gateway.isPresent() && routerId.isPresent() && mode.orElse(Ha.Mode.VRRP) == Ha.Mode.ECMP
                    && routerId.get() + gateway.get().peerAddresses().size() > 255) {
                m.get("router_id").orElseThrow().error("router_id " + routerId.get() + " leaves no room: ecmp mode uses one VRRP"
                        + " id per gateway address, router_id to router_id + " + gateway.get().peerAddresses().size() + ", at most 255");
            }
            return problems.buildIfNoneSince(mark, () -> new Ha(mode.get(), iface.get(), routerId.get(), priority.get(),
                    peers.get(), advert.get(), preempt.get(), gateway, sync));
        });
    }

    private static Optional<String> plainInterface(YamlNode node) {
        return ConfigBinder.interfaceName(node).filter(name -> {
            if (!name.endsWith("+")) return true;
            node.error("'" + name + "' is a wildcard; ha needs one real interface");
            return false;
        });
    }

    private Optional<List<IpAddress>> peers(YamlNode node) {
        return node.sequence().flatMap(items -> {
            if (items.isEmpty()) {
                node.error("peers is empty; leave it out for multicast adverts, or list the other routers' addresses");
                return Optional.empty();
            }
            int mark = problems.mark();
            List<IpAddress> out = new ArrayList<>();
            Map<IpAddress, Integer> lines = new HashMap<>();
            for (YamlNode item : items) {
                item.address().ifPresent(a -> {
                    Integer first = lines.putIfAbsent(a, item.line());
                    if (first != null) item.error("duplicate peer " + a + "; first at line " + first);
                    else if (a.family() != IpAddress.Family.V4) item.error("peer " + a + " is IPv6; ha supports IPv4 only for now");
                    else out.add(a);
                });
            }
            return problems.buildIfNoneSince(mark, () -> out);
        });
    }

    private static Optional<Duration> advert(YamlNode node) {
        return node.duration().filter(d -> {
            if (d.compareTo(Ha.MIN_ADVERT) < 0 || d.compareTo(Ha.MAX_ADVERT) > 0) {
                node.error("advert_interval " + d.toMillis() + "ms is out of range; expected 10ms..40950ms (VRRPv3)");
            } else if (d.toMillis() % 10 != 0) {
                node.error("advert_interval " + d.toMillis() + "ms is not a multiple of 10ms; VRRPv3 counts in centiseconds");
            } else {
                return true;
            }
            return false;
        });
    }

    private Optional<Ha.Gateway> gateway(YamlNode node) {
        return node.mapping(ConfigSchema.HA_GATEWAY).flatMap(m -> {
            int mark = problems.mark();
            Optional<String> iface = m.require("interface", HaBinder::plainInterface);
            Optional<Ha.InterfaceAddress> address = m.require("address", HaBinder::interfaceAddress);
            Optional<List<Ha.InterfaceAddress>> others = m.optional("peer_addresses", List.of(), n -> n.sequence().flatMap(items -> {
                if (items.isEmpty()) {
                    n.error("peer_addresses is empty; list the other routers' gateway addresses, or leave it out");
                    return Optional.empty();
                }
                int im = problems.mark();
                List<Ha.InterfaceAddress> out = new ArrayList<>();
                for (YamlNode item : items) {
                    interfaceAddress(item).ifPresent(a -> {
                        if (address.isPresent() && address.get().address().equals(a.address())
                                || out.stream().anyMatch(o -> o.address().equals(a.address()))) {
                            item.error("duplicate gateway address " + a.address());
                        } else {
                            out.add(a);
                        }
                    });
                }
                return problems.buildIfNoneSince(im, () -> out);
            }));
            return problems.buildIfNoneSince(mark, () -> new Ha.Gateway(iface.get(), address.get(), others.get()));
        });
    }

    /** ADDRESS/LENGTH as on an interface: the host part is the point, the length that of the subnet. */
    private static Optional<Ha.InterfaceAddress> interfaceAddress(YamlNode node) {
        return node.string().flatMap(text -> {
            Optional<Prefix.Unchecked> p = text.contains("/") ? Prefix.parseUnchecked(text) : Optional.empty();
            if (p.isEmpty()) {
                node.error("'" + text + "' is not an interface address; expected ADDRESS/LENGTH such as 192.168.2.1/24");
                return Optional.empty();
            }
            if (p.get().address().family() != IpAddress.Family.V4) {
                node.error("gateway " + text + " is IPv6; ha supports IPv4 only for now");
                return Optional.empty();
            }
            if (p.get().length() < 1) {
                node.error("gateway " + text + " has prefix length 0; expected the length of the servers' subnet");
                return Optional.empty();
            }
            return Optional.of(new Ha.InterfaceAddress(p.get().address(), p.get().length()));
        });
    }

    private Optional<Ha.Sync> sync(YamlNode node) {
        return node.mapping(ConfigSchema.HA_SYNC).flatMap(m -> {
            int mark = problems.mark();
            Optional<String> iface = m.require("interface", HaBinder::plainInterface);
            Optional<IpAddress> peer = m.require("peer", n -> n.address().filter(a -> {
                if (a.family() == IpAddress.Family.V4) return true;
                n.error("sync peer " + a + " is IPv6; ha supports IPv4 only for now");
                return false;
            }));
            return problems.buildIfNoneSince(mark, () -> new Ha.Sync(iface.get(), peer.get()));
        });
    }

    /** Where a bound service came from, for errors about it that only the ha section makes. */
    record ServiceNodes(YamlMap service, List<YamlNode> backends) {
    }

    /**
     * What two routers ask of the rest of the file: the service addresses move (IPv4 only for now); in ecmp mode
     * every service is translated without state, which needs nftables, maglev, an address to key on, and a
     * backend endpoint that names one service only (a reply is mapped back by its source alone).
     */
    void check(Ha ha, BackendKind backend, List<Service> services, Map<String, ServiceNodes> nodes) {
        YamlMap haNode = opened;
        YamlNode modeNode = haNode.get("mode").orElse(haNode.node());
        boolean ecmp = ha.mode() == Ha.Mode.ECMP;
        if (ecmp && backend == BackendKind.IPTABLES) {
            modeNode.error("'mode: ecmp' needs 'backend: nftables' (or auto): iptables cannot rewrite addresses without"
                    + " connection state, which every router of an ecmp group must do");
        }
        Map<String, String> endpointOwner = new HashMap<>();
        for (Service s : services) {
            ServiceNodes n = nodes.get(s.name());
            if (n == null) continue;
            YamlNode listen = n.service().get("listen").orElse(n.service().node());
            if (s.listen().address().filter(a -> a.family() == IpAddress.Family.V6).isPresent()) {
                listen.error("service '" + s.name() + "' listens on IPv6 address " + s.listen().address().get()
                        + "; ha supports IPv4 only for now");
            }
            if (!ecmp) continue;
            if (s.listen().address().isEmpty()) {
                listen.error("service '" + s.name() + "' has no listen address; 'mode: ecmp' translates by service address, which"
                        + " the upstream routes to every router");
            }
            if (s.scheduler() != Scheduler.MAGLEV) {
                n.service().get("scheduler").orElse(n.service().node()).error("service '" + s.name() + "' uses scheduler '"
                        + s.scheduler().keyword() + "'; 'mode: ecmp' needs 'scheduler: maglev' on every service, so that every"
                        + " router picks the same backend for a flow without state");
            }
            if (s.affinity().isPresent()) n.service().get("affinity").orElseThrow().error("affinity keeps per-router state; 'mode: ecmp' cannot use it");
            if (s.limits().isPresent()) n.service().get("limits").orElseThrow().error("limits count connections in conntrack; 'mode: ecmp' translates without it");
            if (s.snat() != Snat.NONE) n.service().get("snat").orElseThrow().error("snat needs connection state; 'mode: ecmp' translates"
                    + " without it (the servers route replies through the gateway addresses instead)");
            for (int i = 0; i < s.backends().size() && i < n.backends().size(); i++) {
                Backend b = s.backends().get(i);
                String key = s.protocol().keyword() + " " + b.endpoint();
                String first = endpointOwner.putIfAbsent(key, s.name());
                if (first != null && !first.equals(s.name())) {
                    n.backends().get(i).error("backend " + b.endpoint() + " (" + s.protocol().keyword() + ") also serves service '"
                            + first + "'; in 'mode: ecmp' a reply is translated back by its source alone, so an endpoint serves one service");
                }
            }
        }
    }
}
