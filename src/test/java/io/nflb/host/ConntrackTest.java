package io.nflb.host;

import io.nflb.model.IpAddress;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ConntrackTest {

    @Test
    void deletesOnlyDnatedUdpFlowsFromTheListenPortToTheBackend() {
        assertThat(Conntrack.command(53, IpAddress.parse("192.168.2.5").orElseThrow(), 5353)).containsExactly(
                "conntrack", "-D", "-f", "ipv4", "-p", "udp", "--orig-port-dst", "53",
                "--reply-src", "192.168.2.5", "--reply-port-src", "5353", "--dst-nat");
        assertThat(Conntrack.command(53, IpAddress.parse("2001:db8::5").orElseThrow(), 53)).contains("ipv6", "2001:db8::5");
    }
}
