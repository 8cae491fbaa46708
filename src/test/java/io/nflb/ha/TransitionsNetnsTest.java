package io.nflb.ha;

import io.nflb.dataplane.Dataplanes;
import io.nflb.dataplane.HaHold;
import io.nflb.model.Backend;
import io.nflb.model.Ha;
import io.nflb.model.IpAddress;
import io.nflb.model.Protocol;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** The transitions' steps and their order, on a real kernel: the hold, the addresses, conntrackd's requests. */
class TransitionsNetnsTest {

    static IpAddress ip(String s) {
        return IpAddress.parse(s).orElseThrow();
    }

    @Test
    void faultHoldsAndRemovesTheAddressesPrimaryReleasesEvenWhenTheCommitFails() throws Exception {
        KernelTests.require("ip", "nft", "conntrackd");
        try (Netns ns = Netns.create("tr")) {
            ns.exec().check(List.of("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"));
            ns.exec().check(List.of("ip", "link", "set", "eth0", "up"));
            ns.exec().check(List.of("ip", "addr", "add", "192.168.1.100/24", "dev", "eth0"));
            Path dir = Files.createTempDirectory("nflb-tr");
            HaLayout layout = new HaLayout(dir);
            // A conntrackd.conf whose daemon is not running: every request fails, as with a dead conntrackd.
            Path conf = dir.resolve("conntrackd.conf");
            Files.writeString(conf, "General {\n    LockFile " + dir.resolve("lock") + "\n    UNIX {\n        Path " + dir.resolve("ctl") + "\n    }\n}\n");
            HaPlan plan = new HaPlan(List.of(new HaPlan.Vip(new Ha.InterfaceAddress(ip("192.168.1.100"), 24), "eth0")),
                    new HaHold.Spec(List.of(ip("192.168.1.100")), List.of(new HaHold.Endpoint(Protocol.TCP, new Backend(ip("192.168.2.2"), 80, 1)))),
                    Optional.of(conf));
            HaHold hold = Dataplanes.hold(ns.exec());
            Transitions t = new Transitions(plan, layout, ns.exec(), hold);

            List<String> fault = t.to(Transitions.Role.FAULT, "test");
            assertThat(hold.held()).isTrue();
            assertThat(ns.exec().check(List.of("ip", "-4", "-o", "addr", "show", "dev", "eth0")).stdout()).doesNotContain("192.168.1.100");
            assertThat(steps(fault)).containsExactly("start (test)", "hold on", "removed 192.168.1.100/24 dev eth0", "conntrackd -t", "done");
            String rules = ns.exec().check(List.of("nft", "list", "table", "inet", "nflb_ha_hold")).stdout();
            assertThat(rules).contains("priority raw - 10", "ip daddr 192.168.1.100 drop", "fib daddr type != local drop");

            List<String> primary = t.to(Transitions.Role.PRIMARY, "test");
            assertThat(steps(primary)).containsExactly("start (test)", "conntrackd -c", "commit failed; releasing the hold anyway",
                    "hold off", "conntrackd -f", "conntrackd -R", "conntrackd -B", "done");
            assertThat(hold.held()).isFalse();
            assertThat(HaStatus.read(layout).orElseThrow().role()).isEqualTo("primary");

            List<String> backup = t.to(Transitions.Role.BACKUP, "test");
            assertThat(steps(backup)).containsExactly("start (test)", "hold on", "conntrackd -t", "conntrackd -n", "done");
            assertThat(hold.held()).isTrue();
            assertThat(Files.readString(layout.transitions())).contains(" backup hold on\n", " primary hold off\n");
            hold.release();
            assertThat(ns.exec().run(List.of("nft", "list", "tables")).stdout()).doesNotContain("nflb_ha_hold");
        }
    }

    /** The steps without their time and conntrackd's exit details. */
    static List<String> steps(List<String> lines) {
        return lines.stream().map(l -> l.split(" ", 3)[2]).map(s -> s.startsWith("conntrackd ") ? s.substring(0, 13).strip() : s).toList();
    }
}
