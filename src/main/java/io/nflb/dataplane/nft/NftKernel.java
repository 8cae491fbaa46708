package io.nflb.dataplane.nft;

import io.nflb.host.Exec;
import io.nflb.plan.Plan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Puts nflb's nft table into the kernel and reads it back. Every write is one nft transaction.
 * {@link #apply} reads the live table ({@code nft -s list table}, the faithful readback: nft 1.0.6's JSON
 * cannot print {@code dnat ... map} statements and drops the dynamic flag), sends only what differs, and
 * replaces the whole table when it is missing, unreadable, or its declarations changed. Listing costs time
 * in proportion to the table (seconds at 10,000 services), so {@link #update} trusts the state this instance
 * last wrote or read and sends the difference straight away; a transaction the kernel refuses falls back to
 * a verified {@link #apply}. A live table that differs from what this instance last wrote was edited by
 * someone else and is replaced whole; a fresh instance (nothing written yet) repairs by difference.
 * <p>
 * Trusting the cache is checked for free: every write also swaps a random generation token in set
 * {@code gen}, and a partial sync deletes the token it expects. When anyone else replaced or deleted the
 * table, that delete fails, so the whole transaction does, and the update falls back to a verified apply.
 * nft fetches every chain and stateful object of the ruleset before each command, so a partial sync through
 * nft costs in proportion to those (not to map elements): the renderer keeps them few, and partial syncs go
 * over netlink ({@link NftNetlinkWriter}), which costs the same whatever the ruleset, where that works.
 * <p>
 * What {@code status} needs (counters per backend, services refused) is read as structured data
 * ({@code nft -j}), with the names the renderer gave the objects recognised by {@link NftNames}.
 */
public final class NftKernel {

    private static final String TABLE = NftNames.QUALIFIED;
    /** Why an apply trusted what an earlier one wrote instead of reading the table back. */
    static final String TRUSTED = "the table holds the last apply's generation token";

    private final NftTool tool;
    private final NftWriter writer;
    private final java.security.SecureRandom random = new java.security.SecureRandom();
    /** The table this instance last wrote or read, or null when unknown. */
    private NftScript known;
    /** The token this instance last wrote into set gen, or null when unknown. */
    private String token;
    /** What another process (an earlier apply) wrote, with its token: trusted once the live token is that one. */
    private NftScript assumed;
    private String assumedToken;

    public NftKernel(Exec exec) {
        this(NftTool.of(exec));
    }

    /** Partial syncs over netlink where that works, else through nft. */
    public NftKernel(NftTool tool) {
        this(tool, new NftNetlinkWriter(tool));
    }

    NftKernel(NftTool tool, NftWriter writer) {
        this.tool = tool;
        this.writer = writer;
    }

    /**
     * What a write sent: the transaction text ("" when nothing had to change), whether it was a difference
     * from the table's last state, and, when it was not, why the table was replaced whole.
     */
    public record NftTransaction(String text, boolean incremental, String reason) {
        public boolean changed() {
            return !text.isEmpty();
        }
    }

    /** One backend's share of a service's new connections: the sum of the counters of its slots. */
    public record BackendCounter(String service, String endpoint, long packets, long bytes) {
    }

    public NftTransaction apply(Plan plan) {
        return apply(NftRenderer.render(plan));
    }

    /**
     * A listing of the live table, and what this instance had written when it began: {@code same}, whether the
     * listing showed exactly that. Made without holding this kernel, so writes go on meanwhile.
     */
    static final class Listing implements io.nflb.dataplane.Dataplane.ReadBack {
        final NftScript before;
        final String tokenBefore;
        final Optional<NftState> live;
        final boolean same;

        private Listing(NftScript before, String tokenBefore, Optional<NftState> live, boolean same) {
            this.before = before;
            this.tokenBefore = tokenBefore;
            this.live = live;
            this.same = same;
        }
    }

    /** Lists the live table and compares it with what this instance had written, both off its lock; null when unreadable. */
    public Listing readBack() {
        NftScript before;
        String tokenBefore;
        synchronized (this) {
            before = known;
            tokenBefore = token;
        }
        Optional<NftState> live;
        try {
            live = read();
        } catch (IllegalArgumentException e) {
            return null; // not nflb's table any more: the verified apply says so
        }
        boolean same = before != null && live.isPresent() && live.get().sameAs(before.state());
        return new Listing(before, tokenBefore, live, same);
    }

    /**
     * Verifies the table with {@code listing} (null: list it now): nothing to do when it showed what this
     * instance had written; a repair when it did not. Empty when it is stale: a write of this instance reached
     * the table before the listing did, so it is compared with nothing (list again later). A listing that
     * predates writes since still shows whether the table was right when it began.
     */
    public synchronized Optional<NftTransaction> verify(NftScript wanted, Listing listing) {
        if (listing == null || listing.before == null) return Optional.of(apply(wanted));
        boolean nothingSince = known == listing.before && java.util.Objects.equals(token, listing.tokenBefore);
        String liveToken = listing.live.map(s -> s.sets().get(NftNames.GEN)).filter(g -> g.elements().size() == 1)
                .map(g -> g.elements().get(0)).orElse(null);
        if (nothingSince) {
            if (listing.same) return Optional.of(new NftTransaction("", true, ""));
            return Optional.of(check(wanted, listing.live));
        }
        if (java.util.Objects.equals(liveToken, listing.tokenBefore) && listing.same) return Optional.of(new NftTransaction("", true, ""));
        if (liveToken != null && liveToken.equals(token)) return Optional.empty();
        // The table differed from this instance's writes when listed, or holds someone else's token: read it
        // again now and put it right.
        return Optional.of(apply(wanted));
    }

    public synchronized NftTransaction apply(NftScript wanted) {
        if (known == null && assumed != null) {
            NftScript before = assumed;
            String expected = assumedToken;
            assumed = null;
            assumedToken = null;
            // The token is ours and still there: nobody replaced the table since that write, so it is that script
            // and gets the difference from it, guarded by the token like a partial sync. Reading the set costs
            // milliseconds where listing the table costs seconds.
            if (expected.equals(liveToken().orElse(null))) {
                known = before;
                token = expected;
                NftTransaction t = update(wanted);
                return new NftTransaction(t.text(), t.incremental(), t.reason().isEmpty() ? TRUSTED : t.reason());
            }
        }
        Optional<NftState> live;
        try {
            live = read();
        } catch (IllegalArgumentException e) {
            return replace(wanted, "table unreadable: " + e.getMessage());
        }
        return check(wanted, live);
    }

    /** Brings the table {@code live} (as just listed) to {@code wanted}: whole when missing or edited by someone else. */
    private NftTransaction check(NftScript wanted, Optional<NftState> live) {
        if (live.isEmpty()) return replace(wanted, "table missing");
        if (known != null && !live.get().sameAs(known.state())) return replace(wanted, "table changed by someone else");
        return send(NftScript.of(live.get()), wanted, true);
    }

    /**
     * What another process wrote last ({@code script}, with {@code token} in set gen): the next {@link #apply} reads
     * only set gen and, when it still holds {@code token}, trusts the table to be {@code script} instead of listing
     * it. Edits of someone else that leave set gen alone go unseen then; an apply without an assumption, and the
     * daemon's periodic read-back, see them.
     */
    public synchronized void assume(NftScript script, String token) {
        if (!token.matches("0x[0-9a-f]{8}")) throw new IllegalArgumentException("not a token: " + token);
        this.assumed = script;
        this.assumedToken = token;
    }

    /** The token this instance last wrote or adopted, if it knows one. */
    public synchronized Optional<String> token() {
        return Optional.ofNullable(token);
    }

    /** The token in the live table's set gen, if there is exactly one. */
    private Optional<String> liveToken() {
        try {
            return tool.listSet(NftNames.GEN, false).map(NftState::parse).map(s -> s.sets().get(NftNames.GEN))
                    .filter(g -> g.elements().size() == 1).map(g -> g.elements().get(0));
        } catch (RuntimeException e) {
            return Optional.empty(); // unreadable: the verified path says why
        }
    }

    /** Whether this instance knows what it last wrote (a partial sync will trust it). */
    public synchronized boolean trusting() {
        return known != null && token != null;
    }

    /**
     * Applies the difference from the state this instance last wrote; cost independent of the table's size when
     * {@code wanted} was rendered right after that state (it carries the transaction), else a comparison of the two.
     */
    public synchronized NftTransaction update(NftScript wanted) {
        if (known == null || token == null) return apply(wanted);
        if (wanted == known) return new NftTransaction("", true, "");
        return send(known, wanted, false);
    }

    private NftTransaction send(NftScript from, NftScript wanted, boolean verified) {
        NftChange change = verified ? null : wanted.changeFrom(from);
        if (change == null) change = NftDiff.transaction(from.state(), wanted.state());
        if (change.replaceWhole()) return replace(wanted, "declarations changed");
        if (change.isEmpty()) {
            if (verified) {
                // Adopt the live token, so the next partial sync can trust this read without a write now.
                NftState.NftSet g = from.state().sets().get(NftNames.GEN);
                token = g != null && g.elements().size() == 1 ? g.elements().get(0) : null;
            }
            known = wanted;
            return new NftTransaction("", true, "");
        }
        String next = newToken();
        // Verified: the live table was just read, so whatever token it holds goes. Trusted: the expected token
        // must be there, or the transaction fails as a whole.
        Exec.Result r = verified
                ? tool.transaction(change.text() + "flush set " + TABLE + " " + NftNames.GEN + "\n"
                        + "add element " + TABLE + " " + NftNames.GEN + " { " + next + " }\n")
                : writer.write(change, token, next);
        if (!r.ok()) {
            known = null;
            token = null;
            // The live table was not what we thought: someone else changed it. Start over from the kernel.
            if (verified) return replace(wanted, "incremental refused: " + r.describeFailure());
            NftTransaction a = apply(wanted);
            return new NftTransaction(a.text(), a.incremental(),
                    "partial sync refused, the table was changed by someone else; verified: " + (a.reason().isEmpty() ? "repaired by difference" : a.reason()));
        }
        known = wanted;
        token = next;
        return new NftTransaction(change.text(), true, "");
    }

    private NftTransaction replace(NftScript wanted, String reason) {
        String next = newToken();
        String tx = wanted.fullReplace();
        Exec.Result r = tool.transaction(tx + "add element " + TABLE + " " + NftNames.GEN + " { " + next + " }\n");
        if (!r.ok()) {
            known = null;
            token = null;
            throw new Exec.ExecException(r.describeFailure(), null);
        }
        known = wanted;
        token = next;
        return new NftTransaction(tx, false, reason);
    }

    private String newToken() {
        return String.format("0x%08x", random.nextInt() | 1);
    }

    /** Deletes nflb's table and nothing else; a missing table is fine. */
    public synchronized void flush() {
        known = null;
        token = null;
        Exec.Result r = tool.transaction("table " + TABLE + " {\n}\ndelete table " + TABLE + "\n");
        if (!r.ok()) throw new Exec.ExecException(r.describeFailure(), null);
    }

    /** The live table as nft lists it without counter values, or empty text when there is none. */
    public String save() {
        return tool.listTable().orElse("");
    }

    /** The live table, or empty when it does not exist. */
    /** Whether nflb's table is there: its set gen, listed alone, says so without listing every service. */
    public boolean exists() {
        return listed(NftNames.GEN, false).orElse(false) || read().isPresent();
    }

    /**
     * False only when nft, listing the map {@code name} alone, says it (or the whole table) is not there: a map
     * that could not be listed may be there.
     */
    public boolean mayHaveMap(String name) {
        return listed(name, true).orElse(true);
    }

    /** Whether nft lists the set or map {@code name} alone; empty when it could not be listed. */
    private Optional<Boolean> listed(String name, boolean map) {
        try {
            return Optional.of(tool.listSet(name, map).isPresent());
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    public Optional<NftState> read() {
        return tool.listTable().map(NftState::parse);
    }

    /**
     * New connections and their first packets' bytes per service and backend, from the per-element counters
     * of the slot maps (the nat hooks see a connection's first packet only). Within a map, the slots of one
     * service share a key prefix (its address and port, or its id); the service's name is the comment on its
     * slot 0. Counts restart when a slot's element is replaced, e.g. by a reweight that reorders a cycle.
     * Affinity services pick through chains, not slot maps, and are not counted.
     */
    public List<BackendCounter> backendCounters() {
        Map<String, String> names = new HashMap<>();
        Map<String, Map<String, long[]>> sums = new LinkedHashMap<>();
        for (Map<String, Object> map : objects(tool.listJson("maps"), "map")) {
            String mapName = (String) map.get("name");
            if (NftNames.parseSlotMap(mapName).isEmpty() || !(map.get("elem") instanceof List<?> elems)) continue;
            for (Object e : elems) {
                if (!(e instanceof List<?> pair) || pair.size() != 2) continue;
                Map<?, ?> elem = element(pair.get(0));
                List<?> key = concat(elem.get("val"));
                List<?> value = concat(pair.get(1));
                if (key.size() < 2 || value.size() != 2) continue;
                String service = mapName + " " + key.subList(0, key.size() - 1);
                if (elem.get("comment") instanceof String c) names.put(service, c);
                long[] counter = counter(elem.get("counter"));
                String addr = String.valueOf(value.get(0));
                String endpoint = (addr.indexOf(':') >= 0 ? "[" + addr + "]" : addr) + ":" + value.get(1);
                long[] sum = sums.computeIfAbsent(service, k -> new LinkedHashMap<>()).computeIfAbsent(endpoint, k -> new long[2]);
                sum[0] += counter[0];
                sum[1] += counter[1];
            }
        }
        List<BackendCounter> out = new ArrayList<>();
        for (Map.Entry<String, Map<String, long[]>> svc : sums.entrySet()) {
            String name = names.get(svc.getKey());
            if (name == null) continue;
            svc.getValue().forEach((ep, sum) -> out.add(new BackendCounter(name, ep, sum[0], sum[1])));
        }
        out.sort(Comparator.comparing(BackendCounter::service).thenComparing(BackendCounter::endpoint));
        return out;
    }

    /** Services whose new connections are refused for lack of a backend: the comments of the reject sets' elements. */
    public List<String> rejecting() {
        List<String> out = new ArrayList<>();
        for (Map<String, Object> set : objects(tool.listJson("sets"), "set")) {
            if (!NftNames.REJECT_SETS.contains(set.get("name")) || !(set.get("elem") instanceof List<?> elems)) continue;
            for (Object e : elems) {
                if (element(e).get("comment") instanceof String c) out.add(c);
            }
        }
        out.sort(null);
        return out;
    }

    /** The objects of kind {@code kind} ("map", "set") of nflb's table in an {@code nft -j} listing. */
    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> objects(String json, String kind) {
        List<Map<String, Object>> out = new ArrayList<>();
        if (!(NftJson.parse(json) instanceof Map<?, ?> root) || !(root.get("nftables") instanceof List<?> all)) return out;
        for (Object o : all) {
            if (o instanceof Map<?, ?> m && m.get(kind) instanceof Map<?, ?> obj
                    && NftNames.FAMILY.equals(obj.get("family")) && NftNames.TABLE.equals(obj.get("table"))) {
                out.add((Map<String, Object>) obj);
            }
        }
        return out;
    }

    /** An element with a comment or counter is {"elem": {"val": KEY, ...}}; a bare one is just its key. */
    private static Map<?, ?> element(Object o) {
        if (o instanceof Map<?, ?> m && m.get("elem") instanceof Map<?, ?> inner) return inner;
        return Map.of("val", o == null ? "" : o);
    }

    private static List<?> concat(Object o) {
        if (o instanceof Map<?, ?> m && m.get("concat") instanceof List<?> l) return l;
        return o == null ? List.of() : List.of(o);
    }

    private static long[] counter(Object o) {
        if (o instanceof Map<?, ?> m && m.get("packets") instanceof Long p && m.get("bytes") instanceof Long b) return new long[] {p, b};
        return new long[2];
    }

    /** Ends the tool's long-lived nft process and the writer's socket, if any. */
    public synchronized void close() {
        writer.close();
        tool.close();
    }
}
