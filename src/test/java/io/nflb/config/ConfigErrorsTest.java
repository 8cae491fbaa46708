package io.nflb.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** One mistake per case, with the whole "file:line:column: message" it must produce. */
class ConfigErrorsTest {

    static Stream<Arguments> mistakes() {
        return Stream.of(
                // YAML itself
                arguments("unclosed flow sequence", """
                        services: [{name: web
                        backend: auto
                        """, List.of("t.yaml:2:8: invalid yaml: expected ',' or '}', but got : (while parsing a flow mapping at line 1)")),
                arguments("tab indentation", "services:\n\t- name: web\n",
                        List.of("t.yaml:2:1: invalid yaml: found character '\\t(TAB)' that cannot start any token."
                                + " (Do not use \\t(TAB) for indentation) (while scanning for the next token)")),
                arguments("undefined alias", "services: *all\n",
                        List.of("t.yaml:1:11: invalid yaml: found undefined alias all")),
                arguments("two documents", "services: []\n---\nservices: []\n",
                        List.of("t.yaml:2:1: invalid yaml: but found another document"
                                + " (expected a single document in the stream at line 1)")),
                arguments("alias reused with a mistake in it", """
                        services:
                          - name: web
                            listen: {port: 80}
                            backends: [&b {address: 10.0.0.1, weight: 0}, *b]
                        """, List.of("t.yaml:4:47: weight 0 is out of range; expected 1..1000")),
                arguments("too many aliases", "a: &a [x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                        + "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b,"
                        + " *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
                        List.of("t.yaml:1:1: invalid yaml: number of aliases for non-scalar nodes exceeds the specified max=50")),
                arguments("a line of a megabyte", "services: []\nbackend: " + "a".repeat(70_000) + "\n",
                        List.of("t.yaml:2:65537: line is 70009 characters long; at most 65536")),
                arguments("a scalar of many lines", "services: []\nbackend: \"" + "a\n ".repeat(3000) + "\"\n",
                        List.of("t.yaml:2:10: a value of 6000 characters; at most 4096")),
                arguments("nested too deeply", "services: " + "[".repeat(30_000) + "\n",
                        List.of("t.yaml:1:1: invalid yaml: nested too deeply")),
                arguments("aliases that expand to millions of nodes", "a: &a [" + "x, ".repeat(63) + "x]\n"
                        + "b: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"
                        + "e: &e [*d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e]\nservices: [*f, *f, *f, *f, *f, *f, *f, *f]\n",
                        List.of("t.yaml:1:1: invalid yaml: the document expands to more than 4000000 nodes through its aliases")),
                arguments("control character", "services: []\nbackend: a\u0007\n",
                        List.of("t.yaml:2:11: invalid yaml: character U+0007 is not allowed")),
                arguments("duplicate key", """
                        services:
                          - name: web
                            listen: {port: 80}
                            listen: {port: 81}
                            backends: [{address: 10.0.0.1}]
                        """, List.of("t.yaml:4:5: duplicate key 'listen'; first at line 3")),
                // shapes
                arguments("empty file", "", List.of("t.yaml:1:1: file is empty; expected a mapping with key 'services'")),
                arguments("only comments", "# nothing yet\n",
                        List.of("t.yaml:1:1: file is empty; expected a mapping with key 'services'")),
                arguments("top level is a sequence", "- name: web\n",
                        List.of("t.yaml:1:1: expected a mapping, found a sequence")),
                arguments("services is a mapping", "services:\n  name: web\n",
                        List.of("t.yaml:2:3: expected a sequence, found a mapping")),
                arguments("services is null", "services:\n",
                        List.of("t.yaml:1:10: expected a sequence, found null")),
                arguments("a service is a string", "services: [web]\n",
                        List.of("t.yaml:1:12: expected a mapping, found a string")),
                arguments("a key is a sequence", "? [a, b]\n: 1\nservices: []\n",
                        List.of("t.yaml:1:3: expected a key name, found a sequence")),
                arguments("affinity is a duration", service("affinity: 3h"),
                        List.of("t.yaml:5:15: expected a mapping, found a string")),
                // unknown keys and keywords
                arguments("misspelled key", service("schedular: maglev"),
                        List.of("t.yaml:5:5: unknown key 'schedular'; did you mean 'scheduler'?")),
                arguments("misspelled top-level key", "service: []\n", List.of(
                        "t.yaml:1:1: unknown key 'service'; did you mean 'services'?",
                        "t.yaml:1:1: config is missing required key 'services'")),
                arguments("unknown key far from all", service("weights: 3"),
                        List.of("t.yaml:5:5: unknown key 'weights'; expected one of: name, protocol, listen,"
                                + " scheduler, snat, affinity, maglev, health, limits, backends")),
                arguments("scheduler with underscore", service("scheduler: round_robin"),
                        List.of("t.yaml:5:16: unknown scheduler 'round_robin'; did you mean 'round-robin'?"
                                + " (expected one of: round-robin, random, maglev)")),
                arguments("backend kind misspelled", "backend: iptable\nservices: []\n",
                        List.of("t.yaml:1:10: unknown backend 'iptable'; did you mean 'iptables'?"
                                + " (expected one of: iptables, nftables, auto)")),
                arguments("protocol in capitals", service("protocol: TCP"),
                        List.of("t.yaml:5:15: unknown protocol 'TCP'; did you mean 'tcp'? (expected one of: tcp, udp)")),
                arguments("snat yes", service("snat: yes"),
                        List.of("t.yaml:5:11: unknown snat 'yes'; expected one of: none, masquerade")),
                // types
                arguments("quoted port", "services:\n  - name: web\n    listen: {port: \"80\"}\n    backends: [{address: 10.0.0.1}]\n",
                        List.of("t.yaml:3:20: expected an integer, found a string")),
                arguments("fractional weight", backend("weight: 1.5"),
                        List.of("t.yaml:6:17: expected an integer, found a float")),
                arguments("boolean weight", backend("weight: true"),
                        List.of("t.yaml:6:17: expected an integer, found a boolean")),
                arguments("null port", backend("port: ~"),
                        List.of("t.yaml:6:15: expected an integer, found null")),
                arguments("boolean interface", "services:\n  - name: web\n    listen: {port: 80, interface: false}\n    backends: [{address: 10.0.0.1}]\n",
                        List.of("t.yaml:3:35: expected a string, found a boolean")),
                arguments("custom tag", service("snat: !masq x"),
                        List.of("t.yaml:5:11: expected a string, found a value tagged !masq")),
                // ranges
                arguments("port zero", "services:\n  - name: web\n    listen: {port: 0}\n    backends: [{address: 10.0.0.1}]\n",
                        List.of("t.yaml:3:20: port 0 is out of range; expected 1..65535")),
                arguments("port too big", backend("port: 65536"),
                        List.of("t.yaml:6:15: port 65536 is out of range; expected 1..65535")),
                arguments("port far too big", backend("port: 99999999999999999999"),
                        List.of("t.yaml:6:15: port 99999999999999999999 is out of range; expected 1..65535")),
                arguments("weight zero", backend("weight: 0"),
                        List.of("t.yaml:6:17: weight 0 is out of range; expected 1..1000")),
                arguments("weight too big", backend("weight: 1001"),
                        List.of("t.yaml:6:17: weight 1001 is out of range; expected 1..1000")),
                // missing keys
                arguments("missing listen", "services:\n  - name: web\n    backends: [{address: 10.0.0.1}]\n",
                        List.of("t.yaml:2:5: service is missing required key 'listen'")),
                arguments("missing name", "services:\n  - listen: {port: 80}\n    backends: [{address: 10.0.0.1}]\n",
                        List.of("t.yaml:2:5: service is missing required key 'name'")),
                arguments("missing listen port", "services:\n  - name: web\n    listen: {address: 10.0.0.254}\n    backends: [{address: 10.0.0.1}]\n",
                        List.of("t.yaml:3:13: listen is missing required key 'port'")),
                arguments("missing backend address", "services:\n  - name: web\n    listen: {port: 80}\n    backends: [{port: 80}]\n",
                        List.of("t.yaml:4:16: backend is missing required key 'address'")),
                arguments("missing affinity timeout", service("affinity: {}"),
                        List.of("t.yaml:5:15: affinity is missing required key 'timeout'")),
                // addresses and names
                arguments("octet out of range", "services:\n  - name: web\n    listen: {port: 80}\n    backends:\n      - address: 192.168.2.300\n",
                        List.of("t.yaml:5:18: '192.168.2.300' is not an IPv4 or IPv6 address")),
                arguments("host name", "services:\n  - name: web\n    listen: {port: 80, address: vip.lan}\n    backends: [{address: 10.0.0.1}]\n",
                        List.of("t.yaml:3:33: 'vip.lan' is not an IPv4 or IPv6 address; host names are not allowed")),
                arguments("bad ipv6", "services:\n  - name: web\n    listen: {port: 80}\n    backends:\n      - address: \"2001:db8:::1\"\n",
                        List.of("t.yaml:5:18: '2001:db8:::1' is not an IPv4 or IPv6 address")),
                arguments("interface too long", "services:\n  - name: web\n    listen: {port: 80, interface: eth0123456789abc}\n    backends: [{address: 10.0.0.1}]\n",
                        List.of("t.yaml:3:35: 'eth0123456789abc' is not a valid interface name; expected 1 to 15"
                                + " characters among A-Z, a-z, 0-9, '_', '.' and '-', optionally ending in '+'")),
                arguments("interface with colon", "services:\n  - name: web\n    listen: {port: 80, interface: \"eth0:1\"}\n    backends: [{address: 10.0.0.1}]\n",
                        List.of("t.yaml:3:35: 'eth0:1' is not a valid interface name; expected 1 to 15"
                                + " characters among A-Z, a-z, 0-9, '_', '.' and '-', optionally ending in '+'")),
                arguments("service name in capitals", "services:\n  - name: Web\n    listen: {port: 80}\n    backends: [{address: 10.0.0.1}]\n",
                        List.of("t.yaml:2:11: 'Web' is not a valid service name; expected 1 to 32 characters among a-z, 0-9 and '-'")),
                // duplicates and clashes
                arguments("duplicate service name", """
                        services:
                          - {name: web, listen: {port: 80}, backends: [{address: 10.0.0.1}]}
                          - {name: web, listen: {port: 81}, backends: [{address: 10.0.0.1}]}
                        """, List.of("t.yaml:3:12: duplicate service name 'web'; first defined at line 2")),
                arguments("duplicate backend through the default port", """
                        services:
                          - name: web
                            listen: {port: 80}
                            backends:
                              - address: 10.0.0.1
                              - address: 10.0.0.1
                                port: 80
                        """, List.of("t.yaml:6:9: duplicate backend 10.0.0.1:80; first at line 5")),
                arguments("duplicate ipv6 backend spelled twice", """
                        services:
                          - name: web
                            listen: {port: 80}
                            backends:
                              - address: "2001:db8::1"
                              - address: "2001:DB8:0:0:0:0:0:1"
                        """, List.of("t.yaml:6:9: duplicate backend [2001:db8::1]:80; first at line 5")),
                arguments("empty backend list", "services:\n  - name: web\n    listen: {port: 80}\n    backends: []\n",
                        List.of("t.yaml:4:15: expected at least one backend, found an empty list")),
                arguments("same traffic twice", """
                        services:
                          - name: web
                            listen: {port: 80, address: 10.0.0.254, interface: eth1}
                            backends: [{address: 10.0.0.1}]
                          - name: web-too
                            listen: {port: 80, address: 10.0.0.254, interface: eth1}
                            backends: [{address: 10.0.0.2}]
                        """, List.of("t.yaml:6:13: service 'web-too' catches the same traffic as service 'web'"
                        + " at line 3 (tcp port 80 to 10.0.0.254 on eth1)")),
                // address families
                arguments("ipv4 listen, ipv6 backend", """
                        services:
                          - name: web
                            listen: {port: 80, address: 10.0.0.254}
                            backends: [{address: "2001:db8::1"}]
                        """, List.of("t.yaml:4:16: backend 2001:db8::1 is IPv6 but listen address 10.0.0.254 is IPv4;"
                        + " a service uses one address family")),
                arguments("mixed backends", """
                        services:
                          - name: web
                            listen: {port: 80}
                            backends:
                              - address: "2001:db8::1"
                              - address: 10.0.0.1
                        """, List.of("t.yaml:6:9: backend 10.0.0.1 is IPv4 but backend 2001:db8::1 at line 5 is IPv6;"
                        + " a service uses one address family")),
                // maglev
                arguments("table size not prime", maglev("maglev", 1000),
                        List.of("t.yaml:5:26: table_size 1000 is not prime; the next prime is 1009")),
                arguments("table size not above the weights", maglev("maglev", 5),
                        List.of("t.yaml:5:26: table_size 5 must be larger than the sum of weights, 5")),
                arguments("table size too big", maglev("maglev", 131101),
                        List.of("t.yaml:5:26: table_size 131101 is out of range; expected 2..131071")),
                arguments("maglev on iptables", "backend: iptables\n" + service("scheduler: maglev"),
                        List.of("t.yaml:6:16: scheduler 'maglev' needs 'backend: nftables' (or auto); iptables has no"
                                + " per-packet hash to index its table")),
                arguments("maglev settings without maglev", maglev("random", 251),
                        List.of("t.yaml:5:13: maglev settings need 'scheduler: maglev', found 'scheduler: random'")),
                // durations
                arguments("affinity not in whole seconds", service("affinity: {timeout: 1500ms}"),
                        List.of("t.yaml:5:25: affinity timeout 1500ms is not a whole number of seconds")),
                arguments("affinity too long", service("affinity: {timeout: 31d}"),
                        List.of("t.yaml:5:25: affinity timeout 31d is out of range; expected 1s..30d")),
                arguments("a duration past a year", service("affinity: {timeout: 999999999d}"),
                        List.of("t.yaml:5:25: duration '999999999d' is too long; at most 365d")),
                arguments("check interval past an hour", service("health: {type: tcp, interval: 2h, timeout: 1s}"),
                        List.of("t.yaml:5:35: interval 2h is out of range; expected 10ms..1h")),
                arguments("sync interval too short", "daemon: {min_sync_interval: 1ms}\nservices: []\n",
                        List.of("t.yaml:1:29: min_sync_interval 1ms is out of range; expected 10ms..10s")),
                arguments("resync too rare", "daemon: {resync_interval: 2d}\nservices: []\n",
                        List.of("t.yaml:1:27: resync_interval 2d is out of range; expected 1s..1d")),
                arguments("unknown daemon key", "daemon: {min_sync: 1s}\nservices: []\n",
                        List.of("t.yaml:1:10: unknown key 'min_sync'; expected one of: min_sync_interval, resync_interval, endpoint_histograms")),
                arguments("a log prefix nft would read as a variable", "services: []\nfirewall: {log_drops: {prefix: \"drop $x\"}}\n",
                        List.of("t.yaml:2:32: log prefix must be 1 to 29 printable ASCII characters without quotes, backslashes"
                                + " or '$' (nft reads $ as a variable)")),
                arguments("unknown unit", service("affinity: {timeout: 3x}"),
                        List.of("t.yaml:5:25: '3x' is not a duration; expected a number and a unit (ms, s, m, h, d)"
                                + " such as 500ms, 2s or 1h30m")),
                arguments("no unit", service("affinity: {timeout: 30}"),
                        List.of("t.yaml:5:25: '30' is not a duration; expected a number and a unit (ms, s, m, h, d)"
                                + " such as 500ms, 2s or 1h30m")),
                arguments("units out of order", service("affinity: {timeout: 30m1h}"),
                        List.of("t.yaml:5:25: '30m1h' is not a duration; expected a number and a unit (ms, s, m, h, d)"
                                + " such as 500ms, 2s or 1h30m")),
                arguments("negative", service("affinity: {timeout: -1s}"),
                        List.of("t.yaml:5:25: '-1s' is not a duration; expected a number and a unit (ms, s, m, h, d)"
                                + " such as 500ms, 2s or 1h30m")),
                arguments("zero", service("affinity: {timeout: 0h0m}"),
                        List.of("t.yaml:5:25: duration '0h0m' must be positive")),
                // firewall.neighbours
                arguments("unknown neighbour", neighbours("dockr: allow"),
                        List.of("t.yaml:7:5: unknown key 'dockr'; did you mean 'docker'?")),
                arguments("unknown mode", neighbours("docker: restict"),
                        List.of("t.yaml:7:13: unknown docker mode 'restict'; did you mean 'restrict'?"
                                + " (expected one of: allow, restrict, ignore)")),
                arguments("restrict what nflb knows nothing of", neighbours("other: restrict"),
                        List.of("t.yaml:7:12: unknown other mode 'restrict'; expected one of: allow, ignore")),
                arguments("fail2ban has no mode", neighbours("fail2ban: allow"),
                        List.of("t.yaml:7:15: fail2ban has no mode, not 'allow': nflb always keeps its INPUT accepts below fail2ban's bans;"
                                + " expected the key left out")),
                arguments("networks of a host firewall", neighbours("ufw: {mode: allow, networks: [10.0.0.0/8]}"),
                        List.of("t.yaml:7:34: ufw manages no networks of its own; 'networks' applies to docker, libvirt,"
                                + " kube-proxy and other; expected the key left out")),
                arguments("pod network with host bits", neighbours("kube-proxy: {networks: [10.244.0.1/16]}"),
                        List.of("t.yaml:7:29: '10.244.0.1/16' has host bits set; did you mean 10.244.0.0/16?")),
                arguments("bad interface", neighbours("other: {mode: allow, interfaces: [\"lxd br0\"]}"),
                        List.of("t.yaml:7:39: 'lxd br0' is not a valid interface name; expected 1 to 15 characters among"
                                + " A-Z, a-z, 0-9, '_', '.' and '-', optionally ending in '+'")),
                arguments("unknown setting", neighbours("docker: {mode: allow, bridges: [docker0]}"),
                        List.of("t.yaml:7:27: unknown key 'bridges'; expected one of: mode, interfaces, networks")));
    }

