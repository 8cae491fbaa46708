package io.nflb.config;

import io.nflb.model.Backend;
import io.nflb.model.BackendKind;
import io.nflb.model.Config;
import io.nflb.model.DaemonSettings;
import io.nflb.model.Firewall;
import io.nflb.model.Ha;
import io.nflb.model.HealthCheck;
import io.nflb.model.IpAddress;
import io.nflb.model.Limits;
import io.nflb.model.Listen;
import io.nflb.model.Names;
import io.nflb.model.Protocol;
import io.nflb.model.Scheduler;
import io.nflb.model.Service;
import io.nflb.model.Snat;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.snakeyaml.engine.v2.nodes.Tag;

/**
 * Binds composed YAML to the model records, mapping by mapping as {@link ConfigSchema} describes them, checking
 * everything the records' constructors would refuse first, so user input only ever produces {@link ConfigError}s.
 */
final class ConfigBinder {

    private static final List<String> HTTP_KEYS = List.of("method", "path", "expect_status", "body", "host");

    private final Problems problems;
    /** Service name -> line where it was first defined. */
    private final Map<String, Integer> serviceLines = new HashMap<>();
    /** What a service matches -> the first service to match it and the line of its listen. */
    private final Map<Catch, Caught> catchers = new HashMap<>();

    private record Catch(Protocol protocol, Listen listen) {
    }

    /**
     * Each bound service's nodes, for the checks the ha section makes of them. Streamed services keep theirs only
     * when the root names {@code ha} before them, so a long file without a pair need not hold its trees.
     */
    private final Map<String, HaBinder.ServiceNodes> serviceNodes = new HashMap<>();
    private boolean keepServiceNodes = true;

    private record Caught(String service, int line) {
    }

    /** One backend of a service, for the duplicate check of a long list. */
    private record Endpoint(IpAddress address, int port) {
    }

    /** The config's backend, known before its services are bound: some schedulers need one. */
    private BackendKind backendKind = BackendKind.AUTO;

    /** The services as bound, for refusals found after binding. */
    private List<Service> boundServices = List.of();

    /** Services bound as the composer handed them over ({@link #stream}), and the sequence that stands for them. */
    private Tree streamedPlaceholder;
    private List<Service> streamed;
    /** The backend kind the streamed services were bound with; null before the first. */
    private BackendKind streamedWith;
    private boolean rebind;
    private int streamMark;

    ConfigBinder(Problems problems) {
        this.problems = problems;
    }

    /**
     * Binds each service as the fast composer finishes it, so its subtree need not be kept. The services depend on
     * one key of the root, {@code backend}, which a config writes first: when it comes after them instead, binding
     * must start over from a whole tree ({@link #mustRebind}).
     */
    FastYaml.Stream stream() {
        streamMark = problems.mark();
        return new FastYaml.Stream() {
            @Override
            public void start(Tree[] rootBefore) {
                backendKind = BackendKind.AUTO;
                keepServiceNodes = false;
                for (int i = 0; i + 1 < rootBefore.length; i += 2) {
                    if (rootBefore[i].kind == Tree.Kind.SCALAR && rootBefore[i].value.equals("ha")) keepServiceNodes = true;
                }
                for (int i = 0; i + 1 < rootBefore.length; i += 2) {
                    if (rootBefore[i].kind == Tree.Kind.SCALAR && rootBefore[i].value.equals("backend")) {
                        // As the root's binding will read it: the first such key, a keyword, or else auto.
                        Tree v = rootBefore[i + 1];
                        if (v.kind == Tree.Kind.SCALAR && (v.tag.equals(Tag.STR) || v.tag.equals(Tag.INT))) {
                            for (BackendKind k : BackendKind.values()) if (k.keyword().equals(v.value)) backendKind = k;
                        }
                        break;
                    }
                }
                streamedWith = backendKind;
                streamed = new ArrayList<>();
            }

            @Override
            public void item(Tree item) {
                service(new YamlNode(item, problems)).ifPresent(streamed::add);
            }

            @Override
            public void placeholder(Tree sequence) {
                streamedPlaceholder = sequence;
            }
        };
    }

