package io.nflb.config;

import io.nflb.model.Backend;
import io.nflb.model.BackendKind;
import io.nflb.model.Config;
import io.nflb.model.IpAddress;
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

/**
 * The nflb.yaml schema: binds composed YAML to the model records, checking everything the records'
 * constructors would refuse first, so user input only ever produces {@link ConfigError}s.
 */
final class ConfigBinder {

    private static final List<String> CONFIG_KEYS = List.of("backend", "services");
    private static final List<String> SERVICE_KEYS =
            List.of("name", "protocol", "listen", "scheduler", "snat", "affinity", "maglev", "backends");
    private static final List<String> LISTEN_KEYS = List.of("port", "address", "interface");
    private static final List<String> BACKEND_KEYS = List.of("address", "port", "weight");
    private static final List<String> AFFINITY_KEYS = List.of("timeout");
    private static final List<String> MAGLEV_KEYS = List.of("table_size");

    private final Problems problems;
    /** Service name -> line where it was first defined. */
    private final Map<String, Integer> serviceLines = new HashMap<>();
    /** What a service matches -> "service 'web' at line 3", the first one to match it. */
    private final Map<Catch, String> catchers = new HashMap<>();

    private record Catch(Protocol protocol, Listen listen) {
    }

    ConfigBinder(Problems problems) {
        this.problems = problems;
    }

    Optional<Config> config(YamlNode root) {
        return root.mapping("config", CONFIG_KEYS).flatMap(m -> {
            int mark = problems.mark();
            Optional<BackendKind> backend = m.optional("backend", BackendKind.AUTO,
                    n -> n.keyword("backend", List.of(BackendKind.values()), BackendKind::keyword));
            Optional<List<Service>> services = m.require("services", this::services);
            return problems.buildIfNoneSince(mark, () -> new Config(backend.get(), services.get()));
        });
    }

    private Optional<List<Service>> services(YamlNode node) {
        return node.sequence().map(items -> {
            List<Service> services = new ArrayList<>();
            for (YamlNode item : items) service(item).ifPresent(services::add);
            return services;
        });
    }

