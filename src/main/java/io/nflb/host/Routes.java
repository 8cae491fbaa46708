package io.nflb.host;

import io.nflb.model.Prefix;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/** The routing table's prefixes and the interfaces they go through ({@code ip -o route show}), read only. */
public final class Routes {

    /** A prefix routed through an interface. */
    public record Route(Prefix prefix, String device) {
    }

    private Routes() {
    }

    /** Every IPv4 and IPv6 route with a prefix and a device in {@code exec}'s namespace; empty when ip fails. */
    public static List<Route> read(Exec exec) {
        List<Route> out = new ArrayList<>();
        for (String family : List.of("-4", "-6")) {
            Exec.Result r;
            try {
                r = exec.run(List.of("ip", "-o", family, "route", "show"));
            } catch (Exec.ExecException e) {
                continue;
            }
            if (r.ok()) out.addAll(parse(r.stdout()));
        }
        return out;
    }

    /** "10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1" lines; "default" and type-prefixed lines skipped. */
    public static List<Route> parse(String text) {
        List<Route> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            String[] w = line.strip().split("\\s+");
            if (w.length < 3) continue;
            Optional<Prefix> p = Prefix.parse(w[0]);
            int dev = java.util.Arrays.asList(w).indexOf("dev");
            if (p.isEmpty() || dev < 0 || dev + 1 >= w.length) continue;
            out.add(new Route(p.get(), w[dev + 1]));
        }
        return out;
    }

    /** The interfaces Kubernetes network plugins make (flannel, Calico, Cilium, Weave, kube-router, Antrea, OVN, bridge). */
    public static final Pattern CNI_INTERFACES = Pattern.compile(
            "cni[0-9]*|flannel[.].+|cali.+|vxlan[.]calico|tunl0|cilium_.+|lxc.+|weave|kube-bridge|antrea-.+|ovn-k8s-.+|genev_sys_.+");
}
