package io.nflb.kernel;

import io.nflb.render.IptablesRuleset.Family;

/** A load balancer in front of other hosts forwards packets: the kernel must route between interfaces. */
public final class Forwarding {

    private Forwarding() {
    }

    public static String key(Family family) {
        return family == Family.IPV4 ? "net.ipv4.ip_forward" : "net.ipv6.conf.all.forwarding";
    }

    /** Turns forwarding on for {@code family} where {@code exec} runs; returns whether it was off. */
    public static boolean ensure(Exec exec, Family family) {
        return new Sysctl(exec).ensure(key(family), "1");
    }
}
