package io.nflb.plan;

import io.nflb.model.Firewall;
import io.nflb.model.IpAddress.Family;
import io.nflb.model.NeighbourKind;
import io.nflb.model.NeighbourModes;
import io.nflb.model.PortRange;
import io.nflb.model.Prefix;
import io.nflb.model.Protocol;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What nflb's firewall does about its neighbours' traffic, in no rule language; each renderer writes it in its
 * own. {@code deferInput}: a host firewall in allow mode is the authority for the router's input, so nflb
 * applies no input policy. {@code allowsOnlyPass}: a host firewall in restrict mode must also accept what
 * nflb's allow entries accept (iptables: RETURN instead of ACCEPT; nftables does that by itself). {@code pass}:
 * forwarded traffic nflb leaves to the neighbour (iptables RETURN, nft accept), checked after nflb's own
 * accepts. {@code services}: the router's services for a neighbour's network (libvirt's DHCP and DNS).
 * {@code restricted}: connections into a neighbour's network through its published ports or node ports, which
 * pass only where an allow entry covers them. Empty without a firewall or without neighbours.
 */
public record NeighbourRules(boolean deferInput, boolean allowsOnlyPass, List<Pass> pass, List<Service> services,
                             List<Restriction> restricted) {

    public static final NeighbourRules NONE = new NeighbourRules(false, false, List.of(), List.of(), List.of());

    /** Traffic in or out of an interface, from or to a network, or carrying a mark; {@code comment} names its neighbour. */
    public record Pass(String comment, Optional<String> in, Optional<String> out, Optional<Prefix> source,
                       Optional<Prefix> destination, Optional<Long> mark) {
    }

    public record Service(String comment, String iface, Protocol protocol, PortRange port) {
    }

    /**
     * Docker: every connection DNATed into {@code bridge} from outside it; kube-proxy: connections DNATed from
     * {@code nodePort}. {@code userChain}: the families where the rules go into Docker's DOCKER-USER.
     */
    public record Restriction(NeighbourKind kind, String comment, Optional<String> bridge, Optional<Neighbour.Port> nodePort,
                              java.util.Set<Family> userChain) {
    }

    public NeighbourRules {
        pass = List.copyOf(pass);
        services = List.copyOf(services);
        restricted = List.copyOf(restricted);
    }

    public boolean isEmpty() {
        return !deferInput && !allowsOnlyPass && pass.isEmpty() && services.isEmpty() && restricted.isEmpty();
    }

    /** The comment on nflb's rules for a neighbour: "nflb neighbour docker". */
    public static String comment(NeighbourKind kind) {
        return "nflb neighbour " + kind.keyword();
    }

    public static NeighbourRules of(Plan plan) {
        if (plan.firewall().isEmpty() || !plan.neighbours().read()) return NONE;
        Firewall fw = plan.firewall().get();
        NeighbourModes modes = fw.neighbours();
        Neighbourhood n = plan.effectiveNeighbours();
        boolean defer = false, onlyPass = false;
        List<Pass> pass = new ArrayList<>();
        List<Service> services = new ArrayList<>();
        List<Restriction> restricted = new ArrayList<>();
        for (Neighbour x : n.found()) {
            NeighbourKind k = x.kind();
            if (!k.hasMode()) continue;
            NeighbourModes.Mode mode = modes.mode(k);
            String c = comment(k);
            if (k.hostFirewall()) {
                defer |= mode == NeighbourModes.Mode.ALLOW;
                onlyPass |= mode == NeighbourModes.Mode.RESTRICT;
                continue;
            }
            if (mode == NeighbourModes.Mode.IGNORE) continue;
            boolean restrict = mode == NeighbourModes.Mode.RESTRICT;
            if (restrict && k == NeighbourKind.DOCKER) {
                for (String i : x.interfaces()) restricted.add(new Restriction(k, c + " restrict", Optional.of(i), Optional.empty(), x.userChain()));
            }
            if (restrict && k == NeighbourKind.KUBE_PROXY) {
                for (Neighbour.Port p : x.published()) restricted.add(new Restriction(k, c + " restrict", Optional.empty(), Optional.of(p), java.util.Set.of()));
            }
            x.mark().ifPresent(m -> pass.add(new Pass(c, Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.of(m))));
            for (String i : x.interfaces()) {
                // libvirt restrict: a VM's way out goes through firewall.forward like any other; its replies and DHCP stay.
                if (!(restrict && k == NeighbourKind.LIBVIRT)) pass.add(new Pass(c, Optional.of(i), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty()));
                pass.add(new Pass(c, Optional.empty(), Optional.of(i), Optional.empty(), Optional.empty(), Optional.empty()));
            }
            // Docker's and libvirt's networks sit behind their bridges: the interfaces say it all. Pods are routed.
            if (k == NeighbourKind.KUBE_PROXY || k == NeighbourKind.OTHER) {
                for (Prefix p : x.networks()) {
                    pass.add(new Pass(c, Optional.empty(), Optional.empty(), Optional.of(p), Optional.empty(), Optional.empty()));
                    pass.add(new Pass(c, Optional.empty(), Optional.empty(), Optional.empty(), Optional.of(p), Optional.empty()));
                }
            }
            for (Neighbour.Port s : x.services()) {
                s.iface().ifPresent(i -> services.add(new Service(c, i, s.protocol(), s.port())));
            }
        }
        boolean inputDrops = fw.input() == Firewall.Policy.DROP && !defer;
        // Without a forward drop nothing of the neighbours' is dropped, and restrict has nothing to restrict within.
        boolean forwardDrops = fw.forward() == Firewall.Policy.DROP;
        return new NeighbourRules(defer && fw.input() == Firewall.Policy.DROP, onlyPass && inputDrops,
                forwardDrops ? pass : List.of(), inputDrops ? services : List.of(), forwardDrops ? restricted : List.of());
    }
}
