package io.nflb.dataplane.nft;

import io.nflb.model.Backend;
import io.nflb.model.Names;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The names of everything in nflb's nft table, made and recognised here and nowhere else: the table itself,
 * the dispatch maps, the slot maps that hold each service's backends (whose names say family, protocol and
 * shard), the chains, and the comment that names a service on its slot 0 and on its reject element.
 */
final class NftNames {

    static final String FAMILY = "inet";
    static final String TABLE = "nflb";
    /** How commands name the table: "inet nflb". */
    static final String QUALIFIED = FAMILY + " " + TABLE;

    /** The set holding the generation token of the last write (see NftKernel); its elements are never compared. */
    static final String GEN = "gen";

    /** Number of slot-map shards: keeps both the set count and each map's bindings small. */
    static final int SHARDS = 256;

    static final String DISPATCH4 = "svc4";
    static final String DISPATCH6 = "svc6";
    static final String DISPATCH_IF = "svc_if";
    static final String DISPATCH_PORT = "svc_port";
    static final List<String> DISPATCH_MAPS = List.of(DISPATCH4, DISPATCH6, DISPATCH_IF, DISPATCH_PORT);
    static final String MASQ4 = "masq4";
    static final String MASQ6 = "masq6";
    static final String REJECT4 = "rej4";
    static final String REJECT6 = "rej6";
    static final String REJECT_IF = "rej_if";
    static final String REJECT_PORT = "rej_port";
    static final List<String> REJECT_SETS = List.of(REJECT4, REJECT6, REJECT_IF, REJECT_PORT);

    static final String PREROUTING = "prerouting";
    static final String OUTPUT = "output";
    static final String POSTROUTING = "postrouting";
    static final String REJECTS = "rejects";
    static final String REJECTS_ADDR = "rejects_addr";
    static final String FILTER_INPUT = "filter_input";
    static final String FILTER_FORWARD = "filter_forward";
    static final String FILTER_OUTPUT = "filter_output";
    /** The firewall's per-client limits: one chain that dispatches to each limited service's. */
    static final String LIMITS = "limits";

    private static final String SERVICE_CHAIN = "svc_";
    private static final String FLAT = "flat";
    private static final String BY_ID = "slots";

    private NftNames() {
    }

    /** The firewall's base chain on {@code hook} (input, forward, output). */
    static String firewallChain(String hook) {
        return "fw_" + hook;
    }

    static String limitChain(String service) {
        return "lim_" + Names.requireService(service);
    }

    static String connectionsSet(String service) {
        return "conns_" + Names.requireService(service);
    }

    static String rateSet(String service) {
        return "rate_" + Names.requireService(service);
    }

    /** A service's own chain (round-robin, an interface check, affinity, or no address to key a map by). */
    static String serviceChain(String service) {
        return SERVICE_CHAIN + Names.requireService(service);
    }

    /** The service whose own chain this is, or empty for any other chain. */
    static Optional<String> serviceOfChain(String chain) {
        return chain.startsWith(SERVICE_CHAIN) ? Optional.of(chain.substring(SERVICE_CHAIN.length())) : Optional.empty();
    }

    /** The chain (and dynamic set) of one backend of an affinity service: address in hex and port. */
    static String affinityChain(String service, Backend b) {
        StringBuilder sb = new StringBuilder("aff_").append(Names.requireService(service)).append('_');
        for (byte x : b.address().inet().getAddress()) sb.append(String.format("%02x", x & 0xff));
        return sb.append('_').append(b.port()).toString();
    }

    /** The chain shared by every stateless service (random, maglev) of one family, protocol, method and slot count. */
    static String sharedChain(boolean v6, String protocol, String method, int slots) {
        return "pick" + (v6 ? "6_" : "4_") + protocol + "_" + method + "_" + slots;
    }

    /**
     * A map from a service's slots to its backends. Services with an address are keyed by that address, port
     * and slot ("flat" maps): one map per shared chain ({@code method} and {@code slots}), or one of
     * {@link #SHARDS} shards by service id for services with a chain of their own. Services without an address
     * are keyed by service id and slot ("slots" maps), sharded the same way.
     */
    record SlotMap(boolean v6, String protocol, boolean byId, long shard, String method, int slots) {

