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
import java.util.Arrays;
import java.util.BitSet;
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
    private Model model;
    /** Grows with every change that may change the plan; the kernel is in step when applied == version. */
    private long version = 1;
    private long appliedVersion;

    /** Guarded by kernel: what the kernel has, as far as this reconciler knows; null before the first sync. */
    private Plan applied;

    /**
     * One config's state, by position: service i of the config, backend j of that service. The hot paths (a
     * result counted, a sync planned) touch arrays and re-plan only the services whose usable backends changed;
     * names are looked up only for what operators and the status page ask.
     */
    private static final class Model {
        final List<Service> services;
        final BackendState[][] states;
        /** The positions (service << 32 | backend) each probe's results count for. */
        final Map<Probe, long[]> users;
        final Map<String, Integer> byName;
        /** Each service's plan as last planned; unchanged services keep theirs, the same object, from plan to plan. */
        final ServicePlan[] plans;
        /** Services whose usable backends changed since they were last planned. */
        final BitSet dirty;
        /** Services planned anew since the kernel last took a plan: the only ones whose UDP flows may be stale. */
        final BitSet changedSinceApplied;
        /** Everything of the plan but its services (firewall, probed backends, ha traffic): made once per config. */
        final Plan shape;

        Model(Config config, BackendState[][] states) {
            this.services = config.services();
            this.states = states;
            int n = services.size();
            this.byName = new HashMap<>(n * 2);
            this.users = new LinkedHashMap<>();
            Map<Probe, List<Long>> lists = new LinkedHashMap<>();
            for (int i = 0; i < n; i++) {
                Service s = services.get(i);
                byName.putIfAbsent(s.name(), i);
                for (int j = 0; j < s.backends().size(); j++) {
                    Backend b = s.backends().get(j);
                    HealthCheck check = s.healthOf(b);
                    if (check.type() == HealthCheck.Type.NONE) continue;
                    lists.computeIfAbsent(Probe.of(b, check), p -> new ArrayList<>(1)).add((long) i << 32 | j);
                }
            }
            lists.forEach((p, l) -> users.put(p, l.stream().mapToLong(Long::longValue).toArray()));
            this.plans = new ServicePlan[n];
            this.dirty = new BitSet(n);
            dirty.set(0, n);
            this.changedSinceApplied = new BitSet(n);
            this.shape = Planner.assemble(config, List.of());
        }

        BackendKey key(int i, int j) {
            return Reconciler.key(services.get(i), services.get(i).backends().get(j));
        }

        /** The position of {@code key} (service << 32 | backend), or -1. */
        long position(BackendKey key) {
            Integer i = byName.get(key.service());
            if (i == null) return -1;
            List<Backend> backends = services.get(i).backends();
            for (int j = 0; j < backends.size(); j++) {
                if (backends.get(j).endpoint().equals(key.endpoint())) return (long) i << 32 | j;
            }
            return -1;
        }

        BackendState state(long position) {
            return states[(int) (position >>> 32)][(int) position];
        }

        /** Plans the services marked dirty, reusing {@code known} plans (a reload's) where service and usable backends match. */
        Plan plan(Map<PlanKey, ServicePlan> known) {
            for (int i = dirty.nextSetBit(0); i >= 0; i = dirty.nextSetBit(i + 1)) {
                Service service = services.get(i);
                List<Backend> usable = new ArrayList<>(service.backends().size());
                BackendState[] st = states[i];
                for (int j = 0; j < st.length; j++) if (st[j].usable()) usable.add(service.backends().get(j));
                ServicePlan before = plans[i];
                ServicePlan sp = known.isEmpty() ? null : known.get(new PlanKey(service, usable));
                // Back to the backends it was planned with (a flap between two syncs): the same plan object.
                if (sp == null && before != null && sameBackends(before, usable)) sp = before;
                if (sp == null) {
                    sp = usable.isEmpty() ? ServicePlan.rejecting(service)
                            : Planner.plan(usable.size() == service.backends().size() ? service : service.withBackends(usable));
                }
                if (sp != before) changedSinceApplied.set(i);
                plans[i] = sp;
            }
            dirty.clear();
            return shape.withServices(Arrays.asList(plans));
        }
    }

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
        this.model = model(config, null, true);
    }

    /** One result of a probe, counted for every backend that uses it; returns the backends it flipped. */
    public synchronized List<Flip> report(Probe probe, boolean ok) {
        long[] positions = model.users.get(probe);
        if (positions == null) return List.of(); // reloaded away
        List<Flip> flips = new ArrayList<>(0);
        for (long p : positions) {
            BackendState s = model.state(p);
            boolean usable = s.usable();
            BackendState.Status before = s.status();
            s.record(ok);
            // A drained or disabled backend's checks still count, but its status (what the operator set) stays.
            if (s.status() != before) flips.add(new Flip(model.key((int) (p >>> 32), (int) p), s.status()));
            if (s.usable() != usable) changed(p);
        }
        return flips;
    }

    /** One result for one backend (its probe's result reaches every user of the probe through {@link #report(Probe, boolean)}). */
    public synchronized boolean report(BackendKey key, boolean ok) {
        long p = model.position(key);
        if (p < 0) return false;
        BackendState s = model.state(p);
        boolean usable = s.usable();
        boolean flipped = s.record(ok);
        if (s.usable() != usable) changed(p);
        return flipped;
    }

    /** Drains or disables a backend, or hands it back to its checks; returns the version that includes it. */
    public synchronized long admin(BackendKey key, BackendState.Admin admin) {
        long p = model.position(key);
        if (p < 0) throw new IllegalArgumentException("no backend " + key);
        if (model.state(p).admin(admin)) changed(p);
        return version;
    }

    /** The backend at {@code position} changed whether it is usable: its service is planned again at the next sync. */
    private void changed(long position) {
        model.dirty.set((int) (position >>> 32));
        version++;
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
        return toKernel(p -> Optional.of(dataplane.apply(p))).orElseThrow();
    }

    /** Reads nflb's rules back and repairs them (someone else flushed or edited them); changed: a repair. */
    public Synced verify() {
        return toKernel(p -> Optional.of(dataplane.verify(p))).orElseThrow();
    }

    /**
     * The read half of {@link #verify()}, which holds no lock a sync needs (any thread may call it while syncs go
     * on); empty when the dataplane cannot split its verify.
     */
    public Optional<Dataplane.ReadBack> readBack() {
        return dataplane.readBack();
    }

    /** {@link #verify()} with what {@link #readBack()} read; empty when a sync since made the read stale. */
    public Optional<Synced> verify(Dataplane.ReadBack read) {
        return toKernel(p -> dataplane.verify(p, read));
    }

    private Optional<Synced> toKernel(java.util.function.Function<Plan, Optional<Dataplane.Outcome>> how) {
        synchronized (kernel) {
            long v;
            Plan plan;
            BitSet changed;
            synchronized (this) {
                v = version;
                plan = plan();
                changed = (BitSet) model.changedSinceApplied.clone();
            }
            Optional<Dataplane.Outcome> o = how.apply(plan);
            if (o.isEmpty()) return Optional.empty();
            applied(plan, v, changed);
            return Optional.of(new Synced(o.get(), rejectingIn(plan), v));
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
            Model carried;
            Map<PlanKey, ServicePlan> known;
            synchronized (this) {
                if (next.backend() != config.backend()) {
                    throw new IllegalArgumentException("backend changed from " + config.backend().keyword() + " to "
                            + next.backend().keyword() + "; that needs a restart");
                }
                carried = model(next, model, false); // copies: planning them needs no lock
                known = knownPlans(model);
            }
            Plan plan = carried.plan(known);
            Dataplane.Outcome o = dataplane.apply(plan);
            long v;
            synchronized (this) {
                // The states as they are now (results kept arriving during the apply), carried into the new config.
                Model now = model(next, model, false);
                // The plans just applied stand for the new model's services while their usable backends are the same.
                now.plan(knownPlans(carried));
                now.changedSinceApplied.clear();
                for (int i = 0; i < now.plans.length; i++) if (now.plans[i] != plan.services().get(i)) now.changedSinceApplied.set(i);
                config = next;
                model = now;
                version++;
                v = version;
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

    /**
     * The kernel took {@code plan} (version {@code v}); {@code changed}: the services planned anew since the plan
     * it took before, the only ones whose UDP backends may have left.
     */
    private void applied(Plan plan, long v, BitSet changed) {
        Plan before = applied;
        applied = plan;
        synchronized (this) {
            if (v > appliedVersion) appliedVersion = v;
            model.changedSinceApplied.andNot(changed);
        }
        if (before == null || before == plan) return;
        List<ServicePlan> old = before.services();
        List<ServicePlan> now = plan.services();
        if (old.size() != now.size()) {
            udpBackendsLeft(before, plan).forEach(l -> observer.udpBackendLeft(l.service(), l.backend()));
            return;
        }
        for (int i = changed.nextSetBit(0); i >= 0; i = changed.nextSetBit(i + 1)) {
            if (old.get(i) == now.get(i)) continue;
            for (Left l : udpBackendsLeft(old.get(i), now.get(i))) observer.udpBackendLeft(l.service(), l.backend());
        }
    }

    private static List<String> rejectingIn(Plan plan) {
        List<String> out = new ArrayList<>();
        for (ServicePlan s : plan.services()) if (s.rejects()) out.add(s.name());
        return out;
    }

    private record PlanKey(Service service, List<Backend> usable) {
    }

    /** The plans of {@code m} by service and usable backends, for a reload to keep those of unchanged services. */
    private static Map<PlanKey, ServicePlan> knownPlans(Model m) {
        Map<PlanKey, ServicePlan> out = new HashMap<>(m.services.size() * 2);
        for (int i = 0; i < m.plans.length; i++) {
            ServicePlan sp = m.plans[i];
            if (sp != null) out.put(new PlanKey(m.services.get(i), usable(m, i)), sp);
        }
        return out;
    }

    private static List<Backend> usable(Model m, int i) {
        List<Backend> out = new ArrayList<>();
        for (int j = 0; j < m.states[i].length; j++) if (m.states[i][j].usable()) out.add(m.services.get(i).backends().get(j));
        return out;
    }

    private static boolean sameBackends(ServicePlan sp, List<Backend> usable) {
        if (sp.rejects()) return usable.isEmpty();
        if (sp.backends().size() != usable.size()) return false;
        for (int j = 0; j < usable.size(); j++) if (sp.backends().get(j).backend() != usable.get(j)) return false;
        return true;
    }

    /** The plan the kernel should have now: each service with only its usable backends. */
    public synchronized Plan plan() {
        return model.plan(Map.of());
    }

    /** Every distinct probe of the config: the checker's work list. */
    public synchronized Set<Probe> probes() {
        return new LinkedHashSet<>(model.users.keySet());
    }

    /** The probes {@code c} needs, without committing anything: what a reload hands the checker. */
    public static Set<Probe> probes(Config c) {
        Set<Probe> out = new LinkedHashSet<>();
        for (Service s : c.services()) {
            for (Backend b : s.backends()) {
                HealthCheck check = s.healthOf(b);
                if (check.type() != HealthCheck.Type.NONE) out.add(Probe.of(b, check));
            }
        }
        return out;
    }

    public synchronized Config config() {
        return config;
    }

    public synchronized Optional<BackendState.Status> status(BackendKey key) {
        long p = model.position(key);
        return p < 0 ? Optional.empty() : Optional.of(model.state(p).status());
    }

    /** Every backend's status, in config order. */
    public synchronized Map<BackendKey, BackendState.Status> statuses() {
        Map<BackendKey, BackendState.Status> out = new LinkedHashMap<>();
        for (int i = 0; i < model.states.length; i++) {
            for (int j = 0; j < model.states[i].length; j++) out.put(model.key(i, j), model.states[i][j].status());
        }
        return out;
    }

    /** Services that refuse new connections (or will at the next sync) because none of their backends is usable. */
    public synchronized List<String> rejecting() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < model.states.length; i++) {
            boolean any = false;
            for (BackendState st : model.states[i]) {
                if (st.usable()) {
                    any = true;
                    break;
                }
            }
            if (!any) out.add(model.services.get(i).name());
        }
        return out;
    }

    /** A UDP backend that was in the kernel's rules before this apply and is not now. */
    record Left(Service service, Backend backend) {
    }

    /** The UDP backends of {@code before} that {@code after} no longer sends new flows to. */
    static List<Left> udpBackendsLeft(Plan before, Plan after) {
        if (before == after) return List.of();
        Map<String, ServicePlan> now = new HashMap<>();
        after.services().forEach(s -> now.put(s.name(), s));
        List<Left> out = new ArrayList<>();
        for (ServicePlan old : before.services()) out.addAll(udpBackendsLeft(old, now.get(old.name())));
        return out;
    }

    /** The UDP backends of service plan {@code old} that {@code next} (null: the service is gone) no longer sends new flows to. */
    private static List<Left> udpBackendsLeft(ServicePlan old, ServicePlan next) {
        if (old.service().protocol() != io.nflb.model.Protocol.UDP || next == old) return List.of();
        List<Left> out = new ArrayList<>();
        for (var b : old.backends()) {
            boolean stays = next != null && next.service().protocol() == io.nflb.model.Protocol.UDP
                    && next.service().listen().equals(old.service().listen())
                    && next.backends().stream().anyMatch(n -> n.backend().endpoint().equals(b.backend().endpoint()));
            if (!stays) out.add(new Left(old.service(), b.backend()));
        }
        return out;
    }

    /**
     * The model of {@code config}: unchecked backends are always healthy; backends kept from {@code previous} (a
     * reload) keep their verdict and operator setting; others start up when adopting (the daemon's start), else down.
     */
    private static Model model(Config config, Model previous, boolean adopting) {
        List<Service> services = config.services();
        BackendState[][] states = new BackendState[services.size()][];
        for (int i = 0; i < services.size(); i++) {
            Service service = services.get(i);
            states[i] = new BackendState[service.backends().size()];
            Integer was = previous == null ? null : previous.byName.get(service.name());
            List<Backend> before = was == null ? List.of() : previous.services.get(was).backends();
            for (int j = 0; j < states[i].length; j++) {
                Backend b = service.backends().get(j);
                HealthCheck check = service.healthOf(b);
                boolean unchecked = check.type() == HealthCheck.Type.NONE;
                BackendState old = null;
                for (int k = 0; k < before.size() && old == null; k++) {
                    Backend o = before.get(k);
                    if (o.port() == b.port() && o.address().equals(b.address())) old = previous.states[was][k];
                }
                BackendState st = new BackendState(check.rise(), check.fall(), unchecked || (old == null ? adopting : old.healthy()));
                if (old != null) st.admin(old.admin());
                states[i][j] = st;
            }
        }
        return new Model(config, states);
    }

    /** The probe whose results count for {@code key}, if it is checked. */
    public synchronized Optional<Probe> probeOf(BackendKey key) {
        long p = model.position(key);
        if (p < 0) return Optional.empty();
        Service s = model.services.get((int) (p >>> 32));
        Backend b = s.backends().get((int) p);
        HealthCheck c = s.healthOf(b);
        return c.type() == HealthCheck.Type.NONE ? Optional.empty() : Optional.of(Probe.of(b, c));
    }

    static BackendKey key(Service service, Backend backend) {
        return new BackendKey(service.name(), backend.endpoint());
    }
}
