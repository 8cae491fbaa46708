package io.nflb.daemon;

import io.nflb.dataplane.Dataplane;
import io.nflb.model.Backend;
import io.nflb.model.Config;
import io.nflb.model.HealthCheck;
import io.nflb.model.Service;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import io.nflb.plan.ServicePlan;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What the kernel should hold: the config minus the backends that may not take new connections. Check results
 * and operators' settings only change the recorded state and mark it unsynced ({@link #report}, {@link #admin}:
 * cheap, never touching the kernel); {@link #sync} hands the whole effective plan to the {@link Dataplane}, which
 * diffs it and rewrites only what differs. The daemon calls sync, verify and reload from its one sync thread; the
 * kernel methods hold their own lock, so tests may call them directly.
 */
public final class Reconciler {

    /**
     * What the daemon around the reconciler wants to hear about what reached the kernel: UDP backends that
     * stopped taking new flows, whose conntrack entries must go (a UDP "flow" never ends by itself).
     */
    public interface Observer {
        default void udpBackendLeft(Service service, Backend backend) {
        }
    }

    /** A backend whose status a result or an operator changed. */
    public record Flip(BackendKey key, BackendState.Status status) {
    }

    /** The outcome of a sync: what the dataplane said, and the services that now refuse new connections. */
    public record Synced(Dataplane.Outcome outcome, List<String> rejecting, long version) {
    }

    private final Dataplane dataplane;
    private final Observer observer;
    private final Object kernel = new Object();

    // Guarded by this.
    private Config config;
    private Map<BackendKey, BackendState> states;
    private Map<Probe, List<BackendKey>> users;
    /** Grows with every change that may change the plan; the kernel is in step when applied == version. */
    private long version = 1;
    private long appliedVersion;
    private Map<PlanKey, ServicePlan> lastPlans = Map.of();

    /** Guarded by kernel: what the kernel has, as far as this reconciler knows; null before the first sync. */
    private Plan applied;

    /**
     * Every backend starts up: a restarted daemon adopts the rules in the kernel as they are, and the checks
     * take backends out after {@code fall} failures, not before.
     */
    public Reconciler(Dataplane dataplane, Config config) {
        this(dataplane, config, new Observer() { });
    }

    public Reconciler(Dataplane dataplane, Config config, Observer observer) {
        this.dataplane = dataplane;
        this.observer = observer;
        this.config = config;
        this.states = states(config, Map.of(), true);
        this.users = users(config);
    }

    /** One result of a probe, counted for every backend that uses it; returns the backends it flipped. */
    public synchronized List<Flip> report(Probe probe, boolean ok) {
        List<BackendKey> keys = users.get(probe);
        if (keys == null) return List.of(); // reloaded away
        List<Flip> flips = new ArrayList<>(0);
        for (BackendKey key : keys) {
            BackendState s = states.get(key);
            boolean usable = s.usable();
            BackendState.Status before = s.status();
            s.record(ok);
            // A drained or disabled backend's checks still count, but its status (what the operator set) stays.
            if (s.status() != before) flips.add(new Flip(key, s.status()));
            if (s.usable() != usable) version++;
        }
        return flips;
    }

    /** One result for one backend (its probe's result reaches every user of the probe through {@link #report(Probe, boolean)}). */
    public synchronized boolean report(BackendKey key, boolean ok) {
        BackendState s = states.get(key);
        if (s == null) return false;
        boolean usable = s.usable();
        boolean flipped = s.record(ok);
        if (s.usable() != usable) version++;
        return flipped;
    }

    /** Drains or disables a backend, or hands it back to its checks; returns the version that includes it. */
    public synchronized long admin(BackendKey key, BackendState.Admin admin) {
        BackendState s = states.get(key);
        if (s == null) throw new IllegalArgumentException("no backend " + key);
        if (s.admin(admin)) version++;
        return version;
    }

    /** Whether a change waits for the kernel. */
    public synchronized boolean pending() {
        return appliedVersion != version;
    }

    /** The state's version: a sync that returns at least this has applied it. */
    public synchronized long version() {
        return version;
    }

    public synchronized long appliedVersion() {
        return appliedVersion;
    }

    /** Brings the kernel to the current effective plan; a no-op when it is there already (adoption). */
    public Synced sync() {
        return toKernel(dataplane::apply);
    }

    /** Reads nflb's rules back and repairs them (someone else flushed or edited them); changed: a repair. */
    public Synced verify() {
        return toKernel(dataplane::verify);
    }

    private Synced toKernel(java.util.function.Function<Plan, Dataplane.Outcome> how) {
        synchronized (kernel) {
            long v;
            Plan plan;
            synchronized (this) {
                v = version;
                plan = plan();
            }
            Dataplane.Outcome o = how.apply(plan);
            applied(plan, v);
            return new Synced(o, rejectingIn(plan), v);
        }
    }

    /**
     * Applies {@code next}, all or nothing: its states and plan are built first, then the kernel gets them, and
     * only once the kernel took them are config and states committed (then {@code commit} runs, still before
     * anything else can sync: the daemon hands the checker its new probes there). Backends kept keep their
     * verdict and operator setting; new checked backends start down until they pass {@code rise} checks. When
     * anything fails, the running config, states and rules stay, and the exception says why.
     */
    public Dataplane.Outcome reload(Config next, Runnable commit) {
        synchronized (kernel) {
            Map<BackendKey, BackendState> carried;
            Map<PlanKey, ServicePlan> known;
            synchronized (this) {
                if (next.backend() != config.backend()) {
                    throw new IllegalArgumentException("backend changed from " + config.backend().keyword() + " to "
                            + next.backend().keyword() + "; that needs a restart");
                }
                carried = states(next, states, false); // copies: planning them needs no lock
                known = lastPlans;
            }
            Map<PlanKey, ServicePlan> made = new HashMap<>();
            Plan plan = plan(next, carried, known, made);
            Dataplane.Outcome o = dataplane.apply(plan);
            long v;
            synchronized (this) {
                // The states as they are now (results kept arriving during the apply), carried into the new config.
                config = next;
                states = states(next, states, false);
                users = users(next);
                version++;
                v = version;
                lastPlans = made;
            }
            commit.run();
            Plan before = applied;
            applied = plan;
            // The plan was built from the states before the apply; results since then are one sync away.
            synchronized (this) {
                if (plan.equals(plan())) appliedVersion = v;
            }
            if (before != null) udpBackendsLeft(before, plan).forEach(l -> observer.udpBackendLeft(l.service(), l.backend()));
            return o;
        }
    }

    /** Reloads without anything to commit alongside. */
    public Dataplane.Outcome reload(Config next) {
        return reload(next, () -> { });
    }

    private void applied(Plan plan, long v) {
        Plan before = applied;
        applied = plan;
        synchronized (this) {
            if (v > appliedVersion) appliedVersion = v;
        }
        if (before != null) udpBackendsLeft(before, plan).forEach(l -> observer.udpBackendLeft(l.service(), l.backend()));
    }

    private static List<String> rejectingIn(Plan plan) {
        List<String> out = new ArrayList<>();
        for (ServicePlan s : plan.services()) if (s.rejects()) out.add(s.name());
        return out;
    }

    private record PlanKey(Service service, List<Backend> usable) {
    }

    /** The plan the kernel should have now: each service with only its usable backends. */
    public synchronized Plan plan() {
        Map<PlanKey, ServicePlan> next = new HashMap<>();
        Plan p = plan(config, states, lastPlans, next);
        lastPlans = next;
        return p;
    }

    /** {@code known}: the plans made last time, reused for unchanged services; {@code made} gets this time's. */
    private static Plan plan(Config c, Map<BackendKey, BackendState> st, Map<PlanKey, ServicePlan> known, Map<PlanKey, ServicePlan> made) {
        List<ServicePlan> services = new ArrayList<>();
        for (Service service : c.services()) {
            List<Backend> usable = new ArrayList<>();
            for (Backend b : service.backends()) if (st.get(key(service, b)).usable()) usable.add(b);
            // The same service with the same usable backends gets the same plan object: no maglev table is
            // computed again, and the nft renderer knows it unchanged by identity.
            PlanKey key = new PlanKey(service, usable);
            ServicePlan sp = known.get(key);
            if (sp == null) sp = usable.isEmpty() ? ServicePlan.rejecting(service) : Planner.plan(service.withBackends(usable));
            made.put(key, sp);
            services.add(sp);
        }
        return Planner.assemble(c, services);
    }

    /** Every distinct probe of the config: the checker's work list. */
    public synchronized Set<Probe> probes() {
        return new LinkedHashSet<>(users.keySet());
    }

    /** The probes {@code c} needs, without committing anything: what a reload hands the checker. */
    public static Set<Probe> probes(Config c) {
        return new LinkedHashSet<>(users(c).keySet());
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

    /** Services that refuse new connections (or will at the next sync) because none of their backends is usable. */
    public synchronized List<String> rejecting() {
        List<String> out = new ArrayList<>();
        for (Service s : config.services()) {
            boolean any = false;
            for (Backend b : s.backends()) {
                if (states.get(key(s, b)).usable()) {
                    any = true;
                    break;
                }
            }
            if (!any) out.add(s.name());
        }
        return out;
    }

    /** A UDP backend that was in the kernel's rules before this apply and is not now. */
    record Left(Service service, Backend backend) {
    }

    /** The UDP backends of {@code before} that {@code after} no longer sends new flows to. */
    static List<Left> udpBackendsLeft(Plan before, Plan after) {
        if (before == after) return List.of();
        Map<String, ServicePlan> now = new LinkedHashMap<>();
        after.services().forEach(s -> now.put(s.name(), s));
        List<Left> out = new ArrayList<>();
        for (ServicePlan old : before.services()) {
            if (old.service().protocol() != io.nflb.model.Protocol.UDP) continue;
            ServicePlan next = now.get(old.name());
            if (next == old) continue;
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

    /** Which backends each probe's result counts for. */
    private static Map<Probe, List<BackendKey>> users(Config config) {
        Map<Probe, List<BackendKey>> out = new LinkedHashMap<>();
        for (Service service : config.services()) {
            for (Backend b : service.backends()) {
                HealthCheck check = service.healthOf(b);
                if (check.type() == HealthCheck.Type.NONE) continue;
                out.computeIfAbsent(Probe.of(b, check), p -> new ArrayList<>()).add(key(service, b));
            }
        }
        return out;
    }

    /** The probe whose results count for {@code key}, if it is checked. */
    public synchronized Optional<Probe> probeOf(BackendKey key) {
        for (Service s : config.services()) {
            if (!s.name().equals(key.service())) continue;
            for (Backend b : s.backends()) {
                if (b.endpoint().equals(key.endpoint())) {
                    HealthCheck c = s.healthOf(b);
                    return c.type() == HealthCheck.Type.NONE ? Optional.empty() : Optional.of(Probe.of(b, c));
                }
            }
        }
        return Optional.empty();
    }

    static BackendKey key(Service service, Backend backend) {
        return new BackendKey(service.name(), backend.endpoint());
    }
}
