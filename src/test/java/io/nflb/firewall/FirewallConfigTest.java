package io.nflb.firewall;

import io.nflb.config.ConfigError;
import io.nflb.config.ConfigException;
import io.nflb.config.ConfigLoader;
import io.nflb.model.Config;
import io.nflb.model.Firewall;
import io.nflb.model.Limits;
import io.nflb.model.PortRange;
import io.nflb.model.Prefix;
import io.nflb.model.Rate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The firewall: section and limits: as bound from YAML, and every mistake at its file:line:column. */
class FirewallConfigTest {

    private static final String SERVICE = """
            services:
              - name: web
                listen: {port: 80}
                backends: [{address: 10.0.0.1}]
            """;

    private static List<String> errors(String yaml) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse("t.yaml", yaml));
        assertThat(e).as("expected a config error").isNotNull();
        return e.errors().stream().map(ConfigError::toString).toList();
    }

    @Test
    void withoutAFirewallSectionThereIsNoFirewall() throws Exception {
        assertThat(ConfigLoader.parse("t.yaml", SERVICE).firewall()).isEmpty();
    }

    @Test
    void anEmptySectionGetsTheDefaults() throws Exception {
        Firewall fw = ConfigLoader.parse("t.yaml", SERVICE + "firewall: {}\n").firewall().orElseThrow();
        assertThat(fw.input()).isEqualTo(Firewall.Policy.DROP);
        assertThat(fw.forward()).isEqualTo(Firewall.Policy.DROP);
        assertThat(fw.output()).isEqualTo(Firewall.Policy.ACCEPT);
        assertThat(fw.ping()).isTrue();
    }

    @Test
    void bindsTheIssueExample() throws Exception {
        Config c = ConfigLoader.parse("t.yaml", SERVICE + """
                firewall:
                  policy: {input: drop, forward: drop, output: accept}
                  allow:
                    - {protocol: tcp, ports: [22], from: [10.0.0.0/8], interface: eth0}
                  forward:
                    - {protocol: udp, ports: [443, "8000-8100"], from: ["2001:db8::/32"], to: ["2001:db8:1::/48"]}
                  log_drops: {prefix: "nflb-drop ", rate: 5/s}
                """);
        Firewall fw = c.firewall().orElseThrow();
        assertThat(fw.allow()).containsExactly(new Firewall.Rule("allow 1", io.nflb.model.Protocol.TCP,
                List.of(PortRange.of(22)), List.of(Prefix.parse("10.0.0.0/8").orElseThrow()), List.of(), Optional.of("eth0")));
        assertThat(fw.forwardRules().get(0).ports()).containsExactly(PortRange.of(443), new PortRange(8000, 8100));
        assertThat(fw.logDrops().orElseThrow().rate()).isEqualTo(new Rate(5, Rate.Unit.SECOND));
    }

    @Test
    void bindsLimitsWithTheirDefaults() throws Exception {
        Config c = ConfigLoader.parse("t.yaml", SERVICE.replace("listen: {port: 80}",
                "listen: {port: 80}\n    limits: {per_source_rate: 50/s, max_connections_per_source: 200}"));
        assertThat(c.services().get(0).limits()).contains(
                new Limits(Optional.of(new Rate(50, Rate.Unit.SECOND)), 50, 200, Limits.Action.REJECT));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "policy: {input: dorp}|t.yaml:6:19: unknown policy 'dorp'; did you mean 'drop'? (expected one of: accept, drop)",
            "allow: [{from: [10.0.0.1/8]}]|t.yaml:6:19: '10.0.0.1/8' has host bits set; did you mean 10.0.0.0/8?",
            "allow: [{from: [10.0.0.0/33]}]|t.yaml:6:19: '10.0.0.0/33' is not an IPv4 or IPv6 address or prefix such as 10.0.0.0/8 or 2001:db8::/32",
            "allow: [{from: [10.0.0.0/8], to: ['::1']}]|t.yaml:6:36: allow 1: 'from' and 'to' share no address family ('from' is IPv4 only, 'to' is IPv6 only)",
            "allow: [{ports: [0]}]|t.yaml:6:20: port 0 is out of range; expected 1..65535",
            "allow: [{ports: ['90-80']}]|t.yaml:6:20: '90-80' is not a port or port range; expected 1..65535 or a range such as 8000-8100",
            "allow: [{interface: 'eth0 x'}]|t.yaml:6:23: 'eth0 x' is not a valid interface name; expected 1 to 15 characters among A-Z, a-z, 0-9, '_', '.' and '-', optionally ending in '+'",
            "allow: [{prot: tcp}]|t.yaml:6:12: unknown key 'prot'; did you mean 'ports'?",
            "log_drops: {rate: 5/fortnight}|t.yaml:6:21: '5/fortnight' is not a rate; expected a count of 1..1000000 per s, m or h, such as 50/s",
            "ping: maybe|t.yaml:6:9: expected true or false, found a string",
    })
    void firewallMistakes(String line, String error) {
        assertThat(errors(SERVICE + "firewall:\n  " + line + "\n")).containsExactly(error);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{per_source_rate: 50/m}|t.yaml:4:31: per_source_rate must be a whole count per second, such as 50/s; found 50/m",
            "{burst: 3}|t.yaml:4:13: limits needs 'per_source_rate' or 'max_connections_per_source'",
            "{max_connections_per_source: 0}|t.yaml:4:42: max_connections_per_source 0 is out of range; expected 1..1000000",
            "{per_source_rate: 5/s, action: deny}|t.yaml:4:44: unknown action 'deny'; expected one of: reject, drop",
    })
    void limitMistakes(String limits, String error) {
        assertThat(errors(SERVICE.replace("listen: {port: 80}", "listen: {port: 80}\n    limits: " + limits))).containsExactly(error);
    }

    @Test
    void ratesAreKeptInTheFormIptablesPrintsBack() {
        assertThat(Rate.parse("60/m").orElseThrow().iptables()).isEqualTo("1/sec");
        assertThat(Rate.parse("90/minute").orElseThrow().iptables()).isEqualTo("90/min");
        assertThat(Rate.parse("7200/h").orElseThrow().nft()).isEqualTo("2/second");
        assertThat(Rate.parse("0/s")).isEmpty();
    }
}
