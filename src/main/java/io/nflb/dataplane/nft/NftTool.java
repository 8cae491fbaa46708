package io.nflb.dataplane.nft;

import io.nflb.host.Exec;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What nflb asks of nft: run one transaction, all or nothing, and list nflb's table. The real one runs nft
 * through {@link Exec}; the tests' FakeNftTool keeps a table in memory with the same all-or-nothing rule.
 */
public interface NftTool {

    /** Runs {@code script} as one transaction ({@code nft -f}). Never throws for a refusal: the result says. */
    Exec.Result transaction(String script);

    /** The same for a small transaction, through a long-lived session when the tool keeps one. */
    default Exec.Result quickTransaction(String script) {
        return transaction(script);
    }

    /** {@code nft -s list table inet nflb}: the table without counter values, or empty when there is none. */
    Optional<String> listTable();

    /**
     * {@code nft -s list set inet nflb NAME} ({@code map}: {@code list map}, which nft needs for a map): that one
     * set inside its table, as nft lists it, or empty when there is no such set or table. A tool that cannot list
     * one set lists the whole table.
     */
    default Optional<String> listSet(String name, boolean map) {
        return listTable();
    }

    /** {@code nft -j list maps inet} or {@code nft -j list sets inet} ({@code what}: "maps" or "sets"). */
    String listJson(String what);

    /**
     * A netlink socket to nf_tables where this tool's nft runs (its network namespace), for writes that skip nft.
     * Throws when there is none.
     */
    default NftNetlinkChannel netlink() throws IOException {
        throw new IOException("no netlink socket beside this nft");
    }

    /**
     * {@code nft -j list table} of every table that is neither nflb's nor one of iptables-nft's, one document
     * each: what the neighbours wrote. Listed table by table, so nflb's own (which may be large) is never listed.
     */
    default List<String> listOtherTables() {
        return List.of();
    }

    /** Ends whatever the tool keeps running. */
    default void close() {
    }

    static NftTool of(Exec exec) {
        return new Real(exec);
    }

    /** The installed nft, in whatever namespace {@code exec} runs in. */
    final class Real implements NftTool {

        /**
         * A line longer than this goes through {@code nft -f}: interactive input is for small partial syncs. nft -i
         * runs an unterminated last line at end of input, so a daemon killed while writing a longer line could
         * commit a prefix of its transaction; a line within PIPE_BUF (4096) goes into the pipe in one write.
         */
        private static final int SESSION_MAX = 4000;
        private static final Duration SESSION_TIMEOUT = Duration.ofSeconds(10);

        private final Exec exec;
        private Exec.Session session;
        private long sequence;

        Real(Exec exec) {
            this.exec = exec;
        }

        @Override
        public Exec.Result transaction(String script) {
            return exec.run(List.of("nft", "-f", "/dev/stdin"), script, Exec.timeoutFor(script));
        }

        /**
         * Sends a small transaction through a long-lived {@code nft -i}: starting a process costs more than the
         * sync itself (20-50 ms here against a few). One input line is one batch, so the commands go joined by
         * "; " and stay atomic. After it comes a marker line, a syntax error nft echoes on stderr: everything
         * before that echo is the transaction's own error output. Any trouble ends the session and falls back to
         * {@code nft -f}.
         */
        @Override
        public synchronized Exec.Result quickTransaction(String script) {
            String line = String.join("; ", script.strip().split("\n")).replace('\t', ' ');
            if (line.length() > SESSION_MAX) return transaction(script);
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
                return transaction(script);
            }
        }

        /** A socket in the namespace the Exec runs in; an answer not there within {@link #SESSION_TIMEOUT} is a failure. */
        @Override
        public NftNetlinkChannel netlink() throws IOException {
            return NetlinkSocket.open(exec.netns(), SESSION_TIMEOUT);
        }

        /** Listing 100,000 round-robin services takes nft over a minute on 2 cores. */
        private static final Duration LIST_TIMEOUT = Duration.ofMinutes(10);

        @Override
        public Optional<String> listTable() {
            Exec.Result r = exec.run(List.of("nft", "-s", "list", "table", NftNames.FAMILY, NftNames.TABLE), null, LIST_TIMEOUT);
            if (r.ok()) return Optional.of(r.stdout());
            if (r.stderr().contains("No such file or directory")) return Optional.empty();
            throw new Exec.ExecException(r.describeFailure(), null);
        }

        @Override
        public Optional<String> listSet(String name, boolean map) {
            if (!name.matches("[a-z0-9_]{1,64}")) throw new IllegalArgumentException("set " + name);
            Exec.Result r = exec.run(List.of("nft", "-s", "list", map ? "map" : "set", NftNames.FAMILY, NftNames.TABLE, name));
            if (r.ok()) return Optional.of(r.stdout());
            if (r.stderr().contains("No such file or directory")) return Optional.empty();
            throw new Exec.ExecException(r.describeFailure(), null);
        }

        @Override
        public String listJson(String what) {
            if (!what.equals("maps") && !what.equals("sets")) throw new IllegalArgumentException("list " + what);
            Exec.Result r = exec.run(List.of("nft", "-j", "list", what, NftNames.FAMILY));
            if (!r.ok()) throw new Exec.ExecException(r.describeFailure(), null);
            return r.stdout();
        }

        @Override
        public List<String> listOtherTables() {
            List<String> out = new java.util.ArrayList<>();
            for (NftTableNames.Table t : tables()) {
                if (!NftNeighbours.foreign(t.family(), t.name())) continue;
                Exec.Result table = exec.run(List.of("nft", "-j", "list", "table", t.family(), t.name()));
                // A table deleted between the two listings is simply gone.
                if (table.ok()) out.add(table.stdout());
            }
            return out;
        }

        /** Every table's name: from the kernel's own dump, or where netlink is not available, from nft. */
        private List<NftTableNames.Table> tables() {
            NetlinkSocket socket = null;
            try {
                socket = NetlinkSocket.open(exec.netns(), SESSION_TIMEOUT);
                return NftTableNames.read(socket);
            } catch (IOException | RuntimeException | LinkageError e) {
                Exec.Result r = exec.run(List.of("nft", "-j", "list", "tables"));
                if (!r.ok()) throw new Exec.ExecException(r.describeFailure(), null);
                List<NftTableNames.Table> out = new java.util.ArrayList<>();
                if (!(NftJson.parse(r.stdout()) instanceof Map<?, ?> root) || !(root.get("nftables") instanceof List<?> all)) return out;
                for (Object o : all) {
                    if (!(o instanceof Map<?, ?> m) || !(m.get("table") instanceof Map<?, ?> t)) continue;
                    out.add(new NftTableNames.Table(String.valueOf(t.get("family")), String.valueOf(t.get("name"))));
                }
                return out;
            } finally {
                if (socket != null) socket.close();
            }
        }

        private void closeSession() {
            if (session != null) session.close();
            session = null;
        }

        @Override
        public synchronized void close() {
            closeSession();
        }
    }
}