    /** The services were streamed before the root's {@code backend} key said how to bind them: bind again, whole. */
    boolean mustRebind() {
        return rebind;
    }

    /**
     * Reports {@code r} at the backend or service it names (1:1 when it names neither), found in {@code root}, the
     * whole document as composed.
     */
    void place(io.nflb.model.Refusal r, Tree root) {
        Optional<Tree> item = r.service().flatMap(name -> serviceItem(root, name));
        YamlNode at = item.flatMap(i -> value(i, "name")).map(n -> new YamlNode(n, problems)).orElse(null);
        if (at != null && r.endpoint().isPresent()) at = backendNode(item.get(), r.service().get(), r.endpoint().get()).orElse(at);
        if (at != null) at.error(r.message());
        else problems.add(1, 1, r.message());
    }

    /**
     * Where the backend {@code endpoint} of service {@code service} is written. Refusals come only for a config
     * bound without a mistake, so its i-th backend is the i-th item of its list.
     */
    private Optional<YamlNode> backendNode(Tree item, String service, String endpoint) {
        Optional<Tree> list = value(item, "backends").filter(l -> l.kind == Tree.Kind.SEQUENCE);
        for (Service s : boundServices) {
            if (!s.name().equals(service)) continue;
            for (int i = 0; i < s.backends().size(); i++) {
                if (s.backends().get(i).endpoint().equals(endpoint) && list.isPresent() && i < list.get().items.length) {
                    return Optional.of(new YamlNode(list.get().items[i], problems));
                }
            }
            break;
        }
        return Optional.empty();
    }

    private static Optional<Tree> serviceItem(Tree root, String name) {
        Optional<Tree> services = value(root, "services").filter(l -> l.kind == Tree.Kind.SEQUENCE);
        if (services.isEmpty()) return Optional.empty();
        for (Tree item : services.get().items) {
            if (value(item, "name").filter(n -> n.kind == Tree.Kind.SCALAR && n.value.equals(name)).isPresent()) return Optional.of(item);
        }
        return Optional.empty();
    }

    /** The value of {@code key} in a mapping as composed (its first one). */
    private static Optional<Tree> value(Tree mapping, String key) {
        if (mapping.kind != Tree.Kind.MAPPING) return Optional.empty();
        for (int i = 0; i < mapping.items.length; i += 2) {
            Tree k = mapping.items[i];
            if (k.kind == Tree.Kind.SCALAR && k.value.equals(key)) return Optional.of(mapping.items[i + 1]);
        }
        return Optional.empty();
    }

    Optional<Config> config(YamlNode root) {
        return root.mapping(ConfigSchema.ROOT).flatMap(m -> {
            // Streamed services were bound, and their mistakes reported, before the root.
            int mark = streamedPlaceholder != null ? streamMark : problems.mark();
            Optional<BackendKind> backend = m.orDefault("backend",
                    n -> n.keyword("backend", List.of(BackendKind.values()), BackendKind::keyword));
            backendKind = backend.orElse(BackendKind.AUTO);
            if (streamedWith != null && streamedWith != backendKind) rebind = true;
            Optional<List<Service>> services = m.require("services", this::services);
            Optional<Firewall> firewall = m.optional("firewall", new FirewallBinder(problems)::firewall);
            Optional<DaemonSettings> daemon = m.optional("daemon", DaemonSettings.DEFAULTS, this::daemon);
            // An ha section after streamed services that kept no nodes: bind again from the whole tree, which keeps them.
            if (m.get("ha").isPresent() && !keepServiceNodes) rebind = true;
            HaBinder haBinder = new HaBinder(problems);
            Optional<Ha> ha = m.optional("ha", haBinder::ha);
            if (ha.isPresent() && problems.mark() == mark && !rebind) {
                haBinder.check(ha.get(), backend.get(), services.get(), serviceNodes);
            }
            Optional<Boolean> fastpath = m.orDefault("fastpath", YamlNode::bool);
            return problems.buildIfNoneSince(mark, () -> new Config(backend.get(), services.get(), firewall, daemon.get(), ha,
                    fastpath.get()));
        });
    }

