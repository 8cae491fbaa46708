package io.nflb.cli;

import io.nflb.host.Exec;
import io.nflb.testing.FakeKernel;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** nflb ha compare|render|notify and validate --peer, explain's digest. */
class HaCommandTest {

    static final String R1 = """
            backend: nftables
            services:
              - name: web
                listen: {address: 192.168.1.100, port: 80}
                scheduler: maglev
                backends: [{address: 192.168.2.2}, {address: 192.168.2.3}]
            ha:
              interface: eth0
              router_id: 51
              priority: 150
              peers: [192.168.1.12]
              advert_interval: 200ms
              gateway: {interface: eth1, address: 192.168.2.1/24}
              sync: {interface: eth2, peer: 10.9.0.2}
            """;
    static final String R2 = R1.replace("priority: 150", "priority: 100").replace("[192.168.1.12]", "[192.168.1.11]")
            .replace("peer: 10.9.0.2", "peer: 10.9.0.1");

    static Path write(String name, String text) throws Exception {
        Path dir = Files.createTempDirectory("nflb-hacli");
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    @Test
    void aPairValidatesAndComparesAndAMismatchIsRefusedWithTheDifference() throws Exception {
        FakeKernel k = new FakeKernel(FakeKernel.Language.NFTABLES);
        Path a = write("r1.yaml", R1);
        Path b = write("r2.yaml", R2);
        Cli.Ran ok = Cli.run(k.dataplanes(), "ha", "compare", a.toString(), b.toString());
        assertThat(ok.code()).isEqualTo(Main.OK);
        assertThat(ok.out()).contains("a pair (the same rules on both routers)", "service web: maglev table ");
        Cli.Ran v = Cli.run(k.dataplanes(), "validate", "-c", a.toString(), "--peer", b.toString());
        assertThat(v.code()).isEqualTo(Main.OK);
        assertThat(v.out()).contains("ha: vrrp router_id 51 priority 150, state synced");

        Path c = write("r2.yaml", R2.replace("{address: 192.168.2.3}", "{address: 192.168.2.4}"));
        Cli.Ran bad = Cli.run(k.dataplanes(), "validate", "-c", a.toString(), "--peer", c.toString());
        assertThat(bad.code()).isEqualTo(Main.USAGE);
        assertThat(bad.err()).contains("not a pair with " + a + ": the services and firewall render different rules", "+", "192.168.2.4", "nothing applied");
        assertThat(k.committed()).as("nothing applied").isEmpty();

        Cli.Ran explain = Cli.run(k.dataplanes(), "explain", "-c", a.toString());
        assertThat(explain.out()).containsPattern("service web: maglev table 251 slots, digest [0-9a-f]{16}");
    }

    @Test
    void validateSaysWhatAFailoverWithoutSyncCosts() throws Exception {
        FakeKernel k = new FakeKernel(FakeKernel.Language.NFTABLES);
        Cli.Ran v = Cli.run(k.dataplanes(), "validate", "-c", write("r1.yaml", R1.replace("  sync: {interface: eth2, peer: 10.9.0.2}\n", "")).toString());
        assertThat(v.code()).isEqualTo(Main.OK);
        assertThat(v.out()).contains("note: ha: no sync: a failover resets established connections");
    }

    @Test
    void renderWritesThisRoutersFilesAndNotifyRunsItsTransition() throws Exception {
        KernelTests.require("ip", "nft", "keepalived");
        try (Netns r = Netns.create("harender"); Netns o = Netns.create("harender-o")) {
            String[][] links = {{"eth0", "192.168.1.11/24"}, {"eth1", "192.168.2.11/24"}, {"eth2", "10.9.0.1/30"}};
            for (String[] l : links) {
                r.exec().check(List.of("ip", "link", "add", l[0], "type", "veth", "peer", "name", l[0], "netns", o.name()));
                r.exec().check(List.of("ip", "addr", "add", l[1], "dev", l[0]));
                r.exec().check(List.of("ip", "link", "set", l[0], "up"));
            }
            Path out = Files.createTempDirectory("nflb-harender");
            Cli.Ran ran = Cli.run(io.nflb.dataplane.Dataplanes.REAL, "ha", "render", "-c", write("r1.yaml", R1).toString(), "--out", out.toString(),
                    "--netns", r.name(), "--name", "r1");
            assertThat(ran.code()).as(ran.err()).isEqualTo(Main.OK);
            String ka = Files.readString(out.resolve("keepalived.conf"));
            assertThat(ka).contains("unicast_src_ip 192.168.1.11", "192.168.1.100/24 dev eth0", "notify_master \"/usr/bin/nflb ha notify primary --state " + out);
            assertThat(Files.readString(out.resolve("conntrackd.conf"))).contains("IPv4_address 10.9.0.1", "UNIX {\n        Path " + out + "/conntrackd.ctl");
            // keepalived itself takes the file (the notify script need not exist to parse it).
            Exec.Result t = r.exec().run(List.of("keepalived", "-t", "-f", out.resolve("keepalived.conf").toString()), null, Duration.ofSeconds(20));
            assertThat(t.exitCode()).as(t.stdout() + t.stderr()).isIn(0, 1);

            Cli.Ran backup = Cli.run(io.nflb.dataplane.Dataplanes.REAL, "ha", "notify", "backup", "--state", out.toString(), "--netns", r.name());
            assertThat(backup.code()).as(backup.err()).isEqualTo(Main.OK);
            assertThat(backup.out()).contains("backup hold on", "backup conntrackd -t", "backup done");
            assertThat(r.exec().run(List.of("nft", "list", "table", "inet", "nflb_ha_hold")).ok()).isTrue();
            assertThat(Files.readString(out.resolve("role"))).startsWith("backup ");
            Cli.Ran wrong = Cli.run(io.nflb.dataplane.Dataplanes.REAL, "ha", "notify", "master", "--state", out.toString());
            assertThat(wrong.code()).isEqualTo(Main.USAGE);
        }
    }
}
