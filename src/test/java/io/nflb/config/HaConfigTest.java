package io.nflb.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import io.nflb.model.Config;
import io.nflb.model.Ha;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The ha: section: what it binds to, and one mistake per case with its whole "file:line:column: message". */
class HaConfigTest {

    static final String SERVICES = """
            backend: nftables
            services:
              - name: web
                listen: {address: 192.168.1.100, port: 80}
                scheduler: maglev
                backends:
                  - {address: 192.168.2.2, port: 8080}
                  - {address: 192.168.2.3, port: 8080}
            """;

    static final String VRRP = SERVICES + """
            ha:
              mode: vrrp
              interface: eth0
              router_id: 51
              priority: 150
              peers: [192.168.1.12]
              advert_interval: 200ms
              gateway: {interface: eth1, address: 192.168.2.1/24}
              sync: {interface: eth2, peer: 10.9.0.2}
            """;

    @Test
    void theIssuesVrrpExampleBinds() throws Exception {
        Config c = ConfigLoader.parse("t.yaml", VRRP);
        Ha ha = c.ha().orElseThrow();
        assertThat(ha.mode()).isEqualTo(Ha.Mode.VRRP);
        assertThat(ha.iface()).isEqualTo("eth0");
        assertThat(ha.routerId()).isEqualTo(51);
        assertThat(ha.priority()).isEqualTo(150);
        assertThat(ha.peers()).extracting(Object::toString).containsExactly("192.168.1.12");
        assertThat(ha.advertInterval()).isEqualTo(Duration.ofMillis(200));
        assertThat(ha.preempt()).isFalse();
        assertThat(ha.gateway().orElseThrow().address().toString()).isEqualTo("192.168.2.1/24");
        assertThat(ha.sync().orElseThrow().peer().toString()).isEqualTo("10.9.0.2");
        assertThat(c.stateless()).isFalse();
    }

    @Test
    void ecmpBindsWithItsGatewaysAndIsStateless() throws Exception {
        Config c = ConfigLoader.parse("t.yaml", SERVICES + """
                ha:
                  mode: ecmp
                  interface: eth0
                  router_id: 61
                  priority: 150
                  gateway: {interface: eth1, address: 192.168.2.254/24, peer_addresses: [192.168.2.1/24]}
                """);
        Ha ha = c.ha().orElseThrow();
        assertThat(c.stateless()).isTrue();
        assertThat(ha.advertInterval()).as("keepalived's default").isEqualTo(Duration.ofSeconds(1));
        assertThat(ha.gateway().orElseThrow().all()).extracting(Object::toString).containsExactly("192.168.2.1/24", "192.168.2.254/24");
        assertThat(ha.gatewayRouterId(ha.gateway().get().address())).isEqualTo(62);
    }

    @Test
    void aFirewallThatDropsInputIsFineTheRulesLetThePairTalk() throws Exception {
        Config c = ConfigLoader.parse("t.yaml", VRRP + "firewall:\n  policy: {forward: drop}\n");
        assertThat(c.firewall().orElseThrow().input().keyword()).isEqualTo("drop");
        assertThat(io.nflb.plan.Planner.plan(c).ha().orElseThrow().syncPeer().orElseThrow().toString()).isEqualTo("10.9.0.2");
    }