    private Optional<DaemonSettings> daemon(YamlNode node) {
        return node.mapping(ConfigSchema.DAEMON).flatMap(m -> {
            int mark = problems.mark();
            Optional<Duration> minSync = m.orDefault("min_sync_interval",
                    n -> n.duration("min_sync_interval", DaemonSettings.MIN_SYNC_FLOOR, DaemonSettings.MIN_SYNC_CEILING));
            Optional<Duration> resync = m.orDefault("resync_interval",
                    n -> n.duration("resync_interval", DaemonSettings.RESYNC_FLOOR, DaemonSettings.RESYNC_CEILING));
            Optional<Boolean> histograms = m.orDefault("endpoint_histograms", YamlNode::bool);
            return problems.buildIfNoneSince(mark, () -> new DaemonSettings(minSync.get(), resync.get(), histograms.get()));
        });
    }

    private Optional<List<Service>> services(YamlNode node) {
        if (node.tree() == streamedPlaceholder) {
            boundServices = streamed == null ? new ArrayList<>() : streamed;
            return Optional.of(boundServices);
        }
        return node.sequence().map(items -> {
            List<Service> services = new ArrayList<>(items.size());
            for (YamlNode item : items) service(item).ifPresent(services::add);
            boundServices = services;
            return services;
        });
    }

    private Optional<Service> service(YamlNode node) {
        return node.mapping(ConfigSchema.SERVICE).flatMap(m -> {
            int mark = problems.mark();
            Optional<String> name = m.require("name", this::serviceName);
            Optional<Protocol> protocol = m.orDefault("protocol",
                    n -> n.keyword("protocol", List.of(Protocol.values()), Protocol::keyword));
            Optional<Listen> listen = m.require("listen", this::listen);
            Optional<Scheduler> scheduler = m.orDefault("scheduler",
                    n -> n.keyword("scheduler", List.of(Scheduler.values()), Scheduler::keyword).filter(s -> {
                        // iptables has no hash of the client to index a table with; say so here, not at apply time.
                        if (s != Scheduler.MAGLEV || backendKind != BackendKind.IPTABLES) return true;
                        n.error("scheduler 'maglev' needs 'backend: nftables' (or auto); iptables has no per-packet hash to index its table");
                        return false;
                    }));
            Optional<Snat> snat = m.orDefault("snat",
                    n -> n.keyword("snat", List.of(Snat.values()), Snat::keyword));
            // Both languages count affinity in whole seconds (iptables would round up, nft down): say so here.
            Optional<Duration> affinity = m.optional("affinity",
                    n -> n.mapping(ConfigSchema.AFFINITY).flatMap(a -> a.require("timeout", t -> t
                            .duration("affinity timeout", Duration.ofSeconds(1), Service.MAX_AFFINITY).filter(d -> {
                                if (d.toNanosPart() == 0) return true;
                                t.error("affinity timeout " + d.toMillis() + "ms is not a whole number of seconds");
                                return false;
                            }))));
            Optional<HealthCheck> health = m.optional("health", HealthCheck.NONE, n -> health(n, HealthCheck.NONE));
            // A backend's health: keys override the service's; when the service's is wrong, the defaults'.
            HealthCheck inherited = health.orElse(HealthCheck.NONE);
            List<Backend> backends = m.require("backends", n -> backends(n, listen, inherited)).orElse(List.of());
            Optional<Integer> tableSize = m.optional("maglev", 0, n -> maglev(n, scheduler, backends));
            Optional<Limits> limits = m.optional("limits", FirewallBinder::limits);
            Optional<Service> service = problems.buildIfNoneSince(mark, () -> new Service(name.get(), protocol.get(),
                    listen.get(), scheduler.get(), snat.get(), backends, affinity, tableSize.get(), health.get(), limits));
            service.ifPresent(s -> {
                checkCatch(s, m.get("listen").orElseThrow());
                if (keepServiceNodes) serviceNodes.put(s.name(), new HaBinder.ServiceNodes(m, backendItems(m)));
            });
            return service;
        });
    }

