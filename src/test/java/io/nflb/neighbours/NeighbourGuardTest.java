package io.nflb.neighbours;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.NeighbourReader;
import io.nflb.host.Routes;
import io.nflb.model.Firewall;
import io.nflb.model.NeighbourKind;
import io.nflb.plan.NeighbourGuard;
import io.nflb.plan.Neighbourhood;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** Which neighbour flows a firewall lets through, what changes between two firewalls, and what the config overrides. */
class NeighbourGuardTest {

    private static Optional<Firewall> firewall(String neighbours, String... extra) throws Exception {
        String yaml = "services: []\nfirewall:\n  allow:\n    - {protocol: tcp, ports: [22]}\n    - {protocol: tcp, ports: [8080, 30080], from: [203.0.113.2]}\n"
                + String.join("", extra) + (neighbours.isEmpty() ? "" : "  neighbours: {" + neighbours + "}\n");
        return ConfigLoader.parse("t.yaml", yaml).firewall();
    }

    private static List<String> lines(List<NeighbourGuard.Change> changes) {
        return changes.stream().map(NeighbourGuard.Change::line).toList();
    }

    @Test
    void eachModeOfKubeProxy() throws Exception {
        Neighbourhood kube = NeighbourFixtures.read("kube-proxy");
        // No nflb firewall before: allow changes nothing; restrict drops only the node port from elsewhere (it is covered from one client).
        assertThat(NeighbourGuard.changes(kube, Optional.empty(), firewall(""))).isEmpty();
        assertThat(NeighbourGuard.changes(kube, Optional.empty(), firewall("kube-proxy: restrict"))).isEmpty();
        assertThat(lines(NeighbourGuard.changes(kube, firewall(""), firewall("kube-proxy: ignore")))).containsExactly(
                "  forward in   tcp/30080 node port (default/web:http, nat KUBE-NODEPORTS)  firewall.neighbours.kube-proxy: ignore, no firewall.forward entry covers tcp/30080",
                "  forward      pod network 10.244.0.0/16, both ways                 firewall.neighbours.kube-proxy: ignore, no firewall.forward entry covers it");
        // Back from ignore to the default: both pass again, which apply says but does not refuse.
        List<NeighbourGuard.Change> back = NeighbourGuard.changes(kube, firewall("kube-proxy: ignore"), firewall(""));
        assertThat(back).hasSize(2).noneMatch(NeighbourGuard.Change::dropsNow);
        // restrict without an allow entry for the node port drops it.
        Optional<Firewall> noEntry = ConfigLoader.parse("t.yaml", "services: []\nfirewall:\n  neighbours: {kube-proxy: restrict}\n").firewall();
        assertThat(lines(NeighbourGuard.changes(kube, Optional.empty(), noEntry))).containsExactly(
                "  forward in   tcp/30080 node port (default/web:http, nat KUBE-NODEPORTS)  firewall.neighbours.kube-proxy: restrict, no firewall.allow entry covers tcp/30080");
        // forward: accept drops nothing routed, whatever the mode.
        assertThat(NeighbourGuard.changes(kube, Optional.empty(), firewall("kube-proxy: ignore", "  policy: {forward: accept}\n"))).isEmpty();
    }

