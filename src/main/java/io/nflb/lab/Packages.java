package io.nflb.lab;

import io.nflb.host.Exec;
import io.nflb.host.Tools;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Installs the Debian packages that provide missing tools, when nflb runs as root on a Debian-like system. */
public final class Packages {

    /** tool -> the Debian package that ships it. */
    public static final Map<String, String> LAB_TOOLS = new LinkedHashMap<>(Map.of(
            "ip", "iproute2", "iptables-restore", "iptables", "nft", "nftables", "sysctl", "procps"));

    /** The two-router lab's tools, beyond the lab's own. */
    public static final Map<String, String> HA_TOOLS = new LinkedHashMap<>(Map.of(
            "ip", "iproute2", "iptables-restore", "iptables", "nft", "nftables", "sysctl", "procps",
            "keepalived", "keepalived", "conntrackd", "conntrackd", "conntrack", "conntrack"));

    private Packages() {
    }

    /** Returns normally when every tool is there afterwards; throws with advice otherwise. */
    public static void ensure(Map<String, String> tools, PrintStream out) {
        List<String> missing = new ArrayList<>();
        tools.forEach((tool, pkg) -> {
            if (!Tools.has(tool) && !missing.contains(pkg)) missing.add(pkg);
        });
        if (missing.isEmpty()) return;
        if (!Tools.has("apt-get") || !"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException("missing " + String.join(", ", missing) + "; install them (as root: apt-get install "
                    + String.join(" ", missing) + ")");
        }
        out.println("nflb: installing " + String.join(", ", missing) + " (apt-get)...");
        Duration long_ = Duration.ofMinutes(10);
        Exec.host().run(List.of("apt-get", "update", "-qq"), null, long_);
        List<String> install = new ArrayList<>(List.of("apt-get", "install", "-y", "-qq"));
        install.addAll(missing);
        Exec.Result r = Exec.host().run(install, null, long_);
        if (!r.ok()) throw new IllegalStateException(r.describeFailure());
    }
}
