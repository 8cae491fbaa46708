package io.nflb.cli;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.Dataplane;
import io.nflb.neighbours.NeighbourFixtures;
import io.nflb.plan.Planner;
import io.nflb.testing.FakeKernel;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Docker's rules (iptables, as Docker 28 writes them) next to nflb in the in-memory kernel of each language:
 * status lists Docker, apply lets its traffic through and says so, ignore is refused with the whole message,
 * diff shows it, restrict jumps from DOCKER-USER, Docker's restart is repaired by the next apply (also with
 * a plan that was never read, as the daemon's syncs hand it over), and flush leaves Docker's rules alone.
 */
class NeighbourCommandsTest {

    @TempDir
    Path dir;

    private static final String CONFIG = """
            services:
              - name: web
                listen: {address: 203.0.113.1, port: 80}
                backends: [{address: 10.0.9.2, port: 80}]
            firewall:
              allow:
                - {protocol: tcp, ports: [22]}
                - {protocol: tcp, ports: [8080], from: [203.0.113.2]}
            """;

    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void dockerNextToNflb(FakeKernel.Language language) throws Exception {
        FakeKernel k = new FakeKernel(language);
        boolean ipt = language == FakeKernel.Language.IPTABLES;
        k.iptables().restore(NeighbourFixtures.file("docker", "iptables-save.v4").orElseThrow());
        k.ip6tables().restore(NeighbourFixtures.file("docker", "iptables-save.v6").orElseThrow());
        String docker = k.iptables().save(false);
        String state = dir.resolve("state").toString();
        Path defaults = Files.writeString(dir.resolve("default.yaml"), CONFIG);
        Path ignore = Files.writeString(dir.resolve("ignore.yaml"), CONFIG + "  neighbours: {docker: ignore}\n");
        Path restrict = Files.writeString(dir.resolve("restrict.yaml"), CONFIG + "  neighbours: {docker: restrict}\n");

        Cli.Ran status = nflb(k, "status", "--state-dir", state, "--socket", dir.resolve("none.sock").toString());
        assertThat(status.out()).endsWith("""
                neighbours:
                  docker (iptables, ip6tables): interfaces docker0; networks 172.17.0.0/16; published tcp/8080 -> 172.17.0.2:80 (nat DOCKER); no firewall: section
                      seen in: filter DOCKER, filter DOCKER-BRIDGE, filter DOCKER-CT, filter DOCKER-FORWARD, filter DOCKER-INTERNAL, filter DOCKER-USER, nat DOCKER
                      layout: Docker 28 or later (DOCKER-FORWARD)
                      network 172.17.0.0/16 from nat POSTROUTING MASQUERADE ! -o docker0
                  note: iptables FORWARD policy DROP drops what no iptables rule accepts: nflb accepts its own balanced and forward: traffic there, in NFLB-FORWARD with a forward drop of its own, else in chain NFLB-PASS
                """);

        Cli.Ran applied = nflb(k, "apply", "-c", defaults.toString(), "--state-dir", state);
        assertThat(applied.code()).as(applied.err()).isZero();
        assertThat(applied.out()).contains("neighbours:\n  docker (iptables, ip6tables): interfaces docker0",
                "firewall.neighbours.docker: allow (default)");
        if (ipt) {
            assertThat(k.rules()).contains("-A NFLB-FORWARD -i docker0 -m comment --comment \"nflb neighbour docker\" -j RETURN",
                    "-A NFLB-FORWARD -o docker0 -m comment --comment \"nflb neighbour docker\" -j RETURN");
        } else {
            assertThat(k.rules()).contains("\t\tiifname \"docker0\" accept\n\t\toifname \"docker0\" accept\n");
            // Docker's FORWARD policy DROP would drop nflb's own service: the pass in iptables, first in FORWARD.
            assertThat(forward(k)).first().isEqualTo("-A FORWARD -m comment --comment \"nflb pass\" -j NFLB-PASS");
            assertThat(applied.out()).contains("iptables: FORWARD policy DROP: NFLB-PASS accepts nflb's own traffic");
        }

        Cli.Ran refused = nflb(k, "apply", "-c", ignore.toString(), "--state-dir", state);
        assertThat(refused.code()).isEqualTo(1);
        assertThat(refused.err()).isEqualTo("""
                nflb: error: refusing to apply: the new firewall would drop traffic that docker manages:
                  forward out  docker0 (172.17.0.0/16) -> any                       firewall.neighbours.docker: ignore, no firewall.forward entry covers it
                  forward in   tcp/8080 via docker0 -> 172.17.0.2:80 (nat DOCKER)   firewall.neighbours.docker: ignore, no firewall.forward entry covers tcp/8080
                Nothing was applied; use --force to apply anyway, or set firewall.neighbours.docker: allow.
                """);
        Cli.Ran diff = nflb(k, "diff", "-c", ignore.toString(), "--state-dir", state);
        assertThat(diff.out()).startsWith("""
                # neighbour traffic apply would DROP (apply refuses without --force):
                #   forward out  docker0 (172.17.0.0/16) -> any                       firewall.neighbours.docker: ignore, no firewall.forward entry covers it
                #   forward in   tcp/8080 via docker0 -> 172.17.0.2:80 (nat DOCKER)   firewall.neighbours.docker: ignore, no firewall.forward entry covers tcp/8080
                """);

        assertThat(nflb(k, "apply", "-c", restrict.toString(), "--state-dir", state).code()).isZero();
        if (ipt) {
            assertThat(chain(k, "DOCKER-USER")).containsExactly("-A DOCKER-USER -m comment --comment \"nflb neighbours\" -j NFLB-DOCKER-USER");
        }

        // dockerd restarts: its jumps deleted and inserted at the top of FORWARD, above nflb's.
        for (String c : List.of("DOCKER-FORWARD", "DOCKER-USER")) {
            k.iptables().restore("*filter\n-D FORWARD -j " + c + "\n-I FORWARD 1 -j " + c + "\nCOMMIT\n");
        }
        assertThat(forward(k)).first().isEqualTo("-A FORWARD -j DOCKER-USER");
        // A plan as the daemon's syncs hand it over, never read: the dataplane reads the neighbours itself.
        Dataplane dp = k.dataplanes().forKind(io.nflb.model.BackendKind.AUTO, null);
        Dataplane.Outcome repaired = dp.apply(Planner.plan(ConfigLoader.parse("restrict.yaml", Files.readString(restrict))));
        assertThat(repaired.changed()).as(repaired.summary()).isTrue();
        assertThat(forward(k)).first().asString().contains(ipt ? "-j NFLB-FORWARD" : "-j NFLB-PASS");
        assertThat(forward(k)).filteredOn(l -> l.contains("DOCKER")).containsExactly("-A FORWARD -j DOCKER-USER", "-A FORWARD -j DOCKER-FORWARD");

        Cli.Ran flushed = nflb(k, "flush");
        assertThat(flushed.code()).as(flushed.err()).isZero();
        assertThat(k.iptables().save(false)).doesNotContain("NFLB");
        assertThat(chain(k, "FORWARD")).containsExactly("-A FORWARD -j DOCKER-USER", "-A FORWARD -j DOCKER-FORWARD");
        assertThat(k.iptables().save(false)).as("Docker's rules as Docker wrote them").isEqualTo(docker);
    }

