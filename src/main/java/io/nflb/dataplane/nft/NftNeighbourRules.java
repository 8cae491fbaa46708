package io.nflb.dataplane.nft;

import io.nflb.model.Firewall;
import io.nflb.model.IpAddress;
import io.nflb.model.PortRange;
import io.nflb.model.Prefix;
import io.nflb.plan.NeighbourRules;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static io.nflb.dataplane.nft.NftFirewallRenderer.each;
import static io.nflb.dataplane.nft.NftFirewallRenderer.ifname;
import static io.nflb.dataplane.nft.NftFirewallRenderer.nft;

/**
 * {@link NeighbourRules} as rules of nflb's fw_input and fw_forward, after nflb's own accepts. In nftables an
 * accept ends only this table's verdict: the neighbour's own tables (Docker's, libvirt's, kube-proxy's) still
 * decide, so "leave it to the neighbour" is an accept here, where iptables needs a RETURN. Written as nft
 * 1.0.6 lists them (verified against a kernel in NeighboursNetnsTest).
 */
final class NftNeighbourRules {

    private NftNeighbourRules() {
    }

    static List<String> rules(Firewall fw, String hook, NeighbourRules n) {
        List<String> r = new ArrayList<>();
        if (hook.equals("input")) {
            // One rule per interface and protocol, its ports as a set: "iifname "virbr0" udp dport { 53, 67 } accept".
            Map<String, List<PortRange>> byIfaceProto = new LinkedHashMap<>();
            for (NeighbourRules.Service s : n.services()) {
                byIfaceProto.computeIfAbsent(s.iface() + " " + s.protocol().keyword(), k -> new ArrayList<>()).add(s.port());
            }
            byIfaceProto.forEach((k, ports) -> {
                String[] w = k.split(" ");
                r.add("iifname " + ifname(w[0]) + " " + w[1] + " dport " + ports(ports) + " accept");
            });
        } else if (hook.equals("forward")) {
            for (NeighbourRules.Restriction x : n.restricted()) r.addAll(restriction(fw, x));
            for (NeighbourRules.Pass p : n.pass()) r.add(pass(p));
        }
        return r;
    }

    private static String ports(List<PortRange> ports) {
        List<PortRange> sorted = ports.stream().distinct().sorted(Comparator.comparingInt(PortRange::first)).toList();
        if (sorted.size() == 1) return sorted.get(0).nft();
        return "{ " + String.join(", ", sorted.stream().map(PortRange::nft).toList()) + " }";
    }

    private static List<String> restriction(Firewall fw, NeighbourRules.Restriction x) {
        String into = x.bridge().map(b -> "oifname " + ifname(b) + " ").orElse("");
        List<String> r = new ArrayList<>();
        for (Firewall.Rule rule : fw.allow()) {
            Optional<PortRange> nodePort = x.nodePort().map(p -> p.port());
            if (x.nodePort().isPresent() && (rule.protocol() != x.nodePort().get().protocol()
                    || (!rule.ports().isEmpty() && rule.ports().stream().noneMatch(p -> p.contains(nodePort.get().first()))))) {
                continue;
            }
            List<PortRange> ports = nodePort.map(List::of).orElse(rule.ports());
            String from = rule.iface().map(i -> "iifname " + ifname(i) + " ").orElse(x.bridge().map(b -> "iifname != " + ifname(b) + " ").orElse(""));
            for (IpAddress.Family f : List.of(IpAddress.Family.V4, IpAddress.Family.V6)) {
                if (!rule.families().contains(f)) continue;
                boolean both = rule.from().isEmpty() && rule.to().isEmpty();
                if (both && f == IpAddress.Family.V6) continue;
                String ip = f == IpAddress.Family.V4 ? "ip" : "ip6";
                for (Optional<Prefix> src : each(rule.from(f))) {
                    for (Optional<Prefix> dst : each(rule.to(f))) {
                        StringBuilder sb = new StringBuilder(into).append(from).append("ct status dnat ");
                        src.filter(p -> !p.isAny()).ifPresent(p -> sb.append(ip).append(" saddr ").append(nft(p)).append(' '));
                        dst.filter(p -> !p.isAny()).ifPresent(p -> sb.append("ct original ").append(ip).append(" daddr ").append(nft(p)).append(' '));
                        if (!both && src.filter(p -> !p.isAny()).isEmpty() && dst.filter(p -> !p.isAny()).isEmpty()) {
                            sb.append("meta nfproto ").append(f == IpAddress.Family.V4 ? "ipv4" : "ipv6").append(' ');
                        }
                        sb.append("meta l4proto ").append(rule.protocol().keyword());
                        // One rule per port: nft 1.0.6 lists "ct original proto-dst { 22, 2222 }" as invalid types.
                        if (ports.isEmpty()) r.add(sb.append(" accept").toString());
                        for (PortRange p : ports) r.add(sb + " ct original proto-dst " + p.nft() + " accept");
                    }
                }
            }
        }
        StringBuilder drop = new StringBuilder(into).append(x.bridge().map(b -> "iifname != " + ifname(b) + " ").orElse("")).append("ct status dnat");
        x.nodePort().ifPresent(p -> drop.append(" meta l4proto ").append(p.protocol().keyword()).append(" ct original proto-dst ").append(p.port().nft()));
        r.add(drop.append(" drop").toString());
        return r;
    }

    private static String pass(NeighbourRules.Pass p) {
        StringBuilder sb = new StringBuilder();
        p.in().ifPresent(i -> sb.append("iifname ").append(ifname(i)).append(' '));
        p.out().ifPresent(o -> sb.append("oifname ").append(ifname(o)).append(' '));
        p.source().ifPresent(x -> sb.append(ip(x)).append(" saddr ").append(nft(x)).append(' '));
        p.destination().ifPresent(x -> sb.append(ip(x)).append(" daddr ").append(nft(x)).append(' '));
        p.mark().ifPresent(m -> sb.append(String.format("meta mark & 0x%08x == 0x%08x ", m, m)));
        return sb.append("accept").toString();
    }

    private static String ip(Prefix p) {
        return p.family() == IpAddress.Family.V4 ? "ip" : "ip6";
    }
}