    private Optional<String> serviceName(YamlNode node) {
        return node.string().filter(name -> {
            if (!follows(Names::requireService, name)) {
                node.error("'" + name + "' is not a valid service name; expected 1 to 32 characters among a-z, 0-9 and '-'");
                return false;
            }
            Integer first = serviceLines.putIfAbsent(name, node.line());
            if (first != null) node.error("duplicate service name '" + name + "'; first defined at line " + first);
            return true;
        });
    }

    private Optional<Listen> listen(YamlNode node) {
        return node.mapping(ConfigSchema.LISTEN).flatMap(m -> {
            int mark = problems.mark();
            Optional<Integer> port = m.require("port", YamlNode::integer);
            Optional<IpAddress> address = m.optional("address", YamlNode::address);
            Optional<String> iface = m.optional("interface", ConfigBinder::interfaceName);
            return problems.buildIfNoneSince(mark, () -> new Listen(port.get(), address, iface));
        });
    }

    static Optional<String> interfaceName(YamlNode node) {
        return node.string().filter(name -> {
            if (follows(Names::requireInterface, name)) return true;
            node.error("'" + name + "' is not a valid interface name; expected 1 to 15 characters among"
                    + " A-Z, a-z, 0-9, '_', '.' and '-', optionally ending in '+'");
            return false;
        });
    }

    /** {@code listen} is empty when it was wrong; backends without a port of their own are then skipped. */
    private Optional<List<Backend>> backends(YamlNode node, Optional<Listen> listen, HealthCheck inherited) {
        return node.sequence().flatMap(items -> {
            if (items.isEmpty()) {
                node.error("expected at least one backend, found an empty list");
                return Optional.empty();
            }
            List<Backend> backends = new ArrayList<>(items.size());
            List<YamlNode> written = new ArrayList<>(items.size());
            // Duplicates: a few backends are compared pairwise, a long list through a map.
            Map<Endpoint, Integer> seen = items.size() > 16 ? new HashMap<>() : null;
            // One service is one address family: the listen address sets it, or else the first backend.
            Optional<IpAddress> listenAddress = listen.flatMap(Listen::address);
            IpAddress.Family family = listenAddress.map(IpAddress::family).orElse(null);
            String familySource = listenAddress.map(a -> "listen address " + a).orElse(null);
            Optional<Integer> listenPort = listen.map(Listen::port);
            for (YamlNode item : items) {
                Optional<Backend> bound = backend(item, listenPort, inherited);
                if (bound.isEmpty()) continue;
                Backend b = bound.get();
                int first = -1;
                if (seen != null) {
                    Integer f = seen.putIfAbsent(new Endpoint(b.address(), b.port()), backends.size());
                    if (f != null) first = f;
                } else {
                    for (int j = 0; j < backends.size() && first < 0; j++) {
                        Backend o = backends.get(j);
                        if (o.port() == b.port() && o.address().equals(b.address())) first = j;
                    }
                }
                if (first >= 0) item.error("duplicate backend " + b.endpoint() + "; first at line " + written.get(first).line());
                if (family == null) {
                    family = b.address().family();
                    familySource = "backend " + b.address() + " at line " + item.line();
                } else if (b.address().family() != family) {
                    item.error("backend " + b.address() + " is " + familyName(b.address().family()) + " but "
                            + familySource + " is " + familyName(family) + "; a service uses one address family");
                }
                backends.add(b);
                written.add(item);
            }
            return Optional.of(backends);
        });
    }

