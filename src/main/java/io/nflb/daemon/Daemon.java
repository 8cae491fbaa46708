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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * `nflb run` without the command line. Threads, all bounded: the health checker's one (plus its small exec
 * pool), the sync loop's one (the only one that touches the kernel), the sampler of the kernel's counters.
 * A check result records state and asks for a sync; operators' commands and reloads go through the same sync
 * loop. The status page, the metrics and the control socket read a {@link Snapshot} built from memory.
 */
public final class Daemon implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger("nflb");
    /** How long an operator's command waits for the kernel before it answers anyway. */
    static final Duration ADMIN_WAIT = Duration.ofSeconds(10);
    static final Duration RELOAD_WAIT = Duration.ofMinutes(5);

    /** One backend as the status page and the metrics show it; {@code probe} is empty for unchecked ones. */
    public record BackendView(BackendKey key, int weight, BackendState.Status status, HealthCheck.Type check,
                              Optional<Probe> probe) {
    }

    /** The newest result of a probe. */
    public record CheckResult(Instant at, boolean ok, Duration took) {
    }

    /** The newest sync: when, whether the kernel took it, how long it took, what it did or why not. */
    public record SyncResult(Instant at, boolean ok, Duration took, String summary) {
    }

    /**
     * What the metrics and the status page show, as of its making: built again only when a backend, the config
     * or the kernel's counters changed since, and readers never call back into the daemon's locks twice.
     */
    public record Snapshot(long generation, List<String> services, List<BackendView> backends, Set<String> rejecting,
                           List<Dataplane.BackendTraffic> traffic, boolean pending) {
        public Snapshot {
            services = List.copyOf(services);
            backends = List.copyOf(backends);
            rejecting = Set.copyOf(rejecting);
            traffic = List.copyOf(traffic);
        }
    }

    private record Built(long version, long generation, long samples, Snapshot snapshot) {
    }

    private final Dataplane dataplane;
    private final Exec kernel;
    private final Reconciler reconciler;
    private final HealthChecker checker;
    private final SyncLoop syncLoop;
    private final Metrics metrics;
    private final TrafficHistory history;
    private final Events events = new Events(50);
    private final Map<Probe, CheckResult> checks = new ConcurrentHashMap<>();
    private final AtomicLong generation = new AtomicLong(1);
    private final AtomicReference<SyncResult> lastSync = new AtomicReference<>();
    private final AtomicReference<Built> built = new AtomicReference<>();
    private final AtomicReference<Set<String>> rejectingInKernel = new AtomicReference<>(Set.of());
    private final AtomicReference<String> confirmProblem = new AtomicReference<>();
    private final ScheduledExecutorService sampler;
    private final Duration sampleEvery;
    private final Instant started = Instant.now();
    private volatile java.util.function.Supplier<Optional<io.nflb.ha.HaStatus>> haSource = Optional::empty;

    /**
     * {@code probe}: null for the real checks, else every check goes through it (tests). {@code kernel}: where
     * conntrack runs (the namespace the rules are in); {@code sampleEvery}: how often the kernel's counters are
     * read for the status page, which keeps {@code 10 minutes / sampleEvery} samples.
     */
    public Daemon(Dataplane dataplane, Config config, HealthProbe probe, Exec kernel, Duration sampleEvery) {
        this.dataplane = dataplane;
        this.kernel = kernel;
        this.sampleEvery = sampleEvery;
        this.history = new TrafficHistory((int) Math.max(2, Duration.ofMinutes(10).toMillis() / sampleEvery.toMillis()));
        this.reconciler = new Reconciler(dataplane, config, new Observer());
        this.checker = HealthChecker.start(Exec.host(), probe, this::checked);
        this.metrics = new Metrics(this::snapshot, checker::skipped, this::ha);
        metrics.settings(config.daemon().endpointHistograms());
        this.syncLoop = new SyncLoop(reconciler, () -> reconciler.config().daemon(), new SyncListener());
        this.sampler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "nflb-sampler");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Brings the kernel to the config (adopting rules already there) on the caller's thread, then starts the
     * checks, the sync loop and the sampler. Throws when the kernel refuses: nothing was started then.
     */
    public Dataplane.Outcome start() {
        long t = System.nanoTime();
        Reconciler.Synced s = reconciler.sync();
        new SyncListener().synced(s, System.nanoTime() - t);
        events.add(Events.Level.INFO, "started with " + dataplane.name()
                + (s.outcome().changed() ? "" : "; the rules in the kernel were already right: adopted them"));
        checker.update(reconciler.probes());
        syncLoop.start();
        sampler.schedule(this::sampleAndReschedule, 0, TimeUnit.MILLISECONDS);
        return s.outcome();
    }

    /**
     * Applies {@code next} on the sync thread, all or nothing, and hands the checker its probes in the same step;
     * waits for the outcome. On a refusal the running config, checks and rules stay, and the exception says why.
     */
    public Dataplane.Outcome reload(Config next) {
        java.util.concurrent.CompletableFuture<Dataplane.Outcome> f = syncLoop.submit(() -> reconciler.reload(next, () -> {
            checker.update(Reconciler.probes(next));
            metrics.retain(Reconciler.probes(next));
            metrics.settings(next.daemon().endpointHistograms());
        }));
        try {
            Dataplane.Outcome o = f.get(RELOAD_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            long g = generation.incrementAndGet();
            metrics.reloaded(true);
            events.add(Events.Level.INFO, "reloaded (generation " + g + "): " + o.summary());
            syncLoop.request(); // results that arrived during the apply
            return o;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            reloadRefused(String.valueOf(cause.getMessage() == null ? cause : cause.getMessage()));
            if (cause instanceof RuntimeException re) throw re;
            throw new IllegalStateException("the reload failed: " + cause, cause);
        } catch (TimeoutException e) {
            reloadRefused("no outcome within " + RELOAD_WAIT.toSeconds() + " s");
            throw new IllegalStateException("the reload did not finish within " + RELOAD_WAIT.toSeconds() + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the reload");
        }
    }

    /** Counts and shows a reload refused (an invalid file, or the kernel's refusal). */
    public void reloadRefused(String why) {
        metrics.reloaded(false);
        events.add(Events.Level.ERROR, "reload refused: " + why + "; the running rules and checks stay as they were");
    }

    /**
     * Drains, disables or enables the backend of {@code service} at {@code address} ("ADDRESS[:PORT]", v6 in
     * brackets when a port follows), waits until the kernel has it, and says what happened.
     */
    public String admin(String service, String address, BackendState.Admin admin) {
        BackendKey key = resolve(reconciler.config(), service, address);
        BackendState.Status before = reconciler.status(key).orElseThrow();
        long version = reconciler.admin(key, admin);
        BackendState.Status after = reconciler.status(key).orElseThrow();
        String what = "backend " + key + ": " + (before == after ? "already " : before.keyword() + " -> ") + after.keyword();
        if (before != after) {
            log.info("{}", what);
            events.add(Events.Level.INFO, "backend " + key + " is " + after.keyword());
        }
        syncLoop.request();
        try {
            if (!syncLoop.awaitSynced(version, ADMIN_WAIT)) {
                return what + " (not in the kernel yet: " + lastSync().map(SyncResult::summary).orElse("no sync yet")
                        + "; the sync is retried)";
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return what;
    }

    /** The backend a "ADDRESS[:PORT]" names in {@code service}; without a port it must be the only one at that address. */
    static BackendKey resolve(Config config, String serviceName, String spec) {
        Service service = config.services().stream().filter(s -> s.name().equals(serviceName)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no service " + serviceName + "; there are: "
                        + names(config.services().stream().map(Service::name).toList())));
        HostPort wanted = HostPort.parse(spec);
        List<Backend> matches = service.backends().stream()
                .filter(b -> b.address().equals(wanted.address()) && (wanted.port().isEmpty() || b.port() == wanted.port().getAsInt()))
                .toList();
        if (matches.size() == 1) return Reconciler.key(service, matches.get(0));
        String all = String.join(", ", service.backends().stream().map(Backend::endpoint).toList());
        if (matches.isEmpty()) throw new IllegalArgumentException("service " + serviceName + " has no backend " + spec + "; it has: " + all);
        throw new IllegalArgumentException("service " + serviceName + " has several backends at " + spec + "; add the port: " + all);
    }

    /** A list for a message: all of a few, the first few of many. */
    static String names(List<String> names) {
        if (names.size() <= 10) return String.join(", ", names);
        return String.join(", ", names.subList(0, 10)) + " and " + (names.size() - 10) + " more";
    }

    /** Reads nflb's rules back from the kernel now, and repairs them if someone changed them. */
    public void verifySoon() {
        syncLoop.verifySoon();
    }

    /** What the daemon found about an `apply --confirm` waiting for confirmation: a message while it is wrong. */
    public void confirmTimer(Optional<String> problem) {
        String now = problem.orElse(null);
        String before = confirmProblem.getAndSet(now);
        metrics.confirmTimerDead(now != null);
        if (now != null && !now.equals(before)) {
            log.error("{}", now);
            events.add(Events.Level.ERROR, now);
        }
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
        return snapshot().backends();
    }

    public List<String> services() {
        return snapshot().services();
    }

    /** Services without a usable backend (in the kernel's rules, or at the next sync). */
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

    public Optional<CheckResult> lastCheck(Probe probe) {
        return Optional.ofNullable(checks.get(probe));
    }

    public Metrics metrics() {
        return metrics;
    }

    /** Threads the checker started checks on so far, for tests and the benchmark. */
    public long checksStarted() {
        return checker.started();
    }

    /**
     * Reading the counters of thousands of backends costs the kernel tool a good part of a second: the next sample
     * waits {@code sampleEvery}, or {@value #SAMPLE_COST_FACTOR} times as long as this one took, so sampling
     * never takes more than about 1% of the time.
     */
    private void sampleAndReschedule() {
        long start = System.nanoTime();
        sample();
        long took = (System.nanoTime() - start) / 1_000_000;
        try {
            // A cheap sample (a small config) never slows the pace: 50 ms in 5 s is already 1%.
            long next = took < CHEAP_SAMPLE_MILLIS ? sampleEvery.toMillis() : Math.max(sampleEvery.toMillis(), SAMPLE_COST_FACTOR * took);
            sampler.schedule(this::sampleAndReschedule, next, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing
        }
    }

    static final long SAMPLE_COST_FACTOR = 100;
    static final long CHEAP_SAMPLE_MILLIS = 50;

    /** Reads the kernel's counters now (the sampler does this on its own every {@code sampleEvery} or less often). */
    public void sample() {
        try {
            history.record(System.currentTimeMillis(), dataplane.traffic());
        } catch (RuntimeException e) {
            log.warn("could not read the kernel's counters: {}", e.getMessage());
        } catch (Throwable t) {
            metrics.error("sampler");
            log.error("reading the kernel's counters: {}", t.toString());
        }
    }

    /** The newest {@link Snapshot}, made again only when something it shows changed. */
    public Snapshot snapshot() {
        long v = reconciler.version();
        long g = generation.get();
        long n = history.recorded();
        Built b = built.get();
        if (b != null && b.version == v && b.generation == g && b.samples == n) {
            boolean pending = reconciler.pending();
            if (pending == b.snapshot.pending()) return b.snapshot;
        }
        synchronized (built) {
            Config c = reconciler.config();
            Map<BackendKey, BackendState.Status> statuses = reconciler.statuses();
            List<BackendView> out = new ArrayList<>(statuses.size());
            List<String> services = new ArrayList<>(c.services().size());
            for (Service s : c.services()) {
                services.add(s.name());
                for (Backend be : s.backends()) {
                    BackendKey key = Reconciler.key(s, be);
                    BackendState.Status status = statuses.get(key);
                    if (status == null) continue; // a reload is swapping the config under us
                    HealthCheck hc = s.healthOf(be);
                    out.add(new BackendView(key, be.weight(), status, hc.type(),
                            hc.type() == HealthCheck.Type.NONE ? Optional.empty() : Optional.of(Probe.of(be, hc))));
                }
            }
            Snapshot snap = new Snapshot(g, services, out, Set.copyOf(reconciler.rejecting()), traffic(), reconciler.pending());
            built.set(new Built(v, g, n, snap));
            return snap;
        }
    }

    @Override
    public void close() {
        checker.close();
        syncLoop.close();
        sampler.shutdownNow();
    }

    /** A probe's result: recorded, counted for every backend using it, and a sync asked for when one flipped. */
    private void checked(Probe probe, boolean ok, Duration took) {
        checks.put(probe, new CheckResult(Instant.now(), ok, took));
        metrics.check(probe, took, ok);
        List<Reconciler.Flip> flips = reconciler.report(probe, ok);
        if (flips.isEmpty()) return;
        syncLoop.request();
        Map<BackendState.Status, List<BackendKey>> byStatus = new LinkedHashMap<>();
        for (Reconciler.Flip f : flips) byStatus.computeIfAbsent(f.status(), k -> new ArrayList<>()).add(f.key());
        byStatus.forEach((status, keys) -> {
            String what = keys.size() == 1 ? "backend " + keys.get(0) + " is " + status.keyword()
                    : "backend " + probe.endpoint() + " is " + status.keyword() + " in " + keys.size() + " services ("
                    + names(keys.stream().map(BackendKey::service).toList()) + ")";
            String why = ok ? "" : " (" + probe.check().type().keyword() + " check failing)";
            log.info("{}{}", what, why);
            events.add(status == BackendState.Status.DOWN ? Events.Level.WARN : Events.Level.INFO, what);
        });
    }

    private final class SyncListener implements SyncLoop.Listener {
        @Override
        public void synced(Reconciler.Synced s, long nanos) {
            metrics.synced(nanos);
            lastSync.set(new SyncResult(Instant.now(), true, Duration.ofNanos(nanos), s.outcome().summary()));
            if (s.outcome().changed()) {
                log.info("kernel reprogrammed: {}", s.outcome().summary());
                events.add(Events.Level.INFO, "kernel reprogrammed: " + s.outcome().summary());
            }
            rejectingNow(s.rejecting());
        }

        @Override
        public void syncFailed(Throwable e, long nanos, Duration retryIn) {
            metrics.syncFailed(nanos);
            if (!(e instanceof RuntimeException)) metrics.error("sync");
            String why = e instanceof RuntimeException ? String.valueOf(e.getMessage()) : e.toString();
            lastSync.set(new SyncResult(Instant.now(), false, Duration.ofNanos(nanos), why));
            log.error("the kernel refused a sync (retrying in {} ms): {}", retryIn.toMillis(), why);
            events.add(Events.Level.ERROR, "the kernel refused a sync (retrying in " + retryIn.toMillis() + " ms): " + why);
        }

        @Override
        public void verified(Reconciler.Synced s, long nanos) {
            if (!s.outcome().changed()) return;
            metrics.repaired();
            metrics.synced(nanos);
            lastSync.set(new SyncResult(Instant.now(), true, Duration.ofNanos(nanos), s.outcome().summary()));
            log.warn("nflb's rules in the kernel had been changed by someone else; repaired: {}", s.outcome().summary());
            events.add(Events.Level.WARN, "repaired nflb's rules, which someone else had changed: " + s.outcome().summary());
            rejectingNow(s.rejecting());
        }

        @Override
        public void failed(String what, Throwable e) {
            metrics.error(what);
            log.error("the daemon's {} failed; it goes on: {}", what, e.toString());
            events.add(Events.Level.ERROR, "the " + what + " failed unexpectedly (the daemon goes on): " + e);
        }
    }

    /** Says which services started or stopped refusing new connections. */
    private void rejectingNow(List<String> now) {
        Set<String> next = Set.copyOf(now);
        Set<String> before = rejectingInKernel.getAndSet(next);
        List<String> started = now.stream().filter(s -> !before.contains(s)).toList();
        List<String> ended = before.stream().filter(s -> !next.contains(s)).sorted().toList();
        if (!started.isEmpty()) {
            String m = (started.size() == 1 ? "service " + started.get(0) + " has" : started.size() + " services have")
                    + " no usable backend: new connections are refused at once"
                    + (started.size() == 1 ? "" : " (" + names(started) + ")");
            log.warn("{}", m);
            events.add(Events.Level.WARN, m);
        }
        if (!ended.isEmpty()) {
            events.add(Events.Level.INFO, (ended.size() == 1 ? "service " + ended.get(0) + " has" : ended.size() + " services have")
                    + " a usable backend again" + (ended.size() == 1 ? "" : " (" + names(ended) + ")"));
        }
    }

    private final class Observer implements Reconciler.Observer {
        @Override
        public void udpBackendLeft(Service service, Backend backend) {
            try {
                int n = Conntrack.forgetUdp(kernel, service.listen().port(), backend.address(), backend.port());
                metrics.udpFlowsDeleted(service.name(), n);
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