    @Test
    void aPodNetworkNothingShowsComesFromTheRoutesOrTheConfig() throws Exception {
        String noCidr = NeighbourFixtures.file("kube-proxy", "iptables-save.v4").orElseThrow().replace("! -s 10.244.0.0/16 ", "");
        Neighbourhood found = io.nflb.dataplane.iptables.IptablesNeighbours.read(io.nflb.model.IpAddress.Family.V4, noCidr);
        assertThat(found.find(NeighbourKind.KUBE_PROXY).orElseThrow().networks()).isEmpty();
        Neighbourhood routed = NeighbourReader.podNetworks(found, Routes.parse("""
                default via 203.0.113.2 dev eth0
                10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1
                10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink
                192.168.122.0/24 dev virbr0 proto kernel scope link src 192.168.122.1
                """));
        assertThat(routed.find(NeighbourKind.KUBE_PROXY).orElseThrow().derivation()).contains(
                "network 10.244.0.0/24 from the route via cni0", "network 10.244.1.0/24 from the route via flannel.1");
        Neighbourhood none = NeighbourReader.podNetworks(found, List.of());
        assertThat(none.find(NeighbourKind.KUBE_PROXY).orElseThrow().notes()).containsExactly("no pod network: kube-proxy's rules do not show"
                + " its cluster CIDR and no route goes through a network plugin's interface; set firewall.neighbours.kube-proxy.networks");
        Plan p = Planner.plan(ConfigLoader.parse("t.yaml", "services: []\nfirewall:\n  neighbours:\n    kube-proxy: {networks: [10.42.0.0/16]}\n"))
                .withNeighbours(none);
        assertThat(p.effectiveNeighbours().find(NeighbourKind.KUBE_PROXY).orElseThrow().derivation())
                .contains("networks 10.42.0.0/16 from firewall.neighbours.kube-proxy.networks");
        assertThat(io.nflb.dataplane.iptables.IptablesRenderer.restoreText(io.nflb.dataplane.iptables.IptablesRenderer.render(p, io.nflb.model.IpAddress.Family.V4)))
                .contains("-A NFLB-FORWARD -s 10.42.0.0/16 -m comment --comment \"nflb neighbour kube-proxy\" -j RETURN");
    }

    @Test
    void aHostFirewallNflbDefersToIsToldWhatItRefuses() throws Exception {
        Plan p = Planner.plan(ConfigLoader.parse("t.yaml", "services: []\nfirewall:\n  allow:\n    - {protocol: tcp, ports: [22, 2222]}\n"))
                .withNeighbours(NeighbourFixtures.read("ufw"));
        assertThat(NeighbourGuard.warnings(p)).containsExactly("ufw does not allow tcp/2222 (firewall.allow 1), and nflb defers the router's"
                + " input to it (firewall.neighbours.ufw: allow (default)): run `ufw allow 2222/tcp`");
        Plan f = Planner.plan(ConfigLoader.parse("t.yaml", "services: []\nfirewall:\n  allow:\n    - {protocol: udp, ports: [5000-5010]}\n"))
                .withNeighbours(NeighbourFixtures.read("firewalld"));
        assertThat(NeighbourGuard.warnings(f)).containsExactly("firewalld does not allow udp/5000-5010 (firewall.allow 1), and nflb defers"
                + " the router's input to it (firewall.neighbours.firewalld: allow (default)): run"
                + " `firewall-cmd --permanent --add-port=5000-5010/udp && firewall-cmd --reload`");
    }

    @Test
    void otherTablesAreReportedAndOnlyThoseThatDropAreWarnedAbout() {
        Neighbourhood n = io.nflb.dataplane.nft.NftNeighbours.read(List.of("""
                {"nftables": [{"table": {"family": "inet", "name": "foreign"}},
                 {"chain": {"family": "inet", "table": "foreign", "name": "input", "type": "filter", "hook": "input", "prio": 10, "policy": "drop"}},
                 {"table": {"family": "ip", "name": "quiet"}},
                 {"chain": {"family": "ip", "table": "quiet", "name": "post", "type": "nat", "hook": "postrouting", "prio": 100, "policy": "accept"}}]}
                """));
        assertThat(n.others()).containsExactly(
                new Neighbourhood.Foreign("table inet foreign", "chain input hook input priority 10 policy drop", true),
                new Neighbourhood.Foreign("table ip quiet", "chain post hook postrouting priority 100 policy accept", false));
        assertThat(n.describe(Optional.empty(), false)).containsExactly(
                "other: table inet foreign (chain input hook input priority 10 policy drop); it also filters, nflb cannot override it");
    }
}