    /** A valid service and a firewall whose neighbours: mapping holds {@code entry} (line 7, column 5). */
    private static String neighbours(String entry) {
        return "services:\n  - name: web\n    listen: {port: 80}\n    backends: [{address: 10.0.0.1}]\nfirewall:\n"
                + "  neighbours:\n    " + entry + "\n";
    }

    /** A valid service with one extra line at line 5, column 5. */
    private static String service(String extraLine) {
        return "services:\n  - name: web\n    listen: {port: 80}\n    backends: [{address: 10.0.0.1, weight: 5}]\n    "
                + extraLine + "\n";
    }

    /** A valid service whose second backend key is {@code line} (line 6, column 9; line 5 is its address). */
    private static String backend(String line) {
        return "services:\n  - name: web\n    listen: {port: 80}\n    backends:\n      - address: 10.0.0.1\n        "
                + line + "\n";
    }

    private static String maglev(String scheduler, int tableSize) {
        return "services:\n  - name: web\n    listen: {port: 80}\n    scheduler: " + scheduler
                + "\n    maglev: {table_size: " + tableSize + "}\n    backends: [{address: 10.0.0.1, weight: 5}]\n";
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("mistakes")
    void eachMistakeIsReportedAtItsPosition(String what, String yaml, List<String> expected) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse("t.yaml", yaml));

