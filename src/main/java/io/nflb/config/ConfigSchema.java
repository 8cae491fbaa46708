package io.nflb.config;

import static io.nflb.config.Schema.BOOL;
import static io.nflb.config.Schema.OPTIONAL;
import static io.nflb.config.Schema.REQUIRED;
import static io.nflb.config.Schema.anyOf;
import static io.nflb.config.Schema.byDefault;
import static io.nflb.config.Schema.derived;
import static io.nflb.config.Schema.integer;
import static io.nflb.config.Schema.keyword;
import static io.nflb.config.Schema.listOf;
import static io.nflb.config.Schema.map;
import static io.nflb.config.Schema.name;
import static io.nflb.config.Schema.text;

import io.nflb.config.Schema.Int;
import io.nflb.config.Schema.MapSpec;
import io.nflb.config.Schema.Text;
import io.nflb.model.Backend;
import io.nflb.model.BackendKind;
import io.nflb.model.Firewall;
import io.nflb.model.Ha;
import io.nflb.model.HealthCheck;
import io.nflb.model.Limits;
import io.nflb.model.Names;
import io.nflb.model.NeighbourModes;
import io.nflb.model.Protocol;
import io.nflb.model.Rate;
import io.nflb.model.Scheduler;
import io.nflb.model.Service;
import io.nflb.model.Snat;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * nflb.yaml, described once: every mapping, its keys, what each takes, its default and what it does. The
 * binder opens each mapping with the spec here, the man page nflb.yaml(5), {@code nflb validate --keys} and
 * the JSON Schema ({@code nflb schema}) are made from it. A new key is one {@code .key(...)} line in its
 * mapping below, then the binder line that reads it. Mappings are written inside out: a mapping is declared
 * before the mapping that holds it, {@link #ROOT} last.
 */
public final class ConfigSchema {

    private ConfigSchema() {
    }

    /** More would be a table, not a rule: iptables' multiport takes 15 ports; ranges count twice. */
    static final int MAX_PORTS = 15;
    static final int MAX_PREFIXES = 64;
    /** Each is a linear rule per packet in iptables; more belongs in a set, which nflb does not offer yet. */
    static final int MAX_RULES = 1000;
    static final List<String> HTTP_METHODS = List.of("GET", "HEAD", "POST", "PUT", "OPTIONS");

    // The value types more than one key takes.
    static final Int PORT = integer(1, 65535);
    private static final String OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
    private static final String IPV4 = OCTET + "(\\." + OCTET + "){3}";
    private static final String IPV6 = ipv6();
    static final Text ADDRESS = text("IPv4 or IPv6 address (never a host name)", "(" + IPV4 + "|" + IPV6 + ")", 45);
    static final Text PREFIX = text("address or prefix such as 10.0.0.0/8 or 2001:db8::/32",
            "(" + IPV4 + "|" + IPV6 + ")(/[0-9]{1,3})?", 49);
    static final Text INTERFACE = name("interface name, up to 15 of A-Z a-z 0-9 _ . -, a final + matches a prefix",
            Names.INTERFACE.pattern(), 16);
    static final Text DURATION = text("duration such as 500ms, 2s or 1h30m (units d, h, m, s, ms)", YamlNode.DURATION_SYNTAX, 64);

    static final MapSpec LISTEN = map("listen", "Which new connections the service takes.")
            .key("port", PORT, REQUIRED, "The destination port clients connect to.")
            .key("address", ADDRESS, OPTIONAL, "The destination address to match, the virtual IP; any address when left out.")
            .key("interface", INTERFACE, OPTIONAL, "Only connections coming in on this interface; any when left out.")
            .build();

    static final MapSpec AFFINITY = map("affinity", "Keeps each client address on one backend.")
            .key("timeout", DURATION, REQUIRED, "How long after a client's last new connection it keeps its backend.")
            .build();

    static final MapSpec MAGLEV = map("maglev", "Settings of the maglev scheduler; only with scheduler: maglev.")
            .key("table_size", integer(2, Service.MAX_MAGLEV_TABLE_SIZE), REQUIRED,
                    "The size of maglev's lookup table: a prime larger than the sum of the weights"
                            + " (left out, nflb picks one from the backends).")
            .build();

    static final MapSpec HEALTH = map("health", "How the daemon (nflb run) checks each backend: it takes a backend out"
            + " after fall failed checks in a row and back after rise good ones. In a backend's health, keys left out"
            + " keep the service's values.")
            .key("type", keyword(HealthCheck.Type.values(), HealthCheck.Type::keyword), byDefault("none"),
                    "tcp connects, http sends a request and checks the answer, exec runs a command (exit status 0 is up);"
                            + " none: the backend is always up.")
            .key("interval", DURATION, byDefault("2s"), "How often each backend is checked; at least "
                    + HealthCheck.MIN_INTERVAL.toMillis() + "ms.")
            .key("timeout", DURATION, byDefault("1s"), "How long one check may take; at most the interval.")
            .key("rise", integer(1, HealthCheck.MAX_RISE_FALL), byDefault(2), "Good checks in a row that bring a backend back.")
            .key("fall", integer(1, HealthCheck.MAX_RISE_FALL), byDefault(3), "Failed checks in a row that take a backend out.")
            .key("method", keyword(HTTP_METHODS), byDefault("GET"), "The method of an http check's request.")
            .key("path", text("path starting with /, printable ASCII without spaces", "/[!-~]*", Integer.MAX_VALUE),
                    byDefault("/"), "The path an http check requests.")
            .key("expect_status", integer(100, 599), byDefault(200), "The status an http check's answer must have.")
            .key("body", name("text", null, Integer.MAX_VALUE), OPTIONAL,
                    "Text the answer's body must contain (http); any body when left out.")
            .key("host", name("host name, printable ASCII without spaces", "[!-~]+", Integer.MAX_VALUE), OPTIONAL,
                    "The Host header of an http check; the backend's ADDRESS:PORT when left out.")
            .key("command", listOf(name("argument", null, Integer.MAX_VALUE), 1, Integer.MAX_VALUE), OPTIONAL,
                    "The program and its arguments an exec check runs, without a shell, with NFLB_BACKEND_ADDRESS"
                            + " and NFLB_BACKEND_PORT set; required with type: exec.")
            .build();

    /** hashlimit prints other units back with an extra option nflb would have to mirror exactly. */
    private static final Text RATE_PER_SECOND = text("rate per second such as 50/s", rate(Rate.Unit.SECOND), 32);

    static final MapSpec LIMITS = map("limits", "Per-client limits on the service's new connections; at least one of"
            + " per_source_rate and max_connections_per_source.")
            .key("per_source_rate", RATE_PER_SECOND, OPTIONAL, "New connections one client address may open per second.")
            .key("burst", integer(1, Limits.MAX_BURST), derived("the rate's count, at most " + Limits.MAX_BURST),
                    "How many new connections a client may open at once before the rate applies; only with per_source_rate.")
            .key("max_connections_per_source", integer(1, Limits.MAX_CONNECTIONS), OPTIONAL,
                    "The connections one client address may have open at once; no cap when left out.")
            .key("action", keyword(Limits.Action.values(), Limits.Action::keyword), byDefault("reject"),
                    "What connections over a limit get: reject answers with a reset or an ICMP error, drop says nothing.")
            .build();

    static final MapSpec BACKEND = map("backend", "A server that takes the service's connections.")
            .key("address", ADDRESS, REQUIRED, "The backend's address.")
            .key("port", PORT, derived("listen.port"), "The port the backend takes the connections on.")
            .key("weight", integer(1, Backend.MAX_WEIGHT), byDefault(1), "Its share of new connections, relative to the"
                    + " other backends' weights.")
            .key("health", HEALTH, derived("the service's health"), "Its own health check; keys left out keep the service's.")
            .build();

    static final MapSpec SERVICE = map("service", "A balanced service: what it listens on and the backends that share"
            + " its new connections.")
            .key("name", name("1 to 32 of a-z, 0-9 and -", Names.SERVICE.pattern(), 32), REQUIRED,
                    "Names the service in rules, status and commands; unique in the file.")
            .key("protocol", keyword(Protocol.values(), Protocol::keyword), byDefault("tcp"),
                    "The transport protocol of the connections the service takes.")
            .key("listen", LISTEN, REQUIRED, "Which new connections the service takes.")
            .key("scheduler", keyword(Scheduler.values(), Scheduler::keyword), byDefault("round-robin"),
                    "How new connections are spread: in turn by weight, at random by weight, or by maglev's consistent"
                            + " hash of the client's address and port (nftables only).")
            .key("snat", keyword(Snat.values(), Snat::keyword), byDefault("none"),
                    "masquerade gives connections the router's address as source, for backends whose replies would"
                            + " not come back through the router.")
            .key("affinity", AFFINITY, OPTIONAL, "Keeps a client address on one backend; without it each new connection"
                    + " is scheduled on its own.")
            .key("maglev", MAGLEV, OPTIONAL, "Settings of the maglev scheduler.")
            .key("health", HEALTH, OPTIONAL, "How the daemon checks the backends; without it every backend is always up.")
            .key("limits", LIMITS, OPTIONAL, "Per-client limits on new connections; none when left out.")
            .key("backends", listOf(BACKEND, 1, Integer.MAX_VALUE), REQUIRED,
                    "The servers that share the service's new connections; one address family per service.")
            .build();

    static final MapSpec POLICY = map("policy", "What each hook does with packets nothing else lets through.")
            .key("input", policy(), byDefault("drop"), "Packets to the router itself.")
            .key("forward", policy(), byDefault("drop"), "Packets routed through the router.")
            .key("output", policy(), byDefault("accept"), "Packets the router sends.")
            .build();

    private static final Text PORT_RANGE = text("range such as 8000-8100", "[0-9]{1,5}-[0-9]{1,5}", 11);
    private static final Schema.ListOf PREFIXES = listOf(PREFIX, 1, MAX_PREFIXES);

    static final MapSpec RULE = map("rule", "Lets through new connections that match all of its keys.")
            .key("protocol", keyword(Protocol.values(), Protocol::keyword), byDefault("tcp"), "The transport protocol.")
            .key("ports", anyOf("port, range such as 8000-8100, or a list of them", PORT, PORT_RANGE,
                            listOf(anyOf("port or range", PORT, PORT_RANGE), 1, MAX_PORTS)), OPTIONAL,
                    "Destination ports, at most " + MAX_PORTS + " (a range counts 2); any port when left out.")
            .key("from", anyOf("address or prefix, or a list of them", PREFIX, PREFIXES), OPTIONAL,
                    "Source addresses or prefixes; any when left out.")
            .key("to", anyOf("address or prefix, or a list of them", PREFIX, PREFIXES), OPTIONAL,
                    "Destination addresses or prefixes; any when left out.")
            .key("interface", INTERFACE, OPTIONAL, "Only packets coming in on this interface; any when left out.")
            .build();

    static final MapSpec LOG_DROPS = map("log_drops", "Logs what the policy drops to the kernel log, at a limited rate.")
            .key("prefix", text("1 to " + Firewall.LogDrops.MAX_PREFIX + " printable ASCII characters without quotes or"
                            + " backslashes", "[ !#-&(-\\[\\]-~]{1," + Firewall.LogDrops.MAX_PREFIX + "}", Firewall.LogDrops.MAX_PREFIX),
                    byDefault("nflb-drop "), "What each logged line starts with.")
            .key("rate", text("rate such as 5/s, 30/m or 1/h", rate(Rate.Unit.values()), 32), byDefault("5/s"),
                    "At most this many lines.")
            .build();

    static final int MAX_NEIGHBOUR_ITEMS = 64;
    private static final Schema.Keyword MODE = keyword(NeighbourModes.Mode.values(), NeighbourModes.Mode::keyword);

    static final MapSpec NEIGHBOUR = map("neighbour", "How nflb's drop policies treat the traffic one neighbour manages,"
            + " and what it manages where its rules do not show it.")
            .key("mode", MODE, byDefault("allow"), "allow: the neighbour's own rules decide its traffic;"
                    + " restrict: as allow, but connections into its networks through published or node ports need a"
                    + " firewall.allow entry; ignore: nflb's policies treat its traffic like any other.")
            .key("interfaces", anyOf("interface name or a list of them", INTERFACE, listOf(INTERFACE, 1, MAX_NEIGHBOUR_ITEMS)),
                    OPTIONAL, "The interfaces it manages, in place of what nflb reads from its rules (docker, libvirt,"
                            + " kube-proxy and other only).")
            .key("networks", anyOf("address or prefix, or a list of them", PREFIX, listOf(PREFIX, 1, MAX_NEIGHBOUR_ITEMS)),
                    OPTIONAL, "The networks it manages, e.g. kube-proxy's pod network when its rules do not show it"
                            + " (docker, libvirt, kube-proxy and other only).")
            .build();

    private static final Schema.AnyOf MODE_OR_SETTINGS = anyOf("allow, restrict or ignore, or settings", MODE, NEIGHBOUR);

    /** Unrecognised neighbours publish nothing nflb could restrict to: they are let through or not. */
    private static final Schema.Keyword OTHER_MODE = keyword(List.of(NeighbourModes.Mode.ALLOW.keyword(), NeighbourModes.Mode.IGNORE.keyword()));

    static final MapSpec OTHER_NEIGHBOUR = map("other_neighbour", "How nflb's drop policies treat traffic of tables and"
            + " chains nflb does not recognise, and what they manage.")
            .key("mode", OTHER_MODE, byDefault("ignore"), "allow: their own rules decide their traffic; ignore: nflb's"
                    + " policies treat it like any other.")
            .key("interfaces", NEIGHBOUR.keys().get(1).type(), OPTIONAL, "The interfaces they manage.")
            .key("networks", NEIGHBOUR.keys().get(2).type(), OPTIONAL, "The networks they manage.")
            .build();

    static final MapSpec NEIGHBOURS = map("neighbours", "The other rule managers on the router (\"neighbours\") and what"
            + " nflb's drop policies mean for the traffic each manages; see README, Sharing the router.")
            .key("docker", MODE_OR_SETTINGS, byDefault("allow"), "Docker's containers: their outbound traffic and published ports.")
            .key("libvirt", MODE_OR_SETTINGS, byDefault("allow"), "libvirt's virtual machines on its NAT networks.")
            .key("kube-proxy", MODE_OR_SETTINGS, byDefault("allow"), "Kubernetes' services: node ports and pod traffic.")
            .key("ufw", MODE_OR_SETTINGS, byDefault("allow"), "ufw as the host firewall: allow defers the router's input to it.")
            .key("firewalld", MODE_OR_SETTINGS, byDefault("allow"), "firewalld as the host firewall: allow defers the"
                    + " router's input to it.")
            .key("other", anyOf("allow or ignore, or settings", OTHER_MODE, OTHER_NEIGHBOUR), byDefault("ignore"),
                    "Any other table or chain nflb does not own: allow or ignore.")
            .key("fail2ban", keyword(List.of()), OPTIONAL, "Has no mode: nflb always keeps its input accepts below"
                    + " fail2ban's bans; naming it is an error.")
            .build();

    static final MapSpec FIREWALL = map("firewall", "What the router lets through. Loopback, established and related"
            + " traffic and the ICMP both families need always pass; invalid packets are always dropped.")
            .key("policy", POLICY, OPTIONAL, "What each hook does with packets nothing else lets through.")
            .key("ping", BOOL, byDefault(true), "Answer echo requests to the router.")
            .key("allow", listOf(RULE, 0, MAX_RULES), OPTIONAL, "What may reach the router itself; nothing more when left out.")
            .key("forward", listOf(RULE, 0, MAX_RULES), OPTIONAL, "What may be routed through the router beyond the"
                    + " balanced services' connections; nothing more when left out.")
            .key("log_drops", LOG_DROPS, OPTIONAL, "Log what the policy drops; nothing is logged when left out.")
            .key("neighbours", NEIGHBOURS, OPTIONAL, "What the policies mean for traffic other rule managers (Docker,"
                    + " libvirt, kube-proxy, ufw, firewalld) handle; each keeps working by default.")
            .build();

    private static final String IPV4_ONLY = "(" + IPV4 + ")";
    private static final Text INTERFACE_ADDRESS = text("IPv4 address with the length of its subnet, such as 192.168.2.1/24",
            IPV4 + "/([1-9]|[12][0-9]|3[0-2])", 18);

    static final MapSpec HA_GATEWAY = map("gateway", "The servers' default route, on the servers' side.")
            .key("interface", INTERFACE, REQUIRED, "The routers' interface towards the servers.")
            .key("address", INTERFACE_ADDRESS, REQUIRED, "vrrp: the gateway address, which moves with the service addresses;"
                    + " ecmp: this router's own gateway address, taken back a second after the router returns.")
            .key("peer_addresses", listOf(INTERFACE_ADDRESS, 1, 254), OPTIONAL, "ecmp only: the other routers' gateway addresses,"
                    + " which this router backs up; the servers route over all of them.")
            .build();

    static final MapSpec HA_SYNC = map("sync", "conntrackd's link (FT-FW over UDP): established connections survive a failover.")
            .key("interface", INTERFACE, REQUIRED, "This router's interface on the sync link; its address is conntrackd's.")
            .key("peer", text("IPv4 address", IPV4_ONLY, 15), REQUIRED, "The other router's address on the sync link.")
            .build();

    static final MapSpec HA = map("ha", "This router's part in a pair of routers (docs/ha.md): vrrp moves the service addresses"
            + " and the servers' gateway to the backup (keepalived, conntrackd); ecmp translates without state on every router.")
            .key("mode", keyword(Ha.Mode.values(), Ha.Mode::keyword), byDefault("vrrp"),
                    "vrrp: active/standby; ecmp: active/active behind the upstream's multipath route (maglev, nftables).")
            .key("interface", INTERFACE, REQUIRED, "The client side: VRRP adverts, and where the service addresses live.")
            .key("router_id", integer(1, 255), REQUIRED, "The VRRP virtual router id, the same on both routers (ecmp: the first"
                    + " of one per gateway address).")
            .key("priority", integer(1, 254), REQUIRED, "Higher is primary at the first election.")
            .key("peers", listOf(text("IPv4 address", IPV4_ONLY, 15), 1, 254), OPTIONAL,
                    "The other routers' addresses on interface, for unicast adverts; multicast when left out.")
            .key("advert_interval", DURATION, byDefault("1s"), "How often the primary says it lives (VRRPv3, 10ms steps);"
                    + " the backup takes over after three missed adverts.")
            .key("preempt", BOOL, byDefault(false), "vrrp: whether the higher priority takes the addresses back when it"
                    + " returns (breaking nothing needs sync); left false, a returning router stays backup.")
            .key("gateway", HA_GATEWAY, OPTIONAL, "The servers' default route; required in ecmp mode.")
            .key("sync", HA_SYNC, OPTIONAL, "vrrp only: conntrackd's link; without it a failover resets established connections.")
            .build();

    static final MapSpec DAEMON = map("daemon", "How nflb run paces itself.")
            .key("min_sync_interval", DURATION, byDefault("100ms"), "Changes to the rules are gathered and applied in one"
                    + " transaction at most this often; 10ms to 10s.")
            .key("resync_interval", DURATION, byDefault("30s"), "How often the daemon reads nflb's rules back from the"
                    + " kernel and repairs them if someone flushed or edited them; 1s to 1d.")
            .key("endpoint_histograms", BOOL, byDefault(false), "A check-duration histogram per checked endpoint in"
                    + " /metrics; off, one per check type, which stays small at thousands of backends.")
            .build();

    /** The whole file. */
    public static final MapSpec ROOT = map("config", "The services a router balances and what it lets through.")
            .key("backend", keyword(BackendKind.values(), BackendKind::keyword), byDefault("auto"),
                    "Which rule language nflb writes: auto picks nftables where nft works, else iptables.")
            .key("services", listOf(SERVICE, 0, Integer.MAX_VALUE), REQUIRED, "The balanced services; [] for none.")
            .key("firewall", FIREWALL, OPTIONAL, "What the router lets through; without it nflb filters nothing but what"
                    + " its services need.")
            .key("daemon", DAEMON, OPTIONAL, "How nflb run paces its syncs and repairs; the defaults suit most routers.")
            .key("ha", HA, OPTIONAL, "Two routers, no single point of failure: this router's part in the pair.")
            .key("fastpath", BOOL, byDefault(false), "Let established connections skip the netfilter hooks through a"
                    + " flowtable. Needs a kernel with flowtables (nf_flow_table); apply and run refuse it where there are"
                    + " none, and nflb does not render flowtables yet, so for now they refuse it everywhere.")
            .build();

    /** RFC 3986's IPv6address: eight groups, or fewer around one "::", the last two perhaps a dotted quad. */
    private static String ipv6() {
        String h16 = "[0-9A-Fa-f]{1,4}";
        String ls32 = "(" + h16 + ":" + h16 + "|" + IPV4 + ")";
        List<String> forms = new ArrayList<>(List.of("(" + h16 + ":){6}" + ls32, "::(" + h16 + ":){5}" + ls32));
        for (int before = 0; before <= 6; before++) {
            String tail = before <= 4 ? "(" + h16 + ":){" + (4 - before) + "}" + ls32 : before == 5 ? h16 : "";
            forms.add("((" + h16 + ":){0," + before + "}" + h16 + ")?::" + tail);
        }
        return "(" + String.join("|", forms) + ")";
    }

    private static Schema.Keyword policy() {
        return keyword(Firewall.Policy.values(), Firewall.Policy::keyword);
    }

    /** A count of 1.. and one of the units' spellings, in any case: 50/s, 3/Minute. */
    private static String rate(Rate.Unit... units) {
        String spellings = Stream.of(units).flatMap(u -> u.spellings().stream()).map(ConfigSchema::anyCase)
                .collect(Collectors.joining("|"));
        return "[0-9]{1,7}/(" + spellings + ")";
    }

    private static String anyCase(String word) {
        StringBuilder sb = new StringBuilder();
        for (char c : word.toCharArray()) {
            sb.append('[').append(Character.toLowerCase(c)).append(Character.toUpperCase(c)).append(']');
        }
        return sb.toString();
    }
}
