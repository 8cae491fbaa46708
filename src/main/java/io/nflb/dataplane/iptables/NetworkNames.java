package io.nflb.dataplane.iptables;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Service and protocol names as iptables reads them: "--dport ssh" is getservbyname("ssh", "tcp") from
 * /etc/services, "-p gre" getprotobyname from /etc/protocols. Dumps come from other machines, so a name this
 * machine lists only for the other transport protocol is taken with that port (IANA gives both the same), and
 * netbase's lists are built in: {@link #builtIn()} never reads the host, which is what tests use.
 */
public final class NetworkNames {

    /** A file larger than this is not a services list; the built-in names are used instead. */
    private static final long MAX_FILE = 4L << 20;
    private static final NetworkNames BUILT_IN = new NetworkNames(
            parse(resource("services.txt"), true), parse(resource("protocols.txt"), false), null);
    private static volatile NetworkNames system;

    private final Map<String, Integer> services;
    private final Map<String, Integer> protocols;
    private final NetworkNames fallback;

    private NetworkNames(Map<String, Integer> services, Map<String, Integer> protocols, NetworkNames fallback) {
        this.services = services;
        this.protocols = protocols;
        this.fallback = fallback;
    }

    /** netbase's names only. */
    public static NetworkNames builtIn() {
        return BUILT_IN;
    }

    /** This machine's /etc/services and /etc/protocols, then the built-in names. Read once. */
    public static NetworkNames system() {
        NetworkNames s = system;
        if (s == null) {
            s = new NetworkNames(parse(file("/etc/services"), true), parse(file("/etc/protocols"), false), BUILT_IN);
            system = s;
        }
        return s;
    }

    /** The port of service {@code name} for {@code protocol} ("tcp", "udp", ...), as getservbyname gives it. */
    public OptionalInt port(String name, String protocol) {
        String key = name.toLowerCase(Locale.ROOT);
        Integer p = services.get(key + "/" + protocol);
        if (p == null) p = services.get(key + "/tcp");
        if (p == null) p = services.get(key + "/udp");
        if (p != null) return OptionalInt.of(p);
        return fallback == null ? OptionalInt.empty() : fallback.port(name, protocol);
    }

    /** The number of protocol {@code name}; iptables' own names (all, icmpv6, ...) included. */
    public OptionalInt protocol(String name) {
        String key = name.toLowerCase(Locale.ROOT);
        switch (key) {
            case "all" -> {
                return OptionalInt.of(0);
            }
            case "icmpv6", "ipv6-icmp" -> {
                return OptionalInt.of(58);
            }
            case "mh", "ipv6-mh" -> {
                return OptionalInt.of(135);
            }
            default -> {
            }
        }
        Integer p = protocols.get(key);
        if (p != null) return OptionalInt.of(p);
        return fallback == null ? OptionalInt.empty() : fallback.protocol(name);
    }

    private static String resource(String name) {
        try (InputStream in = NetworkNames.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("missing resource " + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String file(String path) {
        try {
            Path p = Path.of(path);
            if (!Files.isRegularFile(p) || Files.size(p) > MAX_FILE) return "";
            return Files.readString(p, StandardCharsets.ISO_8859_1);
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    /** "name port/proto aliases # comment" (services) or "name number aliases" (protocols); first entry wins. */
    private static Map<String, Integer> parse(String text, boolean services) {
        Map<String, Integer> out = new HashMap<>();
        for (String line : text.split("\n")) {
            int hash = line.indexOf('#');
            String[] w = (hash < 0 ? line : line.substring(0, hash)).trim().split("\\s+");
            if (w.length < 2) continue;
            try {
                if (services) {
                    String[] portProto = w[1].split("/");
                    if (portProto.length != 2) continue;
                    int port = Integer.parseInt(portProto[0]);
                    if (port < 0 || port > 65535) continue;
                    for (int i = 0; i < w.length; i++) {
                        if (i != 1) out.putIfAbsent(w[i].toLowerCase(Locale.ROOT) + "/" + portProto[1].toLowerCase(Locale.ROOT), port);
                    }
                } else {
                    int number = Integer.parseInt(w[1]);
                    if (number < 0 || number > 255) continue;
                    for (int i = 0; i < w.length; i++) {
                        if (i != 1) out.putIfAbsent(w[i].toLowerCase(Locale.ROOT), number);
                    }
                }
            } catch (NumberFormatException ignored) {
                // not a list entry
            }
        }
        return out;
    }
}