        assertThat(e).as("no error for: " + what).isNotNull();
        assertThat(e.errors()).extracting(ConfigError::toString).containsExactlyElementsOf(expected);
        assertThat(e.getMessage()).isEqualTo(String.join("\n", expected));
    }

    @Test
    void everyMistakeInAFileIsReportedInFileOrder() {
        // Found in a different order: the duplicate key when its mapping opens, the missing key after
        // the mapping has been read, the duplicate name while binding the second service.
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse("t.yaml", """
                services:
                  - name: web
                    listen: {port: 0}
                    backends: [{address: 10.0.0.1, weight: 0}]
                  - name: web
                    name: web2
                    protocol: sctp
                backend: iptable
                """));

        assertThat(e.errors()).containsExactly(
                new ConfigError("t.yaml", 3, 20, "port 0 is out of range; expected 1..65535"),
                new ConfigError("t.yaml", 4, 44, "weight 0 is out of range; expected 1..1000"),
                new ConfigError("t.yaml", 5, 5, "service is missing required key 'listen'"),
                new ConfigError("t.yaml", 5, 5, "service is missing required key 'backends'"),
                new ConfigError("t.yaml", 5, 11, "duplicate service name 'web'; first defined at line 2"),
                new ConfigError("t.yaml", 6, 5, "duplicate key 'name'; first at line 5"),
                new ConfigError("t.yaml", 7, 15, "unknown protocol 'sctp'; did you mean 'tcp'? (expected one of: tcp, udp)"),
                new ConfigError("t.yaml", 8, 10, "unknown backend 'iptable'; did you mean 'iptables'?"
                        + " (expected one of: iptables, nftables, auto)"));
    }
}
