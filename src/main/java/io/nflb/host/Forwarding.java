package io.nflb.host;

import io.nflb.model.IpAddress.Family;
import io.nflb.model.Service;

import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/** A load balancer in front of other hosts forwards packets: the kernel must route between interfaces. */
public final class Forwarding {

    private Forwarding() {
    }

    public static String key(Family family) {
        return family == Family.V4 ? "net.ipv4.ip_forward" : "net.ipv6.conf.all.forwarding";
    }

    /** Turns forwarding on for {@code family} where {@code exec} runs; returns whether it was off. */
    public static boolean ensure(Exec exec, Family family) {
        return new Sysctl(exec).ensure(key(family), "1");
    }

    /**
     * Turns forwarding on for every family {@code services} balance, where {@code exec} runs: balanced traffic is
     * routed on to the backends, and without forwarding the router drops it. Returns what it changed, one line each.
     */
    public static List<String> ensureFor(Exec exec, Collection<Service> services) {
        Set<Family> families = EnumSet.noneOf(Family.class);
        services.forEach(s -> families.add(s.family()));
        List<String> changed = new ArrayList<>();
        for (Family f : families) {
            if (ensure(exec, f)) changed.add(key(f) + " was 0; set to 1");
        }
        return changed;
    }
}
