package io.nflb.daemon;

import io.nflb.dataplane.Dataplane;
import io.nflb.model.Backend;
import io.nflb.model.Config;
import io.nflb.model.HealthCheck;
import io.nflb.model.Service;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import io.nflb.plan.ServicePlan;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Keeps the kernel equal to the config minus the backends that may not take new connections. Every change
 * (a check result that flips a backend, an operator's drain, a reload) rebuilds the whole effective plan and
 * hands it to the {@link Dataplane}, which diffs it against the kernel and rewrites only the chains that
 * differ: a flip in one service touches that service's chains and nothing else.
 */
public final class Reconciler {

    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);

    /**
     * What the daemon around the reconciler wants to hear: sync timings for metrics, flips for the status
     * page, and UDP backends that stopped taking new flows, whose conntrack entries must go (a UDP "flow"
     * never ends by itself, so without that its packets keep going to the backend that left).
     */
    public interface Observer {
        default void synced(long nanos, Dataplane.Outcome outcome) {
        }

        default void syncFailed(long nanos, RuntimeException e) {
        }

        default void statusChanged(BackendKey key, BackendState.Status status) {
        }

        default void udpBackendLeft(Service service, Backend backend) {
        }
    }

    private final Dataplane dataplane;
    private final Observer observer;
    private Config config;
    /** What the kernel has, as far as this reconciler knows: null before the first successful apply. */
    private Plan applied;
    private Map<BackendKey, BackendState> states;
    /** Set when an apply failed: the next event tries again, so a transient refusal does not stick. */
    private boolean pending;

    /**
     * Every backend starts up: a restarted daemon adopts the rules in the kernel as they are, and the
     * checks take backends out after {@code fall} failures, not before.
     */
    public Reconciler(Dataplane dataplane, Config config) {
        this(dataplane, config, new Observer() { });
    }

    public Reconciler(Dataplane dataplane, Config config, Observer observer) {
        this.dataplane = dataplane;
        this.observer = observer;
        this.config = config;
        this.states = states(config, Map.of(), true);
    }

    /** Brings the kernel to the current effective plan; a no-op when it is there already (adoption). */
    public synchronized Dataplane.Outcome start() {
        return applyNow();
    }

    /** One check result; reprograms the kernel when it flipped the backend. Unknown keys (reloaded away) are ignored. */
    public synchronized boolean report(BackendKey key, boolean ok) {
        BackendState s = states.get(key);
        if (s == null) return false;
        boolean usableBefore = s.usable();
        boolean flipped = s.record(ok);
        if (flipped) {
            log.info("backend {} is {} ({} checks in a row {})", key, s.healthy() ? "up" : "down",
                    s.healthy() ? "passing" : "failing", s.healthy() ? "rise" : "fall");
            observer.statusChanged(key, s.status());
        }
        if (s.usable() != usableBefore || pending) applyLogged();
        return flipped;
    }

    /** Drain or disable a backend, or hand it back to its checks. */
    public synchronized void admin(BackendKey key, BackendState.Admin admin) {
        BackendState s = states.get(key);
        if (s == null) throw new IllegalArgumentException("no backend " + key);
        BackendState.Status before = s.status();
        boolean usableChanged = s.admin(admin);
        if (s.status() != before) {
            log.info("backend {} is now {}", key, s.status().keyword());
            observer.statusChanged(key, s.status());
        }
        if (usableChanged || pending) applyLogged();
    }

    /**
     * Applies {@code next} as a diff. Backends kept keep their verdict and operator setting (their rise and
     * fall counters restart); new checked backends start down until they pass {@code rise} checks. When
     * the kernel refuses, the previous config and states stay, and the exception says why.
     */
    public synchronized Dataplane.Outcome reload(Config next) {
        if (next.backend() != config.backend()) {
            throw new IllegalArgumentException("backend changed from " + config.backend().keyword() + " to "
                    + next.backend().keyword() + "; that needs a restart");
        }
        Config oldConfig = config;
        Map<BackendKey, BackendState> oldStates = states;
        config = next;
        states = states(next, oldStates, false);
        try {
            return applyNow();
        } catch (RuntimeException e) {
            config = oldConfig;
            states = oldStates;
            throw e;
        }
    }

    private record PlanKey(Service service, List<Backend> usable) {
    }

    /** Last plan() per service and its usable backends. */
    private Map<PlanKey, ServicePlan> lastPlans = Map.of();

    /** The plan the kernel should have now: each service with only its usable backends. */
    public synchronized Plan plan() {
        List<ServicePlan> services = new ArrayList<>();
        Map<PlanKey, ServicePlan> next = new java.util.HashMap<>();
        for (Service service : config.services()) {
            List<Backend> usable = service.backends().stream()
                    .filter(b -> states.get(key(service, b)).usable()).toList();
            // The same service with the same usable backends gets the same plan object: no maglev table is
            // computed again, and the nft renderer knows it unchanged by identity.
            PlanKey key = new PlanKey(service, usable);
            ServicePlan sp = lastPlans.get(key);
            if (sp == null) sp = usable.isEmpty() ? ServicePlan.rejecting(service) : Planner.plan(service.withBackends(usable));
            next.put(key, sp);
            services.add(sp);
        }
        lastPlans = next;
        return Planner.assemble(config, services);
    }

    /** What each checked backend needs: the checker's work list after a start or reload. */
    public synchronized List<HealthChecker.Target> targets() {
        List<HealthChecker.Target> out = new ArrayList<>();
        for (Service service : config.services()) {
            for (Backend b : service.backends()) {
                HealthCheck check = service.healthOf(b);
                if (check.type() != HealthCheck.Type.NONE) out.add(new HealthChecker.Target(key(service, b), service.name(), b, check));
            }
        }
        return out;
    }

    public synchronized Config config() {
        return config;
    }

    public synchronized Optional<BackendState.Status> status(BackendKey key) {
        return Optional.ofNullable(states.get(key)).map(BackendState::status);
    }

    /** Every backend's status, in config order. */
    public synchronized Map<BackendKey, BackendState.Status> statuses() {
        Map<BackendKey, BackendState.Status> out = new LinkedHashMap<>();
        states.forEach((k, s) -> out.put(k, s.status()));
        return out;
    }

    /** Services that refuse new connections now because none of their backends is usable. */
    public synchronized List<String> rejecting() {
        // The same rule plan() follows (no usable backend: a rejecting plan), without planning every service.
        return config.services().stream()
                .filter(s -> s.backends().stream().noneMatch(b -> states.get(key(s, b)).usable()))
                .map(Service::name).toList();
    }

    private void applyLogged() {
        try {
            Dataplane.Outcome o = applyNow();
            if (o.changed()) log.info("kernel reprogrammed: {}", o.summary());
        } catch (RuntimeException e) {
            log.error("could not reprogram the kernel (will retry on the next check): {}", e.getMessage());
        }
    }

    private Dataplane.Outcome applyNow() {
        pending = true;
        Plan plan = plan();
        long start = System.nanoTime();
        Dataplane.Outcome o;
        try {
            o = dataplane.apply(plan);
        } catch (RuntimeException e) {
            observer.syncFailed(System.nanoTime() - start, e);
            throw e;
        }
        observer.synced(System.nanoTime() - start, o);
        pending = false;
        Plan before = applied;
        applied = plan;
        if (before != null) udpBackendsLeft(before, plan).forEach(l -> observer.udpBackendLeft(l.service(), l.backend()));
        for (ServicePlan s : plan.services()) {
            if (s.rejects() && o.changed()) {
                log.warn("service {} has no usable backend: new connections are refused at once ({})", s.name(),
                        s.service().protocol() == io.nflb.model.Protocol.TCP ? "tcp reset" : "icmp port unreachable");
            }
        }
        return o;
    }

    /** A UDP backend that was in the kernel's rules before this apply and is not now. */
    record Left(Service service, Backend backend) {
    }

    /** The UDP backends of {@code before} that {@code after} no longer sends new flows to. */
    static List<Left> udpBackendsLeft(Plan before, Plan after) {
        Map<String, ServicePlan> now = new LinkedHashMap<>();
        after.services().forEach(s -> now.put(s.name(), s));
        List<Left> out = new ArrayList<>();
        for (ServicePlan old : before.services()) {
            if (old.service().protocol() != io.nflb.model.Protocol.UDP) continue;
            ServicePlan next = now.get(old.name());
            for (var b : old.backends()) {
                boolean stays = next != null && next.service().protocol() == io.nflb.model.Protocol.UDP
                        && next.service().listen().equals(old.service().listen())
                        && next.backends().stream().anyMatch(n -> n.backend().endpoint().equals(b.backend().endpoint()));
                if (!stays) out.add(new Left(old.service(), b.backend()));
            }
        }
        return out;
    }

    /** Unchecked backends are always healthy; a reload keeps each backend's verdict and operator setting. */
    private static Map<BackendKey, BackendState> states(Config config, Map<BackendKey, BackendState> previous, boolean adopting) {
        Map<BackendKey, BackendState> out = new LinkedHashMap<>();
        for (Service service : config.services()) {
            for (Backend b : service.backends()) {
                BackendKey key = key(service, b);
                HealthCheck check = service.healthOf(b);
                boolean unchecked = check.type() == HealthCheck.Type.NONE;
                BackendState old = previous.get(key);
                BackendState s = new BackendState(check.rise(), check.fall(),
                        unchecked || (old == null ? adopting : old.healthy()));
                if (old != null) s.admin(old.admin());
                out.put(key, s);
            }
        }
        return out;
    }

    static BackendKey key(Service service, Backend backend) {
        return new BackendKey(service.name(), backend.endpoint());
    }
}