    /** Without a firewall: section, Docker's FORWARD policy DROP would drop nflb's balanced service in either language. */
    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void nflbsOwnServicePassesDockersForwardDrop(FakeKernel.Language language) throws Exception {
        FakeKernel k = new FakeKernel(language);
        k.iptables().restore(NeighbourFixtures.file("docker", "iptables-save.v4").orElseThrow());
        String services = CONFIG.substring(0, CONFIG.indexOf("firewall:"));
        Path config = Files.writeString(dir.resolve("services.yaml"), services);
        Cli.Ran applied = nflb(k, "apply", "-c", config.toString(), "--state-dir", dir.resolve("state").toString());
        assertThat(applied.code()).as(applied.err()).isZero();
        assertThat(forward(k)).containsExactly("-A FORWARD -m comment --comment \"nflb pass\" -j NFLB-PASS",
                "-A FORWARD -j DOCKER-USER", "-A FORWARD -j DOCKER-FORWARD");
        assertThat(chain(k, "NFLB-PASS")).containsExactly("-A NFLB-PASS -p tcp -m comment --comment \"web balanced\" -m conntrack"
                + " --ctstate DNAT --ctorigdst 203.0.113.1 --ctorigdstport 80 -j ACCEPT");
        // Docker gone (its policy back to ACCEPT): the pass goes too.
        k.iptables().restore("*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n");
        assertThat(nflb(k, "apply", "-c", config.toString(), "--state-dir", dir.resolve("state").toString()).code()).isZero();
        assertThat(k.iptables().save(false)).doesNotContain("NFLB-PASS");
    }

    private static List<String> forward(FakeKernel k) {
        return chain(k, "FORWARD");
    }

    private static List<String> chain(FakeKernel k, String chain) {
        return Arrays.stream(k.iptables().save(false).split("\n")).filter(l -> l.startsWith("-A " + chain + " ")).toList();
    }

    private static Cli.Ran nflb(FakeKernel k, String... args) {
        return Cli.run(k.dataplanes(), args);
    }
}
