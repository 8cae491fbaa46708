package io.nflb.neighbours;

import io.nflb.model.Firewall;
import io.nflb.model.NeighbourKind;
import io.nflb.plan.Neighbourhood;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Each neighbour's real rules, recognised: what status prints of them, compared whole with
 * golden/neighbours/NAME.txt (-Dnflb.golden.update=true rewrites them; review the diff).
 */
class NeighbourRecognitionTest {

    static final Path GOLDEN = Path.of("src/test/resources/golden/neighbours");
    static final List<String> ALL = NeighbourFixtures.ALL;

    @ParameterizedTest
    @FieldSource("ALL")
    void recognisedAsGolden(String name) throws IOException {
        Neighbourhood n = NeighbourFixtures.read(name);
        String actual = String.join("\n", n.describe(Optional.of(Firewall.defaults()), true)) + "\n";
        Path expected = GOLDEN.resolve(name + ".txt");
        if (Boolean.getBoolean("nflb.golden.update")) Files.writeString(expected, actual);
        assertThat(actual).isEqualTo(Files.readString(expected));
    }

    @Test
    void eachFixtureIsItsNeighbour() {
        assertThat(kinds("docker")).containsExactly(NeighbourKind.DOCKER);
        assertThat(kinds("docker-legacy")).containsExactly(NeighbourKind.DOCKER);
        assertThat(kinds("docker-nft")).containsExactly(NeighbourKind.DOCKER);
        assertThat(kinds("libvirt")).containsExactly(NeighbourKind.LIBVIRT);
        assertThat(kinds("libvirt-nft")).containsExactly(NeighbourKind.LIBVIRT);
        assertThat(kinds("kube-proxy")).containsExactly(NeighbourKind.KUBE_PROXY);
        assertThat(kinds("kube-proxy-nft")).containsExactly(NeighbourKind.KUBE_PROXY);
        assertThat(kinds("ufw")).containsExactly(NeighbourKind.UFW);
        assertThat(kinds("firewalld")).containsExactly(NeighbourKind.FIREWALLD);
        assertThat(kinds("fail2ban")).containsExactly(NeighbourKind.FAIL2BAN);
        assertThat(kinds("fail2ban-nft")).containsExactly(NeighbourKind.FAIL2BAN);
        for (String name : ALL) assertThat(NeighbourFixtures.read(name).others()).as(name + ": nothing unrecognised").isEmpty();
    }

    private static List<NeighbourKind> kinds(String name) {
        return NeighbourFixtures.read(name).found().stream().map(n -> n.kind()).toList();
    }
}
