package io.nflb.kernel;

import io.nflb.plan.Plan;
import io.nflb.render.NftRenderer;
import io.nflb.render.NftScript;
import io.nflb.render.NftState;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Puts nflb's nft table into the kernel and reads it back. Every write is one {@code nft -f} transaction.
 * {@link #apply} reads the live table ({@code nft -s list table}, the faithful readback: nft 1.0.6's JSON
 * cannot print {@code dnat ... map} statements and drops the dynamic flag), sends only what differs, and
 * replaces the whole table when it is missing, unreadable, or its declarations changed. Listing costs time
 * in proportion to the table (seconds at 10,000 services), so {@link #update} trusts the state this instance
 * last wrote or read and sends the difference straight away; a transaction the kernel refuses falls back to
 * a verified {@link #apply}. A live table that differs from what this instance last wrote was edited by
 * someone else and is replaced whole; a fresh instance (nothing written yet) repairs by difference.
 */
public final class NftKernel {

    private static final String TABLE = NftState.FAMILY + " " + NftState.TABLE;

    private final Exec exec;
    private NftState known;

    public NftKernel(Exec exec) {
        this.exec = exec;
    }

    /** What a write sent: the transaction text, whether it was a difference, and why it was not. */
    public record ApplyResult(boolean incremental, String transaction, String reason) {
        public boolean changed() {
            return !transaction.isEmpty();
        }
    }

    /** A named counter's totals. */
    public record Counter(String name, long packets, long bytes) {
    }

    public ApplyResult apply(Plan plan) {
        return apply(NftRenderer.render(plan));
    }

    public synchronized ApplyResult apply(NftScript wanted) {
        Optional<NftState> live;
        try {
            live = read();
        } catch (IllegalArgumentException e) {
            return replace(wanted, "table unreadable: " + e.getMessage());
        }
        if (live.isEmpty()) return replace(wanted, "table missing");
        if (known != null && !live.get().sameAs(known)) return replace(wanted, "table changed by someone else");
        return send(live.get(), wanted, true);
    }

    /** Applies the difference from the state this instance last wrote; cost independent of the table's size. */
    public synchronized ApplyResult update(NftScript wanted) {
        if (known == null) return apply(wanted);
        return send(known, wanted, false);
    }

    private ApplyResult send(NftState from, NftScript wanted, boolean verified) {
        Optional<String> diff = NftDiff.transaction(from, wanted.state());
        if (diff.isEmpty()) return replace(wanted, "declarations changed");
        if (diff.get().isEmpty()) {
            known = wanted.state();
            return new ApplyResult(true, "", "");
        }
        Exec.Result r = nft(diff.get());
        if (!r.ok()) {
            known = null;
            // The live table was not what we thought: someone else changed it. Start over from the kernel.
            return verified ? replace(wanted, "incremental refused: " + r.describeFailure())
                    : apply(wanted);
        }
        known = wanted.state();
        return new ApplyResult(true, diff.get(), "");
    }

    private ApplyResult replace(NftScript wanted, String reason) {
        String tx = wanted.fullReplace();
        Exec.Result r = nft(tx);
        if (!r.ok()) {
            known = null;
            throw new Exec.ExecException(r.describeFailure(), null);
        }
        known = wanted.state();
        return new ApplyResult(false, tx, reason);
    }

    /** Deletes nflb's table and nothing else; a missing table is fine. */
    public synchronized void flush() {
        known = null;
        Exec.Result r = nft("table " + TABLE + " {\n}\ndelete table " + TABLE + "\n");
        if (!r.ok()) throw new Exec.ExecException(r.describeFailure(), null);
    }

    /** The live table as nft lists it without counter values, or empty text when there is none. */
    public String save() {
        Exec.Result r = exec.run(List.of("nft", "-s", "list", "table", NftState.FAMILY, NftState.TABLE));
        return r.ok() ? r.stdout() : "";
    }

    /** The live table, or empty when it does not exist. */
    public Optional<NftState> read() {
        Exec.Result r = exec.run(List.of("nft", "-s", "list", "table", NftState.FAMILY, NftState.TABLE));
        if (!r.ok()) {
            if (r.stderr().contains("No such file or directory")) return Optional.empty();
            throw new Exec.ExecException(r.describeFailure(), null);
        }
        return Optional.of(NftState.parse(r.stdout()));
    }

    /** Every named counter of nflb's table (one per service, "svc_" + name), read with {@code nft -j}. */
    @SuppressWarnings("unchecked")
    public Map<String, Counter> counters() {
        Exec.Result r = exec.run(List.of("nft", "-j", "list", "counters", "table", NftState.FAMILY, NftState.TABLE));
        Map<String, Counter> out = new LinkedHashMap<>();
        if (!r.ok()) {
            if (r.stderr().contains("No such file or directory")) return out;
            throw new Exec.ExecException(r.describeFailure(), null);
        }
        Map<String, Object> root = (Map<String, Object>) NftJson.parse(r.stdout());
        for (Object o : (List<Object>) root.getOrDefault("nftables", List.of())) {
            Map<String, Object> item = (Map<String, Object>) o;
            Map<String, Object> c = (Map<String, Object>) item.get("counter");
            if (c == null || !NftState.TABLE.equals(c.get("table"))) continue;
            String name = (String) c.get("name");
            out.put(name, new Counter(name, ((Number) c.get("packets")).longValue(), ((Number) c.get("bytes")).longValue()));
        }
        return out;
    }

    private Exec.Result nft(String transaction) {
        return exec.run(List.of("nft", "-f", "/dev/stdin"), transaction, Exec.DEFAULT_TIMEOUT);
    }
}
