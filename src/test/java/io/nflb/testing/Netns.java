package io.nflb.testing;

import io.nflb.host.Exec;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** A throw-away network namespace named nflb-t-*, removed on close; tests never touch the host's network. */
public final class Netns implements AutoCloseable {

    private final String name;

    private Netns(String name) {
        this.name = name;
    }

    public static Netns create(String purpose) {
        String name = "nflb-t-" + purpose + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
        Exec.host().check(List.of("ip", "netns", "add", name));
        Netns ns = new Netns(name);
        ns.exec().check(List.of("ip", "link", "set", "lo", "up"));
        return ns;
    }

    public String name() {
        return name;
    }

    public Exec exec() {
        return Exec.inNetns(name);
    }

    @Override
    public void close() {
        Exec.host().run(List.of("ip", "netns", "del", name));
    }
}
