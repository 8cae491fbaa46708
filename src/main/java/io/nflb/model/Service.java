package io.nflb.model;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * One balanced service: what it listens on and the backends that share its new connections.
 * {@code affinity}: when present, a client address keeps its backend for that long after its last new
 * connection. {@code maglevTableSize}: the prime lookup-table size for the maglev scheduler, 0 = chosen by
 * the planner from the number of backends. {@code health}: how the daemon checks each backend, unless the
 * backend has its own ({@link #healthOf}). {@code limits}: per-client limits on new connections.
 */
public record Service(String name, Protocol protocol, Listen listen, Scheduler scheduler, Snat snat,
                      List<Backend> backends, Optional<Duration> affinity, int maglevTableSize, HealthCheck health,
                      Optional<Limits> limits) {

    /** Larger Maglev tables only cost memory: at 100 slots per backend this already serves 1,300 backends. */
    public static final int MAX_MAGLEV_TABLE_SIZE = 131071;
    /** Affinity is counted in whole seconds by both rule languages; a month is more than any session needs. */
    public static final Duration MAX_AFFINITY = Duration.ofDays(30);

    public Service {
        Names.requireService(name);
        if (protocol == null || listen == null || scheduler == null || snat == null) {
            throw new IllegalArgumentException("service " + name + " is incomplete");
        }
        backends = List.copyOf(backends);
        if (backends.isEmpty()) throw new IllegalArgumentException("service " + name + " has no backends");
        affinity = affinity == null ? Optional.empty() : affinity;
        affinity.filter(a -> a.toNanosPart() != 0 || a.getSeconds() < 1 || a.compareTo(MAX_AFFINITY) > 0).ifPresent(a -> {
            throw new IllegalArgumentException("affinity must be whole seconds, 1s.." + MAX_AFFINITY.toDays() + "d: " + a);
        });
        if (maglevTableSize != 0 && (!isPrime(maglevTableSize) || maglevTableSize > MAX_MAGLEV_TABLE_SIZE)) {
            throw new IllegalArgumentException("maglev table size must be a prime up to " + MAX_MAGLEV_TABLE_SIZE + ": " + maglevTableSize);
        }
        if (health == null) health = HealthCheck.NONE;
        limits = limits == null ? Optional.empty() : limits;
        IpAddress.Family family = listen.address().map(IpAddress::family).orElse(backends.get(0).address().family());
        for (Backend b : backends) {
            if (b.address().family() != family) {
                throw new IllegalArgumentException("service " + name + " mixes IPv4 and IPv6 addresses");
            }
        }
    }

    /** The one address family a service lives in: its listen address's, else its backends' (they all agree). */
    public IpAddress.Family family() {
        return listen.address().map(IpAddress::family).orElse(backends.get(0).address().family());
    }

    /** A service without per-client limits. */
    public Service(String name, Protocol protocol, Listen listen, Scheduler scheduler, Snat snat,
                   List<Backend> backends, Optional<Duration> affinity, int maglevTableSize, HealthCheck health) {
        this(name, protocol, listen, scheduler, snat, backends, affinity, maglevTableSize, health, Optional.empty());
    }

    /** A service without health checks: every backend is always up. */
    public Service(String name, Protocol protocol, Listen listen, Scheduler scheduler, Snat snat,
                   List<Backend> backends, Optional<Duration> affinity, int maglevTableSize) {
        this(name, protocol, listen, scheduler, snat, backends, affinity, maglevTableSize, HealthCheck.NONE);
    }

    /** The same service with other backends, e.g. only those that are up. */
    public Service withBackends(List<Backend> others) {
        return new Service(name, protocol, listen, scheduler, snat, others, affinity, maglevTableSize, health, limits);
    }

    /** The check that applies to {@code backend}: its own, else the service's. */
    public HealthCheck healthOf(Backend backend) {
        return backend.health().orElse(health);
    }

    /** A service with no affinity and an automatic maglev table: what most configs and tests need. */
    public Service(String name, Protocol protocol, Listen listen, Scheduler scheduler, Snat snat,
                   List<Backend> backends) {
        this(name, protocol, listen, scheduler, snat, backends, Optional.empty(), 0, HealthCheck.NONE);
    }

    /** Maglev's table size must be prime so every backend's permutation visits every slot. */
    public static boolean isPrime(int n) {
        if (n < 2) return false;
        for (int d = 2; (long) d * d <= n; d++) {
            if (n % d == 0) return false;
        }
        return true;
    }
}