    private Optional<Backend> backend(YamlNode node, Optional<Integer> listenPort, HealthCheck inherited) {
        return node.mapping(ConfigSchema.BACKEND).flatMap(m -> {
            int mark = problems.mark();
            Optional<IpAddress> address = m.require("address", YamlNode::address);
            Optional<Integer> port = m.get("port").map(YamlNode::integer).orElse(listenPort);
            Optional<Integer> weight = m.orDefault("weight", YamlNode::integer);
            Optional<HealthCheck> health = m.optional("health", n -> health(n, inherited));
            if (port.isEmpty()) return Optional.empty(); // wrong here or in listen: reported either way
            return problems.buildIfNoneSince(mark, () -> new Backend(address.get(), port.get(), weight.get(), health));
        });
    }

    /** A {@code health:} mapping; keys it does not name keep {@code base}'s values. */
    private Optional<HealthCheck> health(YamlNode node, HealthCheck base) {
        return node.mapping(ConfigSchema.HEALTH).flatMap(m -> {
            int mark = problems.mark();
            Optional<HealthCheck.Type> type = m.optional("type", base.type(),
                    n -> n.keyword("health check type", List.of(HealthCheck.Type.values()), HealthCheck.Type::keyword));
            Optional<Duration> interval = m.optional("interval", base.interval(),
                    n -> n.duration("interval", HealthCheck.MIN_INTERVAL, HealthCheck.MAX_INTERVAL));
            Optional<Duration> timeout = m.optional("timeout", base.timeout(),
                    n -> n.duration("timeout", Duration.ofMillis(1), HealthCheck.MAX_INTERVAL));
            Optional<Integer> rise = m.optional("rise", base.rise(), YamlNode::integer);
            Optional<Integer> fall = m.optional("fall", base.fall(), YamlNode::integer);
            Optional<String> method = m.optional("method", base.method(), n -> n.keyword("http method", ConfigSchema.HTTP_METHODS, s -> s));
            Optional<String> path = m.optional("path", base.path(), n -> n.string().filter(p -> {
                if (!p.startsWith("/")) n.error("http path '" + p + "' must start with '/'");
                else if (!HealthCheck.printable(p) || p.contains(" ")) n.error("http path must be printable ASCII without spaces");
                else return true;
                return false;
            }));
            Optional<Integer> status = m.optional("expect_status", base.expectStatus(), YamlNode::integer);
            Optional<Optional<String>> body = m.optional("body", base.body(), n -> n.string().filter(b -> {
                if (!b.isEmpty()) return true;
                n.error("body must not be empty; leave it out to accept any body");
                return false;
            }).map(Optional::of));
            Optional<Optional<String>> host = m.optional("host", base.host(), n -> n.string().filter(h -> {
                if (!h.isEmpty() && HealthCheck.printable(h) && !h.contains(" ")) return true;
                n.error("host '" + h + "' must be printable ASCII without spaces");
                return false;
            }).map(Optional::of));
            Optional<List<String>> command = m.optional("command", base.command(), this::command);
            type.ifPresent(t -> checkTypeKeys(m, t, command));
            if (interval.isPresent() && timeout.isPresent() && timeout.get().compareTo(interval.get()) > 0) {
                m.get("timeout").or(() -> m.get("interval")).orElse(m.node()).error("timeout " + timeout.get().toMillis()
                        + "ms is longer than interval " + interval.get().toMillis() + "ms; a check must end before the next starts");
            }
            return problems.buildIfNoneSince(mark, () -> new HealthCheck(type.get(), interval.get(), timeout.get(),
                    rise.get(), fall.get(), method.get(), path.get(), status.get(), body.get(), host.get(), command.get()));
        });
    }

