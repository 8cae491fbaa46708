package io.nflb.plan;

import io.nflb.model.Firewall;
import io.nflb.model.IpAddress.Family;
import io.nflb.model.NeighbourKind;
import io.nflb.model.NeighbourModes;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Everything nflb found in the kernel next to its own rules, read by the dataplane at plan, diff and apply
 * time: the neighbours it recognised, other tables and chains it owns no name for ({@code others}), the
 * families whose iptables FORWARD policy is DROP ({@code forwardDrop}: it drops whatever no iptables rule
 * accepts, nflb's own balanced traffic too), and notes for the operator. {@link #UNREAD} stands for "not read":
 * the dataplane reads the kernel itself; pure renderers take it as nothing found.
 */
public record Neighbourhood(boolean read, List<Neighbour> found, List<Foreign> others, Set<Family> forwardDrop,
                            List<String> notes) {

    public static final Neighbourhood UNREAD = new Neighbourhood(false, List.of(), List.of(), Set.of(), List.of());

    /**
     * A table or chain nflb does not recognise: {@code where} names it ("table inet foo", "iptables filter"),
     * {@code what} says what it hooks or holds, {@code filters}: it can drop packets nflb accepts (a base chain
     * at input or forward with policy drop, or an iptables INPUT/FORWARD policy DROP), which nflb cannot override.
     */
    public record Foreign(String where, String what, boolean filters) {
    }

    public Neighbourhood {
        found = List.copyOf(found);
        others = List.copyOf(others);
        forwardDrop = forwardDrop.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(forwardDrop));
        notes = List.copyOf(new LinkedHashSet<>(notes));
    }

    public static Neighbourhood of(List<Neighbour> found, List<Foreign> others, Set<Family> forwardDrop, List<String> notes) {
        return new Neighbourhood(true, found, others, forwardDrop, notes);
    }

    public static Neighbourhood empty() {
        return of(List.of(), List.of(), Set.of(), List.of());
    }

    public Optional<Neighbour> find(NeighbourKind kind) {
        return found.stream().filter(n -> n.kind() == kind).findFirst();
    }

    public boolean has(NeighbourKind kind) {
        return find(kind).isPresent();
    }

    /** What several readers saw (each rule language, each family) as one: one neighbour per kind. */
    public Neighbourhood merge(Neighbourhood o) {
        if (!o.read) return this;
        if (!read) return o;
        Map<NeighbourKind, Neighbour> byKind = new EnumMap<>(NeighbourKind.class);
        for (Neighbour n : found) byKind.merge(n.kind(), n, Neighbour::merge);
        for (Neighbour n : o.found) byKind.merge(n.kind(), n, Neighbour::merge);
        List<Foreign> foreign = new ArrayList<>(others);
        for (Foreign f : o.others) if (!foreign.contains(f)) foreign.add(f);
        Set<Family> drop = EnumSet.noneOf(Family.class);
        drop.addAll(forwardDrop);
        drop.addAll(o.forwardDrop);
        List<String> n = new ArrayList<>(notes);
        n.addAll(o.notes);
        return of(new ArrayList<>(byKind.values()), foreign, drop, n);
    }

    public Neighbourhood withNotes(List<String> more) {
        List<String> n = new ArrayList<>(notes);
        n.addAll(more);
        return new Neighbourhood(read, found, others, forwardDrop, n);
    }

    /**
     * The neighbourhood as the config sees it: a neighbour's {@code interfaces} and {@code networks} from the
     * config replace what was derived from its rules, and {@code other} with interfaces or networks becomes a
     * neighbour of its own. A setting for a neighbour that is not there changes nothing.
     */
    public Neighbourhood effective(NeighbourModes modes) {
        if (!read) return this;
        List<Neighbour> out = new ArrayList<>();
        for (Neighbour n : found) out.add(overridden(n, modes.of(n.kind())));
        NeighbourModes.Setting other = modes.of(NeighbourKind.OTHER);
        if (!other.interfaces().isEmpty() || !other.networks().isEmpty()) {
            out.add(overridden(Neighbour.builder(NeighbourKind.OTHER, "config").evidence(NeighbourKind.OTHER.configKey()).build(), other));
        }
        return new Neighbourhood(read, out, others, forwardDrop, notes);
    }

    private static Neighbour overridden(Neighbour n, NeighbourModes.Setting s) {
        if (!n.kind().managesNetworks() || (s.interfaces().isEmpty() && s.networks().isEmpty())) return n;
        String key = n.kind().configKey();
        List<String> derivation = new ArrayList<>();
        List<String> interfaces = n.interfaces();
        List<io.nflb.model.Prefix> networks = n.networks();
        if (!s.interfaces().isEmpty()) {
            interfaces = s.interfaces();
            derivation.add("interfaces " + String.join(", ", interfaces) + " from " + key + ".interfaces"
                    + (n.interfaces().isEmpty() ? "" : " (instead of " + String.join(", ", n.interfaces()) + ")"));
        }
        if (!s.networks().isEmpty()) {
            networks = s.networks();
            derivation.add("networks " + join(networks) + " from " + key + ".networks"
                    + (n.networks().isEmpty() ? "" : " (instead of " + join(n.networks()) + ")"));
        }
        for (String d : n.derivation()) {
            boolean replaced = (d.startsWith("network ") && !s.networks().isEmpty()) || (d.startsWith("interface") && !s.interfaces().isEmpty());
            if (!replaced) derivation.add(d);
        }
        return new Neighbour(n.kind(), n.via(), n.evidence(), interfaces, networks, derivation, n.published(), n.services(),
                n.mark(), n.userChain(), n.notes());
    }

    private static String join(List<?> items) {
        return String.join(", ", items.stream().map(String::valueOf).toList());
    }

    /**
     * What {@code status} and {@code apply} print: one headline per neighbour with how the config treats it,
     * then where each fact came from, then the others (with {@code allOthers}, else only those that also
     * filter) and the notes. Empty when nothing was found.
     */
    public List<String> describe(Optional<Firewall> firewall, boolean allOthers) {
        List<String> out = new ArrayList<>();
        NeighbourModes modes = firewall.map(Firewall::neighbours).orElse(NeighbourModes.defaults());
        for (Neighbour n : effective(modes).found) {
            StringBuilder head = new StringBuilder(n.kind().keyword()).append(" (").append(String.join(", ", n.via())).append(')');
            if (!n.interfaces().isEmpty()) head.append(": interfaces ").append(String.join(", ", n.interfaces()));
            if (!n.networks().isEmpty()) head.append("; networks ").append(join(n.networks()));
            if (!n.published().isEmpty()) {
                head.append(n.kind() == NeighbourKind.KUBE_PROXY ? "; node ports " : "; published ");
                head.append(String.join(", ", n.published().stream().map(p -> p.label() + (p.detail().isEmpty() ? "" : " " + p.detail())).toList()));
            }
            if (!n.services().isEmpty()) {
                head.append(n.kind().hostFirewall() ? "; allows " : "; serves ");
                head.append(String.join(", ", n.services().stream().map(p -> p.label() + p.iface().map(i -> " on " + i).orElse("")).toList()));
            }
            n.mark().ifPresent(m -> head.append("; mark 0x").append(Long.toHexString(m)));
            if (n.kind().hasMode()) {
                head.append(firewall.isPresent() ? "; " + n.kind().configKey() + ": " + modes.of(n.kind()).describe() : "; no firewall: section");
            }
            out.add(head.toString());
            out.add("    seen in: " + String.join(", ", n.evidence()));
            for (String d : n.derivation()) out.add("    " + d);
            for (String note : n.notes()) out.add("    note: " + note);
        }
        for (Foreign f : others) if (allOthers || f.filters()) out.add("other: " + f.where() + " (" + f.what() + ")" + (f.filters() ? "; it also filters, nflb cannot override it" : ""));
        for (String note : notes) out.add("note: " + note);
        return out;
    }
}
