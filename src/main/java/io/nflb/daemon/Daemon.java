package io.nflb.daemon;

import io.nflb.dataplane.Dataplane;
import io.nflb.host.Conntrack;
import io.nflb.host.Exec;
import io.nflb.model.Backend;
import io.nflb.model.Config;
import io.nflb.model.HealthCheck;
import io.nflb.model.HostPort;
import io.nflb.model.Service;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * `nflb run` without the command line: the reconciler, the health checker feeding it, the sampler of the
 * kernel's counters, and what the status page, the metrics and the control socket read. Operator commands
 * and reloads come in here; every kernel change goes through the one {@link Reconciler}.
 */
public final class Daemon implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger("nflb");

    /** One backend as the status page and the metrics show it. */
    public record BackendView(BackendKey key, int weight, BackendState.Status status, HealthCheck.Type check,
                              Optional<CheckResult> lastCheck) {
    }

    /** The newest result of a backend's check. */
    public record CheckResult(Instant at, boolean ok, Duration took) {
    }

    /** The newest sync: when, whether the kernel took it, how long it took, what it did or why not. */
    public record SyncResult(Instant at, boolean ok, Duration took, String summary) {
    }

    /**
     * What the metrics show, as of its publication: the daemon publishes a new one whenever a backend, the
     * config or the kernel's counters change, and readers never call back into the daemon.
     */
    public record Snapshot(long generation, List<String> services, List<BackendView> backends, Set<String> rejecting,
                           List<Dataplane.BackendTraffic> traffic) {
        public Snapshot {
            services = List.copyOf(services);
            backends = List.copyOf(backends);
            rejecting = Set.copyOf(rejecting);
            traffic = List.copyOf(traffic);
        }
    }

    private final Dataplane dataplane;
    private final Exec kernel;
    private final Reconciler reconciler;
    private final HealthChecker checker;
    private final Metrics metrics;
    private final TrafficHistory history;
    private final Events events = new Events(50);
    private final Map<BackendKey, CheckResult> checks = new ConcurrentHashMap<>();
    private final AtomicLong generation = new AtomicLong(1);
    private final AtomicReference<SyncResult> lastSync = new AtomicReference<>();
    private final AtomicReference<Snapshot> snapshot = new AtomicReference<>(new Snapshot(1, List.of(), List.of(), Set.of(), List.of()));
    private final ScheduledExecutorService sampler;
    private final Duration sampleEvery;
    private final Instant started = Instant.now();
    private volatile java.util.function.Supplier<Optional<io.nflb.ha.HaStatus>> haSource = Optional::empty;

    /**
     * {@code kernel}: where conntrack runs (the namespace the rules are in); {@code sampleEvery}: how often
     * the kernel's counters are read for the status page, which keeps {@code 10 minutes / sampleEvery} samples.
     */
    public Daemon(Dataplane dataplane, Config config, HealthProbe probe, Exec kernel, Duration sampleEvery) {
        this.dataplane = dataplane;
        this.kernel = kernel;
        this.sampleEvery = sampleEvery;
        this.history = new TrafficHistory((int) Math.max(2, Duration.ofMinutes(10).toMillis() / sampleEvery.toMillis()));
        this.reconciler = new Reconciler(dataplane, config, new Observer());
        this.metrics = new Metrics(snapshot::get, this::ha);
        this.checker = HealthChecker.standard(timed(probe), reconciler::report);
        this.sampler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "nflb-sampler");
            t.setDaemon(true);
            return t;
        });
    }

    /** Brings the kernel to the config (adopting rules already there), starts the checks and the sampler. */
    public Dataplane.Outcome start() {
        Dataplane.Outcome o = reconciler.start();
        events.add(Events.Level.INFO, "started with " + dataplane.name()
                + (o.changed() ? "" : "; the rules in the kernel were already right: adopted them"));
        checker.update(reconciler.targets());
        publish();
        sampler.scheduleWithFixedDelay(this::sample, 0, sampleEvery.toMillis(), TimeUnit.MILLISECONDS);
        return o;
    }

    /** Applies {@code next} as a diff and checks its backends; on a refusal the running config stays. */
    public Dataplane.Outcome reload(Config next) {
        try {
            Dataplane.Outcome o = reconciler.reload(next);
            checker.update(reconciler.targets());
            long g = generation.incrementAndGet();
            publish();
            metrics.reloaded(true);
            events.add(Events.Level.INFO, "reloaded (generation " + g + "): " + o.summary());
            return o;
        } catch (RuntimeException e) {
            reloadRefused(e.getMessage());
            throw e;
        }
    }

    /** Counts and shows a reload refused before it reached the reconciler (an invalid file). */
    public void reloadRefused(String why) {
        metrics.reloaded(false);
        events.add(Events.Level.ERROR, "reload refused: " + why + "; the running rules and checks stay as they were");
    }

    /**
     * Drains, disables or enables the backend of {@code service} at {@code address} ("ADDRESS[:PORT]", v6 in
     * brackets when a port follows); returns what happened, for the operator.
     */
    public String admin(String service, String address, BackendState.Admin admin) {
        BackendKey key = resolve(reconciler.config(), service, address);
        BackendState.Status before = reconciler.status(key).orElseThrow();
        reconciler.admin(key, admin);
        BackendState.Status after = reconciler.status(key).orElseThrow();
        return "backend " + key + ": " + (before == after ? "already " : before.keyword() + " -> ") + after.keyword();
    }

    /** The backend a "ADDRESS[:PORT]" names in {@code service}; without a port it must be the only one at that address. */
    static BackendKey resolve(Config config, String serviceName, String spec) {
        Service service = config.services().stream().filter(s -> s.name().equals(serviceName)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no service " + serviceName + "; there are: "
                        + String.join(", ", config.services().stream().map(Service::name).toList())));
        HostPort wanted = HostPort.parse(spec);
        List<Backend> matches = service.backends().stream()
                .filter(b -> b.address().equals(wanted.address()) && (wanted.port().isEmpty() || b.port() == wanted.port().getAsInt()))
                .toList();
        if (matches.size() == 1) return Reconciler.key(service, matches.get(0));
        String all = String.join(", ", service.backends().stream().map(Backend::endpoint).toList());
        if (matches.isEmpty()) throw new IllegalArgumentException("service " + serviceName + " has no backend " + spec + "; it has: " + all);
        throw new IllegalArgumentException("service " + serviceName + " has several backends at " + spec + "; add the port: " + all);
    }

    public long generation() {
        return generation.get();
    }

    /** Where this router's ha state comes from (ha.Supervisor, or the role file of an external keepalived): read from memory. */
    public void haSource(java.util.function.Supplier<Optional<io.nflb.ha.HaStatus>> source) {
        this.haSource = source;
    }

    /** This router's part in its pair, when the config has an ha: section. */
    public Optional<io.nflb.ha.HaStatus> ha() {
        try {
            return haSource.get();
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    public String dataplaneName() {
        return dataplane.name();
    }

    public Instant started() {
        return started;
    }

    public Config config() {
        return reconciler.config();
    }

    /** Every backend in config order. */
    public List<BackendView> backends() {
        Config c = reconciler.config();
        Map<BackendKey, BackendState.Status> statuses = reconciler.statuses();
        List<BackendView> out = new ArrayList<>();
        for (Service s : c.services()) {
            for (Backend b : s.backends()) {
                BackendKey key = Reconciler.key(s, b);
                BackendState.Status status = statuses.get(key);
                if (status == null) continue; // a reload is swapping the config under us
                out.add(new BackendView(key, b.weight(), status, s.healthOf(b).type(), Optional.ofNullable(checks.get(key))));
            }
        }
        return out;
    }

    public List<String> services() {
        return reconciler.config().services().stream().map(Service::name).toList();
    }

    public List<String> rejecting() {
        return reconciler.rejecting();
    }

    /** The kernel's counters as of the newest sample. */
    public List<Dataplane.BackendTraffic> traffic() {
        return List.copyOf(history.latest().values());
    }

    public TrafficHistory history() {
        return history;
    }

    public Duration sampleEvery() {
        return sampleEvery;
    }

    public List<Events.Event> events() {
        return events.list();
    }

    public Optional<SyncResult> lastSync() {
        return Optional.ofNullable(lastSync.get());
    }

    public Metrics metrics() {
        return metrics;
    }

    /** Reads the kernel's counters now (the sampler does this on its own every {@code sampleEvery}). */
    public void sample() {
        try {
            history.record(System.currentTimeMillis(), dataplane.traffic());
            publish();
        } catch (RuntimeException e) {
            log.warn("could not read the kernel's counters: {}", e.getMessage());
        }
    }

    /** The newest published {@link Snapshot}. */
    public Snapshot snapshot() {
        return snapshot.get();
    }

    private void publish() {
        snapshot.set(new Snapshot(generation.get(), services(), backends(), Set.copyOf(rejecting()), traffic()));
    }

    @Override
    public void close() {
        checker.close();
        sampler.shutdownNow();
    }

    private HealthProbe timed(HealthProbe probe) {
        return target -> {
            long start = System.nanoTime();
            boolean ok = false;
            try {
                ok = probe.check(target);
                return ok;
            } finally {
                Duration took = Duration.ofNanos(System.nanoTime() - start);
                checks.put(target.key(), new CheckResult(Instant.now(), ok, took));
                metrics.check(target.key(), took, ok);
            }
        };
    }

    private final class Observer implements Reconciler.Observer {
        @Override
        public void synced(long nanos, Dataplane.Outcome outcome) {
            metrics().synced(nanos);
            lastSync.set(new SyncResult(Instant.now(), true, Duration.ofNanos(nanos), outcome.summary()));
            if (outcome.changed()) events.add(Events.Level.INFO, "kernel reprogrammed: " + outcome.summary());
            publish();
        }

        @Override
        public void syncFailed(long nanos, RuntimeException e) {
            metrics().syncFailed(nanos);
            lastSync.set(new SyncResult(Instant.now(), false, Duration.ofNanos(nanos), String.valueOf(e.getMessage())));
            events.add(Events.Level.ERROR, "the kernel refused a sync: " + e.getMessage());
        }

        @Override
        public void statusChanged(BackendKey key, BackendState.Status status) {
            events.add(status == BackendState.Status.DOWN ? Events.Level.WARN : Events.Level.INFO,
                    "backend " + key + " is " + status.keyword());
            publish();
        }

        @Override
        public void udpBackendLeft(Service service, Backend backend) {
            try {
                int n = Conntrack.forgetUdp(kernel, service.listen().port(), backend.address(), backend.port());
                metrics().udpFlowsDeleted(service.name(), n);
                if (n > 0) {
                    log.info("deleted {} conntrack entr{} of UDP flows to {} ({} left service {})", n, n == 1 ? "y" : "ies",
                            backend.endpoint(), backend.endpoint(), service.name());
                    events.add(Events.Level.INFO, "deleted " + n + " UDP flow(s) to " + backend.endpoint() + ", which left " + service.name());
                }
            } catch (RuntimeException e) {
                log.warn("could not delete the UDP flows to {}: {}", backend.endpoint(), e.getMessage());
                events.add(Events.Level.WARN, "could not delete the UDP flows to " + backend.endpoint() + ": " + e.getMessage());
            }
        }
    }
}
