package io.nflb.model;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The other rule managers nflb recognises on the router it shares ("neighbours"), by their config keyword under
 * {@code firewall.neighbours}. Traffic managers (docker, libvirt, kube-proxy) run networks of their own; host
 * firewalls (ufw, firewalld) are a second policy for the same traffic; deny lists (fail2ban, and sshguard or
 * CrowdSec) only ever drop, and nflb keeps its accepts below theirs without being asked. {@link #OTHER} is every
 * table or chain nflb owns no name for.
 */
public enum NeighbourKind {
    DOCKER("docker"),
    LIBVIRT("libvirt"),
    KUBE_PROXY("kube-proxy"),
    UFW("ufw"),
    FIREWALLD("firewalld"),
    FAIL2BAN("fail2ban"),
    DENY_LIST("deny-list"),
    OTHER("other");

    private final String keyword;

    NeighbourKind(String keyword) {
        this.keyword = keyword;
    }

    public String keyword() {
        return keyword;
    }

    /** Whether the config chooses how nflb treats it ({@code firewall.neighbours.KEYWORD}). */
    public boolean hasMode() {
        return this != FAIL2BAN && this != DENY_LIST;
    }

    /** ufw and firewalld: a second policy for the router's own traffic, not networks of their own. */
    public boolean hostFirewall() {
        return this == UFW || this == FIREWALLD;
    }

    /** Whether it runs networks (bridges, pod networks) whose interfaces and addresses the config may name. */
    public boolean managesNetworks() {
        return this == DOCKER || this == LIBVIRT || this == KUBE_PROXY || this == OTHER;
    }

    /** The keys {@code firewall.neighbours} takes, in the order the README lists them. */
    public static List<NeighbourKind> configurable() {
        return Arrays.stream(values()).filter(NeighbourKind::hasMode).toList();
    }

    public static Optional<NeighbourKind> byKeyword(String keyword) {
        return Arrays.stream(values()).filter(k -> k.keyword.equals(keyword)).findFirst();
    }

    /** The config key that sets how nflb treats this neighbour, as messages name it. */
    public String configKey() {
        return "firewall.neighbours." + keyword;
    }
}
