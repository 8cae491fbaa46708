package io.nflb.plan;

import io.nflb.model.IpAddress.Family;
import io.nflb.model.Names;
import io.nflb.model.NeighbourKind;
import io.nflb.model.PortRange;
import io.nflb.model.Prefix;
import io.nflb.model.Protocol;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * One other rule manager as nflb recognised it in the kernel, in no rule language: where it was seen
 * ({@code via}: "iptables", "ip6tables", "nftables"), the tables and chains that gave it away ({@code evidence}),
 * the interfaces and networks it manages and where each came from ({@code derivation}), the ports it publishes
 * into its networks (Docker's published ports, kube-proxy's node ports), the services it runs on the router
 * for them (libvirt's DHCP and DNS) or lets in (a host firewall's allowed ports), kube-proxy's masquerade mark,
 * the families where Docker's DOCKER-USER chain is in the iptables nflb writes ({@code userChain}), and notes.
 * Every interface name has been checked ({@link Names#requireInterface}) before it got here.
 */
public record Neighbour(NeighbourKind kind, List<String> via, List<String> evidence, List<String> interfaces,
                        List<Prefix> networks, List<String> derivation, List<Port> published, List<Port> services,
                        Optional<Long> mark, Set<Family> userChain, List<String> notes) {

    /** A port: what it leads to ({@code detail}) and, where known, the interface it is on or leads into. */
    public record Port(Protocol protocol, PortRange port, Optional<String> iface, String detail) {
        public Port {
            iface.ifPresent(Names::requireInterface);
        }

        public String label() {
            return protocol.keyword() + "/" + port.nft();
        }
    }

    public Neighbour {
        via = List.copyOf(via);
        evidence = List.copyOf(evidence);
        interfaces = List.copyOf(interfaces);
        interfaces.forEach(Names::requireInterface);
        networks = List.copyOf(networks);
        derivation = List.copyOf(derivation);
        published = List.copyOf(published);
        services = List.copyOf(services);
        mark = mark == null ? Optional.empty() : mark;
        userChain = userChain.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(userChain));
        notes = List.copyOf(notes);
    }

    public static Builder builder(NeighbourKind kind, String via) {
        return new Builder(kind).via(via);
    }

    /** Facts about a neighbour found outside its rules (the routing table), to merge with what its rules showed. */
    public static Builder facts(NeighbourKind kind) {
        return new Builder(kind);
    }

    /** Both views of one neighbour (its iptables and its nftables rules, or both families) as one. */
    Neighbour merge(Neighbour o) {
        if (o.kind != kind) throw new IllegalArgumentException("merging " + kind + " with " + o.kind);
        Builder b = new Builder(kind);
        for (Neighbour n : List.of(this, o)) {
            n.via.forEach(b::via);
            n.evidence.forEach(b::evidence);
            n.interfaces.forEach(b::iface);
            n.networks.forEach(p -> b.networks.add(p));
            n.derivation.forEach(b::derived);
            n.published.forEach(b::published);
            n.services.forEach(b::service);
            n.mark.ifPresent(b::mark);
            b.userChain.addAll(n.userChain);
            n.notes.forEach(b::note);
        }
        return b.build();
    }

    /** The networks of one family. */
    public List<Prefix> networks(Family family) {
        return networks.stream().filter(p -> p.family() == family).toList();
    }

    /** What readers collect, in the order they find it; duplicates are kept once. */
    public static final class Builder {
        private final NeighbourKind kind;
        private final Set<String> via = new LinkedHashSet<>();
        private final Set<String> evidence = new LinkedHashSet<>();
        private final Set<String> interfaces = new LinkedHashSet<>();
        private final Set<Prefix> networks = new LinkedHashSet<>();
        private final Set<String> derivation = new LinkedHashSet<>();
        private final Set<Port> published = new LinkedHashSet<>();
        private final Set<Port> services = new LinkedHashSet<>();
        private final Set<Family> userChain = EnumSet.noneOf(Family.class);
        private final Set<String> notes = new LinkedHashSet<>();
        private Long mark;

        private Builder(NeighbourKind kind) {
            this.kind = kind;
        }

        public Builder via(String v) {
            via.add(v);
            return this;
        }

        public Builder evidence(String e) {
            evidence.add(e);
            return this;
        }

        /** An interface the neighbour manages; a name nflb could not write into a rule is noted and left out. */
        public Builder iface(String name) {
            try {
                interfaces.add(Names.requireInterface(name));
            } catch (IllegalArgumentException e) {
                notes.add("interface name " + printable(name) + " left out: not a name nflb writes into rules");
            }
            return this;
        }

        public Builder network(Prefix p, String from) {
            if (networks.add(p)) derivation.add("network " + p + " from " + from);
            return this;
        }

        public Builder derived(String line) {
            derivation.add(line);
            return this;
        }

        public Builder published(Port p) {
            published.add(p);
            return this;
        }

        public Builder service(Port p) {
            services.add(p);
            return this;
        }

        /** A packet mark the neighbour sets; one that is not a 32-bit mark is noted and left out. */
        public Builder mark(long m) {
            if (m > 0 && m <= 0xffffffffL) mark = m;
            else notes.add("mark " + m + " left out: not a 32-bit packet mark");
            return this;
        }

        public Builder userChain(Family f) {
            userChain.add(f);
            return this;
        }

        public Builder note(String n) {
            notes.add(n);
            return this;
        }

        public boolean hasNetworks() {
            return !networks.isEmpty();
        }

        public Neighbour build() {
            return new Neighbour(kind, new ArrayList<>(via), new ArrayList<>(evidence), new ArrayList<>(interfaces),
                    new ArrayList<>(networks), new ArrayList<>(derivation), new ArrayList<>(published),
                    new ArrayList<>(services), Optional.ofNullable(mark), userChain, new ArrayList<>(notes));
        }

        private static String printable(String s) {
            StringBuilder sb = new StringBuilder("'");
            for (char c : s.toCharArray()) sb.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\x%02x", (int) c));
            return sb.append('\'').toString();
        }
    }
}
