package io.nflb.plan;

import io.nflb.model.Firewall;
import io.nflb.model.IpAddress;
import io.nflb.model.PortRange;
import io.nflb.model.Prefix;
import io.nflb.model.Protocol;

import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The lockout guard: would the firewall drop a new SSH connection like the one this command runs over?
 * The live session itself survives (established connections pass), but the next login would not.
 */
public final class Lockout {

    private Lockout() {
    }

    /** $SSH_CONNECTION: "client-ip client-port server-ip server-port". */
    public record SshConnection(IpAddress client, int clientPort, IpAddress server, int serverPort) {
        public static Optional<SshConnection> parse(String env) {
            if (env == null) return Optional.empty();
            String[] w = env.strip().split("\\s+");
            if (w.length != 4 || !w[1].matches("[0-9]{1,5}") || !w[3].matches("[0-9]{1,5}")) return Optional.empty();
            Optional<IpAddress> c = IpAddress.parse(w[0]), s = IpAddress.parse(w[2]);
            if (c.isEmpty() || s.isEmpty()) return Optional.empty();
            return Optional.of(new SshConnection(c.get(), Integer.parseInt(w[1]), s.get(), Integer.parseInt(w[3])));
        }

        @Override
        public String toString() {
            return "tcp " + client + " port " + clientPort + " -> " + server + " port " + serverPort;
        }
    }

    /**
     * Empty when the plan lets a new connection like {@code ssh} in; else why not, naming the rule that drops
     * it. {@code routeInterface}: the interface the router reaches an address through (what an allow rule's
     * interface is compared with), empty when unknown.
     */
    public static Optional<String> check(Plan plan, SshConnection ssh, Function<IpAddress, Optional<String>> routeInterface) {
        if (plan.firewall().isEmpty() || plan.firewall().get().input() == Firewall.Policy.ACCEPT) return Optional.empty();
        Firewall fw = plan.firewall().get();
        for (ServicePlan s : plan.services()) {
            // A service on the SSH port would take the connection elsewhere: that is its own (config) problem.
            if (s.service().protocol() == Protocol.TCP && s.service().listen().port() == ssh.serverPort()
                    && s.service().listen().address().map(a -> a.equals(ssh.server())).orElse(true)) {
                return Optional.of("service '" + s.name() + "' listens on port " + ssh.serverPort()
                        + " and would balance new SSH connections (" + ssh + ") away from this host");
            }
        }
        StringBuilder near = new StringBuilder();
        for (Firewall.Rule r : fw.allow()) {
            Optional<String> miss = miss(r, ssh, routeInterface);
            if (miss.isEmpty()) return Optional.empty();
            near.append("; ").append(r.label()).append(": ").append(miss.get());
        }
        return Optional.of("the firewall would drop new SSH connections like the one this command runs over (" + ssh
                + "): 'policy: input: drop' ends in rule \"nflb policy input drop\" (iptables NFLB-INPUT, nft chain fw_input)"
                + " and no allow rule accepts it" + (near.length() == 0 ? " (there are none)" : near.toString()));
    }

    /** Why rule {@code r} does not accept the connection, or empty when it does. */
    private static Optional<String> miss(Firewall.Rule r, SshConnection ssh, Function<IpAddress, Optional<String>> routeInterface) {
        if (r.protocol() != Protocol.TCP) return Optional.of("protocol " + r.protocol().keyword());
        if (!r.ports().isEmpty() && r.ports().stream().noneMatch(p -> p.contains(ssh.serverPort()))) {
            return Optional.of("ports " + String.join(",", r.ports().stream().map(PortRange::nft).toList()) + " exclude " + ssh.serverPort());
        }
        IpAddress.Family f = ssh.client().family();
        if (!r.families().contains(f)) return Optional.of("no " + (f == IpAddress.Family.V4 ? "IPv4" : "IPv6") + " addresses");
        if (!matches(r.from(f), r.from().isEmpty(), ssh.client())) return Optional.of("from " + r.from() + " excludes " + ssh.client());
        if (!matches(r.to(f), r.to().isEmpty(), ssh.server())) return Optional.of("to " + r.to() + " excludes " + ssh.server());
        if (r.iface().isPresent()) {
            Optional<String> via = routeInterface.apply(ssh.client());
            String want = r.iface().get();
            boolean ok = via.map(i -> want.endsWith("+") ? i.startsWith(want.substring(0, want.length() - 1)) : i.equals(want)).orElse(false);
            if (!ok) return Optional.of("interface " + want + " but " + ssh.client() + " is reached " + via.map(i -> "via " + i).orElse("by no known interface"));
        }
        return Optional.empty();
    }

    private static boolean matches(List<Prefix> prefixes, boolean any, IpAddress a) {
        return any || prefixes.stream().anyMatch(p -> p.contains(a));
    }
}
