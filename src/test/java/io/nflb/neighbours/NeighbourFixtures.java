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

    /** What recognition makes of the fixture: its iptables-save files and its nft -j listing, as the dataplanes read them. */
    public static Neighbourhood read(String name) {
        Neighbourhood n = Neighbourhood.empty();
        Optional<String> v4 = file(name, "iptables-save.v4"), v6 = file(name, "iptables-save.v6");
        if (v4.isPresent()) n = n.merge(IptablesNeighbours.read(Family.V4, v4.get()));
        if (v6.isPresent()) n = n.merge(IptablesNeighbours.read(Family.V6, v6.get()));
        return n.merge(NftNeighbours.read(List.of(file(name, "nft-list-ruleset.json").orElseThrow())));
    }
}
