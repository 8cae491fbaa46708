package io.nflb.host;

import io.nflb.model.IpAddress.Family;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ForwardingNetnsTest {

    @Test
    void forwardingIsTurnedOnInTheNamespaceOnlyAndOnlyOnce() throws IOException {
        KernelTests.require("sysctl", "ip");
        // Reading the JVM's own namespace is harmless and shows it was not the one changed.
        String hostV4 = Files.readString(Path.of("/proc/sys/net/ipv4/ip_forward")).strip();
        String hostV6 = Files.readString(Path.of("/proc/sys/net/ipv6/conf/all/forwarding")).strip();
        try (Netns ns = Netns.create("fwd")) {
            Sysctl sysctl = new Sysctl(ns.exec());
            assertThat(sysctl.get("net.ipv4.ip_forward")).isEqualTo("0");

            assertThat(Forwarding.ensure(ns.exec(), Family.V4)).isTrue();
            assertThat(Forwarding.ensure(ns.exec(), Family.V4)).isFalse();
            assertThat(Forwarding.ensure(ns.exec(), Family.V6)).isTrue();
            assertThat(Forwarding.ensure(ns.exec(), Family.V6)).isFalse();

            assertThat(sysctl.get("net.ipv4.ip_forward")).isEqualTo("1");
            assertThat(sysctl.get("net.ipv6.conf.all.forwarding")).isEqualTo("1");
        }
        assertThat(Files.readString(Path.of("/proc/sys/net/ipv4/ip_forward")).strip()).isEqualTo(hostV4);
        assertThat(Files.readString(Path.of("/proc/sys/net/ipv6/conf/all/forwarding")).strip()).isEqualTo(hostV6);
    }

    @Test
    void keysAndValuesAreCheckedBeforeAnythingRuns() {
        Sysctl sysctl = new Sysctl(Exec.inNetns("nflb-never-created"));
        assertThatThrownBy(() -> sysctl.get("net.ipv4.ip_forward=1")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> sysctl.get("-w")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> sysctl.get("net/../ipv4")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> sysctl.ensure("net.ipv4.ip_forward", "1 2")).isInstanceOf(IllegalArgumentException.class);
    }
}
