package io.nflb.host;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static io.nflb.host.DataPathChecks.CONNTRACK_MAX;
import static io.nflb.host.DataPathChecks.TIME_WAIT;
import static org.assertj.core.api.Assertions.assertThat;

class DataPathChecksTest {

    @Test
    void aDefaultKernelHoldsTooFewClosedConnections() {
        // Debian 12 / kernel 6.18 defaults on the bench machine: 262144 / 120 s = 2,184 per second.
        var w = DataPathChecks.warnings(Map.of(CONNTRACK_MAX, "262144", TIME_WAIT, "120"));
        assertThat(w).hasSize(1);
        assertThat(w.get(0)).contains("120 s", "262,144 entries", "above 2,184 new connections/s",
                "lower " + TIME_WAIT + " to 26 here", CONNTRACK_MAX);
    }

    @Test
    void enoughRoomIsQuiet() {
        assertThat(DataPathChecks.warnings(Map.of(CONNTRACK_MAX, "262144", TIME_WAIT, "26"))).isEmpty();
        assertThat(DataPathChecks.warnings(Map.of(CONNTRACK_MAX, "1200000", TIME_WAIT, "120"))).isEmpty();
    }

    @Test
    void exactlyTheWantedRateIsEnough() {
        assertThat(DataPathChecks.warnings(Map.of(CONNTRACK_MAX, "1200000", TIME_WAIT, "120"))).isEmpty();
        assertThat(DataPathChecks.warnings(Map.of(CONNTRACK_MAX, "1199999", TIME_WAIT, "120"))).hasSize(1);
    }

    @Test
    void missingOrOddValuesSayNothing() {
        // No conntrack module loaded: the parameters do not exist, and nothing is tracked yet.
        assertThat(DataPathChecks.warnings(Map.of())).isEmpty();
        assertThat(DataPathChecks.warnings(Map.of(CONNTRACK_MAX, "262144"))).isEmpty();
        assertThat(DataPathChecks.warnings(Map.of(CONNTRACK_MAX, "lots", TIME_WAIT, "120"))).isEmpty();
        assertThat(DataPathChecks.warnings(Map.of(CONNTRACK_MAX, "262144", TIME_WAIT, "0"))).isEmpty();
    }

    @Test
    void aTinyTableSuggestsAtLeastOneSecond() {
        var w = DataPathChecks.warnings(Map.of(CONNTRACK_MAX, "5000", TIME_WAIT, "120"));
        assertThat(w.get(0)).contains("to 1 here");
    }

    private static io.nflb.model.Config config(String yaml) throws Exception {
        return io.nflb.config.ConfigLoader.parse("t.yaml", yaml);
    }

    @Test
    void aBackendBehindTwoAddressesIsFlagged() throws Exception {
        var w = DataPathChecks.sharedBackends(config("""
                services:
                  - name: web
                    listen: {address: 10.0.0.1, port: 80}
                    backends: [{address: 10.1.0.2}, {address: 10.1.0.3}]
                  - name: web2
                    listen: {address: 10.0.0.2, port: 80}
                    backends: [{address: 10.1.0.3}]
                """));
        assertThat(w).hasSize(1);
        assertThat(w.get(0)).startsWith("backend 10.1.0.3:80 is reached through 10.0.0.1, 10.0.0.2 (services web, web2)")
                .contains("PAWS");
    }

    @Test
    void sharedBackendsComeInTheOrderTheyFirstAppearInBothFamilies() throws Exception {
        var w = DataPathChecks.sharedBackends(config("""
                services:
                  - name: a
                    listen: {address: 10.0.0.1, port: 80}
                    backends: [{address: 10.1.0.9}, {address: 10.1.0.2}, {address: 10.1.0.5}]
                  - name: b
                    listen: {address: 10.0.0.2, port: 80}
                    backends: [{address: 10.1.0.5}, {address: 10.1.0.7}]
                  - name: c
                    listen: {address: 10.0.0.3, port: 80}
                    backends: [{address: 10.1.0.2}, {address: 10.1.0.5, port: 81}]
                  - name: d
                    listen: {address: "fd00::1", port: 443}
                    backends: [{address: "fd00::9"}]
                  - name: e
                    listen: {address: "fd00::2", port: 443}
                    backends: [{address: "fd00::9"}]
                """));
        assertThat(w).extracting(s -> s.substring(0, s.indexOf(':', s.indexOf(')')))).containsExactly(
                "backend 10.1.0.2:80 is reached through 10.0.0.1, 10.0.0.3 (services a, c)",
                "backend 10.1.0.5:80 is reached through 10.0.0.1, 10.0.0.2 (services a, b)",
                "backend [fd00::9]:443 is reached through fd00::1, fd00::2 (services d, e)");
    }

    @Test
    void oneAddressOtherPortsUdpOrNoAddressAreQuiet() throws Exception {
        // Same VIP on two ports: the client's timestamp offset is the same for both.
        assertThat(DataPathChecks.sharedBackends(config("""
                services:
                  - name: a
                    listen: {address: 10.0.0.1, port: 80}
                    backends: [{address: 10.1.0.2, port: 8080}]
                  - name: b
                    listen: {address: 10.0.0.1, port: 81}
                    backends: [{address: 10.1.0.2, port: 8080}]
                  - name: c
                    protocol: udp
                    listen: {address: 10.0.0.3, port: 80}
                    backends: [{address: 10.1.0.2, port: 8080}]
                  - name: d
                    listen: {port: 82}
                    backends: [{address: 10.1.0.2, port: 8080}]
                  - name: e
                    listen: {address: 10.0.0.4, port: 80}
                    backends: [{address: 10.1.0.2, port: 8081}]
                """))).isEmpty();
    }
}
