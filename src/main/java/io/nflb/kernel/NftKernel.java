package io.nflb.kernel;

import io.nflb.plan.Plan;
import io.nflb.render.NftRenderer;
import io.nflb.render.NftScript;
import io.nflb.render.NftState;

import java.io.IOException;
import java.time.Duration;
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
 * <p>
 * Trusting the cache is checked for free: every write also swaps a random generation token in set
 * {@code gen}, and a partial sync deletes the token it expects. When anyone else replaced or deleted the
 * table, that delete fails, so the whole transaction does, and the update falls back to a verified apply.
 * nft fetches every chain and stateful object of the ruleset before each command, so a partial sync costs
 * in proportion to those (not to map elements): the renderer keeps them few.
 */
public final class NftKernel {

    private static final String TABLE = NftState.FAMILY + " " + NftState.TABLE;

    private final Exec exec;
    private final java.security.SecureRandom random = new java.security.SecureRandom();
    private NftState known;
    /** The token this instance last wrote into set gen, or null when unknown. */
    private String token;

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

    /** Whether this instance knows what it last wrote (a partial sync will trust it). */
    public synchronized boolean trusting() {
        return known != null && token != null;
    }

    /** Applies the difference from the state this instance last wrote; cost independent of the table's size. */
    public synchronized ApplyResult update(NftScript wanted) {
        if (known == null || token == null) return apply(wanted);
        return send(known, wanted, false);
    }

    private ApplyResult send(NftState from, NftScript wanted, boolean verified) {
        Optional<String> diff = NftDiff.transaction(from, wanted.state());
        if (diff.isEmpty()) return replace(wanted, "declarations changed");
        if (diff.get().isEmpty()) {
            if (verified) {
                // Adopt the live token, so the next partial sync can trust this read without a write now.
                NftState.NftSet g = from.sets().get(NftState.GEN);
                token = g != null && g.elements().size() == 1 ? g.elements().get(0) : null;
            }
            known = wanted.state();
            return new ApplyResult(true, "", "");
        }
        String next = newToken();
        String gen = "add element " + TABLE + " " + NftState.GEN + " { " + next + " }\n";
        // Verified: the live table was just read, so whatever token it holds goes. Trusted: the expected token
        // must be there, or the transaction fails as a whole.
        String tx = diff.get() + (verified ? "flush set " + TABLE + " " + NftState.GEN + "\n"
                : "delete element " + TABLE + " " + NftState.GEN + " { " + token + " }\n") + gen;
        Exec.Result r = verified ? nft(tx) : nftQuick(tx);
        if (!r.ok()) {
            known = null;
            token = null;
            // The live table was not what we thought: someone else changed it. Start over from the kernel.
            if (verified) return replace(wanted, "incremental refused: " + r.describeFailure());
            ApplyResult a = apply(wanted);
            return new ApplyResult(a.incremental(), a.transaction(),
                    "partial sync refused, the table was changed by someone else; verified: " + (a.reason().isEmpty() ? "repaired by difference" : a.reason()));
        }
        known = wanted.state();
        token = next;
        return new ApplyResult(true, diff.get(), "");
    }

    private ApplyResult replace(NftScript wanted, String reason) {
        String next = newToken();
        String tx = wanted.fullReplace();
        Exec.Result r = nft(tx + "add element " + TABLE + " " + NftState.GEN + " { " + next + " }\n");
        if (!r.ok()) {
            known = null;
            token = null;
            throw new Exec.ExecException(r.describeFailure(), null);
        }
        known = wanted.state();
        token = next;
        return new ApplyResult(false, tx, reason);
    }

    private String newToken() {
        return String.format("0x%08x", random.nextInt() | 1);
    }

