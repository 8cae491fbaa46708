package io.nflb.dataplane.iptables;

import io.nflb.model.Names;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;

/**
 * The names nflb gives its objects in iptables, made and recognised here and nowhere else: chain names
 * and the comments that tell {@code status} which service and backend a counted rule belongs to. Chain names
 * depend only on the service name and backend endpoint, never on order, so a config edit that adds or moves
 * one service leaves every other chain (and its nth counters) untouched. iptables allows 28 characters.
 */
public final class IptablesNames {

    /** Every chain nflb owns starts with this; nothing else is ever flushed or deleted. */
    public static final String CHAIN_PREFIX = "NFLB-";

    public static final int MAX_LENGTH = 28;
    public static final String SERVICES = "NFLB-SERVICES";
    public static final String POSTROUTING = "NFLB-POSTROUTING";
    /** filter table: refuses new connections to services that have no usable backend. */
    public static final String REJECT = "NFLB-REJECT";

    /** filter table, with a firewall: section: nflb's policy, jumped to from the built-in chain of the same name. */
    public static final String INPUT = "NFLB-INPUT";
    public static final String FORWARD = "NFLB-FORWARD";
    public static final String OUTPUT = "NFLB-OUTPUT";
    /** filter table: per-client limits of services, one NFLB-LIM-* chain per limited service. */
    public static final String LIMITS = "NFLB-LIMITS";

    private static final String LIMIT_PREFIX = "NFLB-LIM-";
    private static final String SERVICE_PREFIX = "NFLB-SVC-";
    private static final String BACKEND_PREFIX = "NFLB-SEP-";
    private static final int SHORT_NAME = 10;

    private IptablesNames() {
    }

    /** "NFLB-SVC-" + name when it fits, else the first 10 characters of the name and 8 hex of its SHA-256. */
    public static String service(String service) {
        Names.requireService(service);
        String full = SERVICE_PREFIX + service;
        if (full.length() <= MAX_LENGTH) return full;
        return SERVICE_PREFIX + shortName(service) + "-" + hash8(service);
    }

    /** "NFLB-SEP-" + up to 10 characters of the service name + 8 hex of SHA-256 over (service, endpoint). */
    public static String backend(String service, String endpoint) {
        Names.requireService(service);
        return BACKEND_PREFIX + shortName(service) + "-" + hash8(service + "\n" + endpoint);
    }

    /** "NFLB-LIM-" + name when it fits, else the first 10 characters of the name and 8 hex of its SHA-256. */
    public static String limits(String service) {
        Names.requireService(service);
        String full = LIMIT_PREFIX + service;
        if (full.length() <= MAX_LENGTH) return full;
        return LIMIT_PREFIX + shortName(service) + "-" + hash8(service);
    }

    /** The hashlimit table of a service: "nflb-" + 8 hex, within the kernel's 15 characters for any name. */
    public static String hashlimit(String service) {
        return "nflb-" + hash8(Names.requireService(service));
    }

    /** filter table, Docker restrict mode: nflb's chain, jumped to first from Docker's DOCKER-USER. */
    public static final String DOCKER_USER = "NFLB-DOCKER-USER";
    /** Docker's chain for its users' rules (Docker never changes what is in it): the one foreign chain nflb jumps from. */
    static final String DOCKER_USER_HOST = "DOCKER-USER";
    /**
     * filter table: accepts nflb's own balanced and forward: traffic where a neighbour's FORWARD policy DROP
     * would otherwise drop it: with the nftables backend (an iptables-nft chain is one more base chain at the
     * hook), and with the iptables backend when the firewall has no forward drop of its own (NFLB-FORWARD).
     */
    public static final String PASS = "NFLB-PASS";

    /** Whether nflb owns {@code chain}. */
    public static boolean isOwnChain(String chain) {
        return chain.startsWith(CHAIN_PREFIX);
    }

    /** Whether the rule (a whole line or a jump's spec) jumps or goes to a chain of nflb's. */
    static boolean targetsOwnChain(String rule) {
        return IptablesDialect.target(rule).filter(IptablesNames::isOwnChain).isPresent();
    }

    /** Whether nflb may have a jump in {@code chain} of {@code table}: a built-in chain, or Docker's DOCKER-USER. */
    static boolean holdsJumps(String table, String chain) {
        return IptablesDialect.isBuiltin(table, chain) || (table.equals("filter") && chain.equals(DOCKER_USER_HOST));
    }

    /** Chains of deny lists (fail2ban's f2b-*, sshguard, CrowdSec): nflb's accepts must come after their drops. */
    static boolean isDenyListChain(String chain) {
        return chain.startsWith("f2b-") || chain.equals("sshguard") || chain.equals("CROWDSEC_CHAIN");
    }

    /** The comment on a backend's DNAT rule (and its selection rules): "SERVICE -> ENDPOINT". */
    static String backendComment(String service, String endpoint) {
        return service + BACKEND_ARROW + endpoint;
    }

    /** The service and endpoint a {@link #backendComment} names, or empty for any other comment. */
    static Optional<String[]> parseBackendComment(String comment) {
        int arrow = comment.indexOf(BACKEND_ARROW);
        if (arrow <= 0 || comment.indexOf(' ') < arrow) return Optional.empty();
        String endpoint = comment.substring(arrow + BACKEND_ARROW.length());
        if (endpoint.isEmpty() || endpoint.indexOf(' ') >= 0) return Optional.empty();
        return Optional.of(new String[] {comment.substring(0, arrow), endpoint});
    }

    /** The comment on a rule of {@link #REJECT}: "SERVICE has no usable backend". */
    static String rejectComment(String service) {
        return service + NO_BACKEND;
    }

    /** The service a {@link #rejectComment} names, or empty for any other comment. */
    static Optional<String> parseRejectComment(String comment) {
        if (!comment.endsWith(NO_BACKEND) || comment.length() == NO_BACKEND.length()) return Optional.empty();
        return Optional.of(comment.substring(0, comment.length() - NO_BACKEND.length()));
    }

    private static final String BACKEND_ARROW = " -> ";
    private static final String NO_BACKEND = " has no usable backend";

    private static String shortName(String service) {
        return service.length() <= SHORT_NAME ? service : service.substring(0, SHORT_NAME);
    }

    private static String hash8(String text) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