    /** Keys of another type are a mistake (a typo in the type, or a leftover): say so instead of ignoring them. */
    private void checkTypeKeys(YamlMap m, HealthCheck.Type type, Optional<List<String>> command) {
        for (String key : HTTP_KEYS) {
            if (type != HealthCheck.Type.HTTP) {
                m.get(key).ifPresent(n -> n.error("'" + key + "' applies only to 'type: http', found 'type: " + type.keyword() + "'"));
            }
        }
        if (type != HealthCheck.Type.EXEC) {
            m.get("command").ifPresent(n -> n.error("'command' applies only to 'type: exec', found 'type: " + type.keyword() + "'"));
        } else if (command.filter(List::isEmpty).isPresent() && m.get("command").isEmpty()) {
            m.node().error("health check 'type: exec' is missing required key 'command'");
        }
    }

    /** An argument list, run without a shell: ["/usr/lib/nflb/check-db", "--quick"]. */
    private Optional<List<String>> command(YamlNode node) {
        return node.sequence().flatMap(items -> {
            if (items.isEmpty()) {
                node.error("command must name a program: expected a list of strings such as [/usr/bin/check, --quick]");
                return Optional.empty();
            }
            int mark = problems.mark();
            List<String> argv = new ArrayList<>();
            for (YamlNode item : items) {
                item.string().ifPresent(a -> {
                    if (a.isEmpty() || a.indexOf('\0') >= 0) item.error("command arguments must be non-empty strings");
                    else argv.add(a);
                });
            }
            return problems.buildIfNoneSince(mark, () -> argv);
        });
    }

    /** {@code scheduler} is empty when it was wrong; {@code backends} may be partial, so weights are a lower bound. */
    private Optional<Integer> maglev(YamlNode node, Optional<Scheduler> scheduler, List<Backend> backends) {
        scheduler.filter(s -> s != Scheduler.MAGLEV).ifPresent(s -> node.error(
                "maglev settings need 'scheduler: maglev', found 'scheduler: " + s.keyword() + "'"));
        return node.mapping(ConfigSchema.MAGLEV).flatMap(m -> m.require("table_size", n -> n
                .integer()
                .filter(size -> {
                    if (!Service.isPrime(size)) {
                        n.error("table_size " + size + " is not prime; the next prime is " + nextPrime(size));
                        return false;
                    }
                    int weights = backends.stream().mapToInt(Backend::weight).sum();
                    if (size <= weights) {
                        n.error("table_size " + size + " must be larger than the sum of weights, " + weights);
                        return false;
                    }
                    return true;
                })));
    }

    /** Two services matching the same packets: the second would never see any. */
    private void checkCatch(Service service, YamlNode listenNode) {
        Caught caught = catchers.putIfAbsent(new Catch(service.protocol(), service.listen()),
                new Caught(service.name(), listenNode.line()));
        if (caught == null) return;
        String first = "service '" + caught.service() + "' at line " + caught.line();
        Listen l = service.listen();
        String traffic = service.protocol().keyword() + " port " + l.port()
                + l.address().map(a -> " to " + a).orElse("") + l.iface().map(i -> " on " + i).orElse("");
        listenNode.error("service '" + service.name() + "' catches the same traffic as " + first
                + " (" + traffic + ")");
    }

    /** The backends' own nodes, parallel to the bound list (only called when every backend bound). */
    private static List<YamlNode> backendItems(YamlMap service) {
        return service.get("backends").flatMap(YamlNode::sequence).orElse(List.of());
    }

    static boolean follows(Consumer<String> rule, String text) {
        try {
            rule.accept(text);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static String familyName(IpAddress.Family family) {
        return family == IpAddress.Family.V4 ? "IPv4" : "IPv6";
    }

    private static int nextPrime(int n) {
        int p = n + 1;
        while (!Service.isPrime(p)) p++;
        return p;
    }
}
