package io.nflb.render;

import io.nflb.model.Backend;
import io.nflb.model.IpAddress;
import io.nflb.model.Service;
import io.nflb.model.Snat;
import io.nflb.plan.BackendPlan;
import io.nflb.plan.Plan;
import io.nflb.plan.Selection;
import io.nflb.plan.ServicePlan;

import java.util.ArrayList;
import java.util.List;

/**
 * Writes a plan as one nft script for {@code table ip nflb}, nflb's own table. Dispatch is one lookup in a
 * verdict map keyed by destination address, protocol and port, so a new connection costs the same with one
 * service or ten thousand; the backend is chosen by a second lookup (numgen or jhash into a verdict map), and
 * each backend has a chain of its own whose counter counts its new connections.
 * The script replaces the table atomically: "table {}; delete table; table {...}" works whether it exists or not.
 * An ip (not inet) table: nat rules need an address family, and IPv6 gets its own ip6 table when it comes.
 */
public final class NftRenderer {

    public static final String TABLE = "nflb";
    /** Fixed, so every router with the same config hashes a client to the same backend (ECMP-safe). */
    private static final String MAGLEV_SEED = "0x6e666c62";

    private NftRenderer() {
    }

    public static String render(Plan plan) {
        List<ServicePlan> services = plan.services();
        for (ServicePlan s : services) check(s.service());
        StringBuilder sb = new StringBuilder();
        sb.append("table ip ").append(TABLE).append(" {}\n");
        sb.append("delete table ip ").append(TABLE).append('\n');
        sb.append("table ip ").append(TABLE).append(" {\n");
        sb.append("\tmap services {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n");
        if (!services.isEmpty()) {
            List<String> elements = new ArrayList<>();
            for (ServicePlan s : services) {
                Service svc = s.service();
                elements.add(svc.listen().address().orElseThrow() + " . " + svc.protocol().keyword() + " . "
                        + svc.listen().port() + " : jump " + serviceChain(svc));
            }
            sb.append("\t\telements = { ").append(String.join(",\n\t\t\t     ", elements)).append(" }\n");
        }
        sb.append("\t}\n");
        sb.append("\n\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n")
                .append("\t\tip daddr . meta l4proto . th dport vmap @services\n\t}\n");
        sb.append("\n\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n")
                .append("\t\tip daddr . meta l4proto . th dport vmap @services\n\t}\n");
        sb.append("\n\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
        for (ServicePlan s : services) {
            Service svc = s.service();
            if (svc.snat() != Snat.MASQUERADE) continue;
            // Only connections this service DNATed: conntrack remembers where they were originally going.
            sb.append("\t\tmeta l4proto ").append(svc.protocol().keyword()).append(" ct status dnat ct original ip daddr ")
                    .append(svc.listen().address().orElseThrow()).append(" ct original proto-dst ").append(svc.listen().port())
                    .append(" masquerade comment ").append(quote(svc.name() + " masquerade")).append('\n');
        }
        sb.append("\t}\n");
        for (ServicePlan s : services) {
            Service svc = s.service();
            sb.append("\n\tchain ").append(serviceChain(svc)).append(" {\n");
            svc.listen().iface().ifPresent(i -> sb.append("\t\tiifname != ").append(quote(i.replace("+", "*"))).append(" return\n"));
            sb.append("\t\t").append(selection(s)).append(" comment ").append(quote(svc.name() + " " + svc.scheduler().keyword())).append('\n');
            sb.append("\t}\n");
            for (int b = 0; b < s.backends().size(); b++) {
                Backend be = s.backends().get(b).backend();
                sb.append("\n\tchain ").append(backendChain(svc, b)).append(" {\n\t\tcounter meta l4proto ")
                        .append(svc.protocol().keyword()).append(" dnat to ").append(be.endpoint()).append(" comment ")
                        .append(quote(svc.name() + " -> " + be.endpoint())).append("\n\t}\n");
            }
        }
        sb.append("}\n");
        return sb.toString();
    }

    private static String selection(ServicePlan s) {
        Service svc = s.service();
        List<Integer> slots = new ArrayList<>();
        String numgen;
        if (s.selection() instanceof Selection.Maglev m) {
            // Inline, not a named map: nft 1.0.6 crashes (exit 139) listing a named map typed "typeof jhash".
            slots.addAll(m.table());
            numgen = "jhash ip saddr . th sport";
        } else if (s.selection() instanceof Selection.Cycle c) {
            slots.addAll(c.slots());
            numgen = "numgen inc";
        } else {
            // Random: every backend gets as many slots as its weight, and numgen random picks a slot uniformly.
            for (int b = 0; b < s.backends().size(); b++) {
                BackendPlan bp = s.backends().get(b);
                for (int k = 0; k < bp.weight(); k++) slots.add(b);
            }
            numgen = "numgen random";
        }
        List<String> elements = new ArrayList<>();
        for (int i = 0; i < slots.size(); i++) elements.add(i + " : jump " + backendChain(svc, slots.get(i)));
        String seed = s.selection() instanceof Selection.Maglev ? " seed " + MAGLEV_SEED : "";
        return numgen + " mod " + slots.size() + seed + " vmap { " + String.join(", ", elements) + " }";
    }

    private static void check(Service svc) {
        if (svc.listen().address().isEmpty()) {
            throw new IllegalArgumentException("service " + svc.name() + ": the nftables backend needs listen.address for now"
                    + " (interface-only and port-only services work with backend: iptables)");
        }
        if (svc.listen().address().get().family() != IpAddress.Family.V4) {
            throw new IllegalArgumentException("service " + svc.name() + ": IPv6 is not in the nftables backend yet");
        }
        if (svc.affinity().isPresent()) {
            throw new IllegalArgumentException("service " + svc.name() + ": affinity is not in the nftables backend yet (use backend: iptables)");
        }
    }

    /** Chain names are derived from the service name and the backend's position, never from run order. */
    public static String serviceChain(Service svc) {
        return "svc_" + svc.name().replace('-', '_');
    }

    public static String backendChain(Service svc, int backend) {
        return "be_" + svc.name().replace('-', '_') + "_" + backend;
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
