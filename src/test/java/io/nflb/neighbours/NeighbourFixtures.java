package io.nflb.neighbours;

import io.nflb.dataplane.iptables.IptablesNeighbours;
import io.nflb.dataplane.nft.NftNeighbours;
import io.nflb.model.IpAddress.Family;
import io.nflb.plan.Neighbourhood;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The neighbours' rules as their tools print them back (src/test/resources/neighbours/NAME, from the research in
 * issue 15: ufw and firewalld are the real programs' output, the others written from their sources and loaded
 * into a kernel): iptables-save.v4/.v6, nft-list-ruleset.txt (what nft -f loads) and .json (nft -j).
 */
public final class NeighbourFixtures {

    public static final Path DIR = Path.of("src/test/resources/neighbours");
    public static final List<String> ALL = List.of("docker", "docker-legacy", "docker-nft", "libvirt", "libvirt-nft",
            "kube-proxy", "kube-proxy-nft", "ufw", "firewalld", "fail2ban", "fail2ban-nft");

    private NeighbourFixtures() {
    }

    public static Optional<String> file(String name, String file) {
        Path p = DIR.resolve(name).resolve(file);
        try {
            return Files.exists(p) ? Optional.of(Files.readString(p)) : Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The lab's config (issue 15's research): one balanced service, a default-drop firewall that lets ssh and
     * 2222 in, and the published port 8080 and node port 30080 from 203.0.113.2 only; {@code neighbours} is the
     * inside of firewall.neighbours, or empty for the defaults.
     */
    public static String config(String backend, String neighbours) {
        return """
                backend: %s
                services:
                  - name: web
                    listen: {address: 203.0.113.1, port: 80}
                    backends: [{address: 10.0.9.2, port: 80}]
                firewall:
                  policy: {input: drop, forward: drop}
                  allow:
                    - {protocol: tcp, ports: [22, 2222]}
                    - {protocol: tcp, ports: [8080, 30080], from: [203.0.113.2]}
                """.formatted(backend) + (neighbours.isEmpty() ? "" : "  neighbours: {" + neighbours + "}\n");
    }

    /** What recognition makes of the fixture: its iptables-save files and its nft -j listing, as the dataplanes read them. */
    public static Neighbourhood read(String name) {
        Neighbourhood n = Neighbourhood.empty();
        Optional<String> v4 = file(name, "iptables-save.v4"), v6 = file(name, "iptables-save.v6");
        if (v4.isPresent()) n = n.merge(IptablesNeighbours.read(Family.V4, v4.get()));
        if (v6.isPresent()) n = n.merge(IptablesNeighbours.read(Family.V6, v6.get()));
        return n.merge(NftNeighbours.read(List.of(file(name, "nft-list-ruleset.json").orElseThrow())));
    }
}