    static Stream<Arguments> mistakes() {
        String ecmpHa = """
                ha:
                  mode: ecmp
                  interface: eth0
                  router_id: 61
                  priority: 150
                  gateway: {interface: eth1, address: 192.168.2.1/24, peer_addresses: [192.168.2.254/24]}
                """;
        return Stream.of(
                arguments("unknown key", VRRP + "  prority: 5\n", List.of("t.yaml:18:3: unknown key 'prority'; did you mean 'priority'?")),
                arguments("router id out of range", VRRP.replace("router_id: 51", "router_id: 256"),
                        List.of("t.yaml:12:14: router_id 256 is out of range; expected 1..255")),
                arguments("priority 255 is the owner's", VRRP.replace("priority: 150", "priority: 255"),
                        List.of("t.yaml:13:13: priority 255 is out of range; expected 1..254")),
                arguments("advert not in centiseconds", VRRP.replace("200ms", "205ms"),
                        List.of("t.yaml:15:20: advert_interval 205ms is not a multiple of 10ms; VRRPv3 counts in centiseconds")),
                arguments("advert too long", VRRP.replace("200ms", "1m"),
                        List.of("t.yaml:15:20: advert_interval 60000ms is out of range; expected 10ms..40950ms (VRRPv3)")),
                arguments("unknown mode", VRRP.replace("mode: vrrp", "mode: vrpp"),
                        List.of("t.yaml:10:9: unknown ha mode 'vrpp'; did you mean 'vrrp'? (expected one of: vrrp, ecmp)")),
                arguments("missing interface", VRRP.replace("  interface: eth0\n", ""),
                        List.of("t.yaml:10:3: ha is missing required key 'interface'")),
                arguments("wildcard interface", VRRP.replace("interface: eth0", "interface: eth+"),
                        List.of("t.yaml:11:14: 'eth+' is a wildcard; ha needs one real interface")),
                arguments("gateway without a length", VRRP.replace("192.168.2.1/24", "192.168.2.1"),
                        List.of("t.yaml:16:39: '192.168.2.1' is not an interface address; expected ADDRESS/LENGTH such as 192.168.2.1/24")),
                arguments("peer is a name", VRRP.replace("[192.168.1.12]", "[r2.example]"),
                        List.of("t.yaml:14:11: 'r2.example' is not an IPv4 or IPv6 address; host names are not allowed")),
                arguments("peer twice", VRRP.replace("[192.168.1.12]", "[192.168.1.12, 192.168.1.12]"),
                        List.of("t.yaml:14:25: duplicate peer 192.168.1.12; first at line 14")),
                arguments("sync in ecmp mode", SERVICES + ecmpHa + "  sync: {interface: eth2, peer: 10.9.0.2}\n",
                        List.of("t.yaml:15:9: 'sync' applies only to 'mode: vrrp': in ecmp mode every router translates without state, so there is nothing to copy")),
                arguments("ecmp without a gateway", SERVICES + ecmpHa.replace("  gateway: {interface: eth1, address: 192.168.2.1/24, peer_addresses: [192.168.2.254/24]}\n", ""),
                        List.of("t.yaml:10:3: 'mode: ecmp' needs 'gateway': the servers' replies must reach a live router without help from a dead one"
                                + " (give this router's gateway address and the peers' in peer_addresses)")),
                arguments("peer gateways in vrrp mode", VRRP.replace("192.168.2.1/24}", "192.168.2.1/24, peer_addresses: [192.168.2.254/24]}"),
                        List.of("t.yaml:16:12: 'peer_addresses' applies only to 'mode: ecmp': in vrrp mode the one gateway address moves with the primary")),
                arguments("ecmp with round-robin", SERVICES.replace("scheduler: maglev", "scheduler: round-robin") + ecmpHa,
                        List.of("t.yaml:5:16: service 'web' uses scheduler 'round-robin'; 'mode: ecmp' needs 'scheduler: maglev' on every service,"
                                + " so that every router picks the same backend for a flow without state")),
                arguments("ecmp on iptables", SERVICES.replace("backend: nftables", "backend: iptables").replace("    scheduler: maglev\n", "") + ecmpHa,
                        List.of("t.yaml:3:5: service 'web' uses scheduler 'round-robin'; 'mode: ecmp' needs 'scheduler: maglev' on every service,"
                                        + " so that every router picks the same backend for a flow without state",
                                "t.yaml:9:9: 'mode: ecmp' needs 'backend: nftables' (or auto): iptables cannot rewrite addresses without"
                                        + " connection state, which every router of an ecmp group must do")),
                arguments("ecmp with a backend of two services", SERVICES + """
                          - name: api
                            listen: {address: 192.168.1.101, port: 80}
                            scheduler: maglev
                            backends:
                              - {address: 192.168.2.3, port: 8080}
                        """ + ecmpHa,
                        List.of("t.yaml:13:9: backend 192.168.2.3:8080 (tcp) also serves service 'web'; in 'mode: ecmp' a reply is"
                                + " translated back by its source alone, so an endpoint serves one service")),
                arguments("ecmp with masquerade", SERVICES.replace("scheduler: maglev", "scheduler: maglev\n    snat: masquerade") + ecmpHa,
                        List.of("t.yaml:6:11: snat needs connection state; 'mode: ecmp' translates without it (the servers route replies"
                                + " through the gateway addresses instead)")),
                arguments("IPv6 service", VRRP.replace("192.168.1.100", "2001:db8::1").replace("192.168.2.2", "2001:db8:2::2")
                                .replace("192.168.2.3", "2001:db8:2::3"),
                        List.of("t.yaml:4:13: service 'web' listens on IPv6 address 2001:db8::1; ha supports IPv4 only for now")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("mistakes")
    void eachMistakeIsReportedAtItsPosition(String name, String yaml, List<String> expected) {
        ConfigException e = catchThrowableOfType(() -> ConfigLoader.parse("t.yaml", yaml), ConfigException.class);
        assertThat(e).as("refused").isNotNull();
        assertThat(e.errors()).extracting(ConfigError::toString).containsExactlyElementsOf(expected);
    }

    /**
     * The fast path binds services as it reads them and keeps their nodes only when ha comes first; with ha after
     * them it binds again from the whole tree. Either way the same mistakes at the same places as SnakeYAML alone.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("mistakes")
    void haBeforeTheServicesFindsTheSameMistakes(String name, String yaml, List<String> expected) {
        int ha = yaml.indexOf("ha:\n");
        String haFirst = yaml.substring(ha) + yaml.substring(0, ha);
        ConfigException fast = catchThrowableOfType(() -> ConfigLoader.parse("t.yaml", haFirst), ConfigException.class);
        ConfigException slow = catchThrowableOfType(() -> ConfigLoader.parseWithSnakeYaml("t.yaml", haFirst, c -> List.of()),
                ConfigException.class);
        assertThat(fast).as("refused").isNotNull();
        assertThat(slow).as("refused by the SnakeYAML path").isNotNull();
        assertThat(fast.errors()).extracting(ConfigError::toString).hasSameSizeAs(expected)
                .containsExactlyElementsOf(slow.errors().stream().map(ConfigError::toString).toList());
    }
}