    private Optional<Service> service(YamlNode node) {
        return node.mapping("service", SERVICE_KEYS).flatMap(m -> {
            int mark = problems.mark();
            Optional<String> name = m.require("name", this::serviceName);
            Optional<Protocol> protocol = m.optional("protocol", Protocol.TCP,
                    n -> n.keyword("protocol", List.of(Protocol.values()), Protocol::keyword));
            Optional<Listen> listen = m.require("listen", this::listen);
            Optional<Scheduler> scheduler = m.optional("scheduler", Scheduler.ROUND_ROBIN,
                    n -> n.keyword("scheduler", List.of(Scheduler.values()), Scheduler::keyword));
            Optional<Snat> snat = m.optional("snat", Snat.NONE,
                    n -> n.keyword("snat", List.of(Snat.values()), Snat::keyword));
            Optional<Duration> affinity = m.optional("affinity",
                    n -> n.mapping("affinity", AFFINITY_KEYS).flatMap(a -> a.require("timeout", YamlNode::duration)));
            List<Backend> backends = m.require("backends", n -> backends(n, listen)).orElse(List.of());
            Optional<Integer> tableSize = m.optional("maglev", 0, n -> maglev(n, scheduler, backends));
            Optional<Service> service = problems.buildIfNoneSince(mark, () -> new Service(name.get(), protocol.get(),
                    listen.get(), scheduler.get(), snat.get(), backends, affinity, tableSize.get()));
            service.ifPresent(s -> checkCatch(s, m.get("listen").orElseThrow()));
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
        return node.mapping("listen", LISTEN_KEYS).flatMap(m -> {
            int mark = problems.mark();
            Optional<Integer> port = m.require("port", n -> n.integer("port", 1, 65535));
            Optional<IpAddress> address = m.optional("address", YamlNode::address);
            Optional<String> iface = m.optional("interface", this::interfaceName);
            return problems.buildIfNoneSince(mark, () -> new Listen(port.get(), address, iface));
        });
    }

    private Optional<String> interfaceName(YamlNode node) {
        return node.string().filter(name -> {
            if (follows(Names::requireInterface, name)) return true;
            node.error("'" + name + "' is not a valid interface name; expected 1 to 15 characters among"
                    + " A-Z, a-z, 0-9, '_', '.' and '-', optionally ending in '+'");
            return false;
        });
    }

    /** {@code listen} is empty when it was wrong; backends without a port of their own are then skipped. */
    private Optional<List<Backend>> backends(YamlNode node, Optional<Listen> listen) {
        return node.sequence().flatMap(items -> {
            if (items.isEmpty()) {
                node.error("expected at least one backend, found an empty list");
                return Optional.empty();
            }
            List<Backend> backends = new ArrayList<>();
            Map<String, Integer> endpointLines = new HashMap<>();
            // One service is one address family: the listen address sets it, or else the first backend.
            Optional<IpAddress> listenAddress = listen.flatMap(Listen::address);
            IpAddress.Family family = listenAddress.map(IpAddress::family).orElse(null);
            String familySource = listenAddress.map(a -> "listen address " + a).orElse(null);
            for (YamlNode item : items) {
                Optional<Backend> bound = backend(item, listen.map(Listen::port));
                if (bound.isEmpty()) continue;
                Backend b = bound.get();
                Integer first = endpointLines.putIfAbsent(b.endpoint(), item.line());
                if (first != null) item.error("duplicate backend " + b.endpoint() + "; first at line " + first);
                if (family == null) {
                    family = b.address().family();
                    familySource = "backend " + b.address() + " at line " + item.line();
                } else if (b.address().family() != family) {
                    item.error("backend " + b.address() + " is " + familyName(b.address().family()) + " but "
                            + familySource + " is " + familyName(family) + "; a service uses one address family");
                }
                backends.add(b);
            }
            return Optional.of(backends);
        });
    }

    private Optional<Backend> backend(YamlNode node, Optional<Integer> listenPort) {
        return node.mapping("backend", BACKEND_KEYS).flatMap(m -> {
            int mark = problems.mark();
            Optional<IpAddress> address = m.require("address", YamlNode::address);
            Optional<Integer> port = m.get("port").map(n -> n.integer("port", 1, 65535)).orElse(listenPort);
            Optional<Integer> weight = m.optional("weight", 1, n -> n.integer("weight", 1, Backend.MAX_WEIGHT));
            if (port.isEmpty()) return Optional.empty(); // wrong here or in listen: reported either way
            return problems.buildIfNoneSince(mark, () -> new Backend(address.get(), port.get(), weight.get()));
        });
    }

    /** {@code scheduler} is empty when it was wrong; {@code backends} may be partial, so weights are a lower bound. */
    private Optional<Integer> maglev(YamlNode node, Optional<Scheduler> scheduler, List<Backend> backends) {
        scheduler.filter(s -> s != Scheduler.MAGLEV).ifPresent(s -> node.error(
                "maglev settings need 'scheduler: maglev', found 'scheduler: " + s.keyword() + "'"));
        return node.mapping("maglev", MAGLEV_KEYS).flatMap(m -> m.require("table_size", n -> n
                .integer("table_size", 2, Service.MAX_MAGLEV_TABLE_SIZE)
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
        String first = catchers.putIfAbsent(new Catch(service.protocol(), service.listen()),
                "service '" + service.name() + "' at line " + listenNode.line());
        if (first == null) return;
        Listen l = service.listen();
        String traffic = service.protocol().keyword() + " port " + l.port()
                + l.address().map(a -> " to " + a).orElse("") + l.iface().map(i -> " on " + i).orElse("");
        listenNode.error("service '" + service.name() + "' catches the same traffic as " + first
                + " (" + traffic + ")");
    }

    private static boolean follows(Consumer<String> rule, String text) {
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