    /** Deletes nflb's table and nothing else; a missing table is fine. */
    public synchronized void flush() {
        known = null;
        token = null;
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

    /** One backend's share of a service's new connections: the sum of the counters of its slots. */
    public record BackendCounter(String service, String endpoint, long packets, long bytes) {
    }

    /** "KEY . SLOT counter packets P bytes B [comment "NAME"] : ADDR . PORT", one slot-map element as listed. */
    private static final java.util.regex.Pattern SLOT = java.util.regex.Pattern.compile(
            "^(.+) \\. (\\d+) counter packets (\\d+) bytes (\\d+)(?: comment \"([a-z0-9-]+)\")? : (.+) \\. (\\d+)$");
    private static final java.util.regex.Pattern COMMENT = java.util.regex.Pattern.compile(" comment \"([a-z0-9-]+)\"");

    /**
     * New connections and their first packets' bytes per service and backend, from the per-element counters
     * of the slot maps (the nat hooks see a connection's first packet only). The service's name is the comment
     * on its slot 0. Counts restart when a slot's element is replaced, e.g. by a reweight that reorders a cycle.
     */
    public List<BackendCounter> backendCounters() {
        Exec.Result r = exec.run(List.of("nft", "list", "table", NftState.FAMILY, NftState.TABLE));
        if (!r.ok()) {
            if (r.stderr().contains("No such file or directory")) return List.of();
            throw new Exec.ExecException(r.describeFailure(), null);
        }
        NftState st = NftState.parse(r.stdout(), true);
        Map<String, String> names = new java.util.HashMap<>();
        Map<String, Map<String, long[]>> sums = new LinkedHashMap<>();
        for (NftState.NftSet s : st.sets().values()) {
            if (!s.name().startsWith("flat") && !s.name().startsWith("slots")) continue;
            for (String e : s.elements()) {
                java.util.regex.Matcher m = SLOT.matcher(e);
                if (!m.matches()) continue;
                String key = s.name() + " " + m.group(1);
                if (m.group(5) != null) names.put(key, m.group(5));
                String addr = m.group(6);
                String ep = (addr.indexOf(':') >= 0 ? "[" + addr + "]" : addr) + ":" + m.group(7);
                long[] sum = sums.computeIfAbsent(key, k -> new LinkedHashMap<>()).computeIfAbsent(ep, k -> new long[2]);
                sum[0] += Long.parseLong(m.group(3));
                sum[1] += Long.parseLong(m.group(4));
            }
        }
        List<BackendCounter> out = new java.util.ArrayList<>();
        for (Map.Entry<String, Map<String, long[]>> svc : sums.entrySet()) {
            String name = names.get(svc.getKey());
            if (name == null) continue;
            svc.getValue().forEach((ep, sum) -> out.add(new BackendCounter(name, ep, sum[0], sum[1])));
        }
        out.sort(java.util.Comparator.comparing(BackendCounter::service).thenComparing(BackendCounter::endpoint));
        return out;
    }

    /** Services whose new connections are refused for lack of a backend: the comments of the reject sets. */
    public List<String> rejecting() {
        List<String> out = new java.util.ArrayList<>();
        for (String set : List.of(NftRenderer.REJECT4, NftRenderer.REJECT6, NftRenderer.REJECT_IF, NftRenderer.REJECT_PORT)) {
            Exec.Result r = exec.run(List.of("nft", "list", "set", NftState.FAMILY, NftState.TABLE, set));
            if (!r.ok()) continue;
            java.util.regex.Matcher m = COMMENT.matcher(r.stdout());
            while (m.find()) out.add(m.group(1));
        }
        out.sort(null);
        return out;
    }

    private Exec.Result nft(String transaction) {
        return exec.run(List.of("nft", "-f", "/dev/stdin"), transaction, Exec.DEFAULT_TIMEOUT);
    }

    /** A line longer than this goes through {@code nft -f}: interactive input is for small partial syncs. */
    private static final int SESSION_MAX = 64 * 1024;
    private static final Duration SESSION_TIMEOUT = Duration.ofSeconds(10);
    private Exec.Session session;
    private long sequence;

    /**
     * Sends a small transaction through a long-lived {@code nft -i}: starting a process costs more than the
     * sync itself (20-50 ms here against a few). One input line is one batch, so the commands go joined by
     * "; " and stay atomic. After it comes a marker line, a syntax error nft echoes on stderr: everything
     * before that echo is the transaction's own error output. Any trouble ends the session and falls back to
     * {@code nft -f}.
     */
    private Exec.Result nftQuick(String transaction) {
        String line = String.join("; ", transaction.strip().split("\n")).replace('\t', ' ');
        if (line.length() > SESSION_MAX) return nft(transaction);
        try {
            if (session == null || !session.alive()) {
                closeSession();
                // HOME: nft -i keeps a history file there; nflb's commands have no business in root's.
                session = exec.start(List.of("nft", "-i"), Map.of("HOME", "/nonexistent"));
            }
            String marker = "nflb-sync-" + (++sequence);
            session.write(line + "\n" + marker + "\n");
            List<String> out = new java.util.ArrayList<>();
            long deadline = System.nanoTime() + SESSION_TIMEOUT.toNanos();
            while (true) {
                String e = session.nextError(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
                if (e == null) throw new IOException("nft -i did not answer within " + SESSION_TIMEOUT.toSeconds() + " s");
                if (e.equals(marker)) break;
                if (!e.isBlank() && !e.strip().matches("\\^+")) out.add(e);
            }
            // The last line before the echo is the marker's own "Error: syntax error".
            if (!out.isEmpty()) out.remove(out.size() - 1);
            return new Exec.Result(session.command(), out.isEmpty() ? 0 : 1, "", String.join("\n", out));
        } catch (IOException | InterruptedException | RuntimeException e) {
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            closeSession();
            return nft(transaction);
        }
    }

    private void closeSession() {
        if (session != null) session.close();
        session = null;
    }

    /** Ends the long-lived nft process, if any. */
    public synchronized void close() {
        closeSession();
    }
}