        static SlotMap flatShard(boolean v6, String protocol, long id) {
            return new SlotMap(v6, protocol, false, id % SHARDS, "", 0);
        }

        static SlotMap flatShared(boolean v6, String protocol, String method, int slots) {
            return new SlotMap(v6, protocol, false, -1, method, slots);
        }

        static SlotMap byIdShard(boolean v6, String protocol, long id) {
            return new SlotMap(v6, protocol, true, id % SHARDS, "", 0);
        }

        String name() {
            String head = (byId ? BY_ID : FLAT) + (v6 ? "6_" : "4_") + protocol + "_";
            return head + (shard >= 0 ? String.valueOf(shard) : method + "_" + slots);
        }

        /** Keys go from the most to the least specific: by family, protocol, then id shards, then shared maps. */
        String order() {
            String tail = shard >= 0 ? String.format("0%08d", shard) : "1" + method + String.format("%08d", slots);
            return (byId ? "1" : "0") + (v6 ? "6" : "4") + "_" + protocol + "_" + tail;
        }
    }

    /** The slot map {@code name} denotes, or empty when it is not one. */
    static Optional<SlotMap> parseSlotMap(String name) {
        boolean byId = name.startsWith(BY_ID);
        if (!byId && !name.startsWith(FLAT)) return Optional.empty();
        String[] part = name.substring((byId ? BY_ID : FLAT).length()).split("_");
        try {
            boolean v6 = part[0].equals("6");
            if (!v6 && !part[0].equals("4")) return Optional.empty();
            if (part.length == 3) return Optional.of(new SlotMap(v6, part[1], byId, Long.parseLong(part[2]), "", 0));
            if (part.length == 4 && !byId) return Optional.of(new SlotMap(v6, part[1], false, -1, part[2], Integer.parseInt(part[3])));
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    /** The order slot maps are declared in (nft lists them in that order too). */
    static final Comparator<String> SLOT_MAP_ORDER = Comparator.comparing(n -> parseSlotMap(n).map(SlotMap::order).orElse(n));

    /** The comment nflb writes on a service's slot 0 and on its reject element, naming the service. */
    static String comment(String service) {
        return " comment \"" + Names.requireService(service) + "\"";
    }

    private static final java.util.regex.Pattern COMMENT = java.util.regex.Pattern.compile(" comment \"([a-z0-9-]+)\"");

    /** The service a listed element's {@link #comment} names, or empty. */
    static Optional<String> commentOf(String element) {
        java.util.regex.Matcher m = COMMENT.matcher(element);
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }

    /** The element without its comment, as it is keyed. */
    static String withoutComment(String element) {
        return COMMENT.matcher(element).replaceFirst("");
    }

    // The stateless translation of ha mode ecmp (NftStateless): maps and chains of their own, in the same table.
    static final String STATELESS_FORWARD = "slfwd4";
    static final String STATELESS_BACKENDS = "slrev4";
    static final String STATELESS_REVERSE = "slrevnat4";
    static final String STATELESS_PREROUTING = "sl_prerouting";
    static final String STATELESS_POSTROUTING = "sl_postrouting";

    /** A stateless service's chain towards its backends. */
    static String statelessForwardChain(String service) {
        return "slf_" + Names.requireService(service);
    }

    /** A stateless service's chain that gives replies the service's address and port back. */
    static String statelessReverseChain(String service) {
        return "slr_" + Names.requireService(service);
    }

    /** A stateless service's maglev table: slot to backend address, and slot to backend port. */
    static String statelessAddressMap(String service) {
        return "sla_" + Names.requireService(service);
    }

    static String statelessPortMap(String service) {
        return "slp_" + Names.requireService(service);
    }

    /** The service whose stateless forward chain this is, or empty. */
    static Optional<String> serviceOfStatelessChain(String chain) {
        return chain.startsWith("slf_") ? Optional.of(chain.substring(4)) : Optional.empty();
    }
}
