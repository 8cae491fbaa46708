package io.nflb.dataplane.nft;

import io.nflb.host.Exec;
import io.nflb.model.Json;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * nft in memory, for unit tests (knftables' Fake is the model): table inet nflb as nft would hold it, changed
 * by the commands nflb sends ({@code table inet nflb { ... }}, add/flush/delete of chains, rules, sets, maps,
 * counters and elements, delete table), each transaction all or nothing, with the refusals nflb's
 * transactions can meet (a missing table, chain, set or element). Listings come back in the forms the real
 * nft prints: the table as {@code nft -s list table}, sets and maps as {@code nft -j list}.
 */
public final class FakeNftTool implements NftTool {

    private static final String TABLE = NftNames.QUALIFIED;

    private Table table;
    private final List<String> committed = new ArrayList<>();
    private String refuse;
    private boolean netlink = true;
    private boolean netlinkRefusesAll;
    private int netlinkBatches;

    /** Every transaction that was taken, in order. */
    public List<String> committed() {
        return List.copyOf(committed);
    }

    /** From now on, refuse any transaction with a line containing {@code text}; null to stop. */
    public void refuseLinesContaining(String text) {
        this.refuse = text;
    }

    private List<String> others = List.of();

    /** The neighbours' tables, as {@code nft -j list table} documents, that {@link #listOtherTables} returns. */
    public void setOtherTables(List<String> json) {
        this.others = List.copyOf(json);
    }

    @Override
    public List<String> listOtherTables() {
        return others;
    }

    /** Sets the counter of one element (by its key as listed, e.g. "10.0.0.1 . 80 . 0") of a map or set. */
    public void count(String set, String key, long packets, long bytes) {
        table.sets.get(set).counters.put(key, new long[] {packets, bytes});
    }

    /** Without a netlink socket (as where JNA or the namespace is missing): writers fall back to text. */
    public FakeNftTool withoutNetlink() {
        netlink = false;
        return this;
    }

    /** From now on, the netlink socket refuses every batch (EINVAL), as a kernel that misreads nflb's encoding would. */
    public void netlinkRefusesAll() {
        netlinkRefusesAll = true;
    }

    /** Batches taken over netlink. */
    public synchronized int netlinkBatches() {
        return netlinkBatches;
    }

    @Override
    public synchronized Exec.Result transaction(String script) {
        String refused = runAll(commands(script), script);
        return new Exec.Result(List.of("nft", "-f", "(fake)"), refused == null ? 0 : 1, "", refused == null ? "" : "Error: " + refused);
    }

    /** Runs commands as one transaction, all or nothing; null when taken, else why not. */
    private String runAll(List<String> commands, String record) {
        Table work = table == null ? null : table.copy();
        try {
            for (String command : commands) {
                if (refuse != null && command.contains(refuse)) throw new IllegalStateException("refused by the test");
                work = run(work, command);
            }
        } catch (IllegalStateException e) {
            return e.getMessage();
        }
        table = work;
        committed.add(record);
        return null;
    }

    /** A socket that reads nflb's netlink batches back into nft commands and runs them here. */
    @Override
    public NftNetlinkChannel netlink() throws java.io.IOException {
        if (!netlink) throw new java.io.IOException("no netlink in this fake");
        return new FakeNftNetlink(set -> {
            synchronized (this) {
                NamedSet s = table == null ? null : table.sets.get(set);
                return s == null ? null : s.header;
            }
        }, commands -> {
            synchronized (this) {
                if (netlinkRefusesAll) return "Invalid argument";
                String refused = runAll(commands, "# netlink\n" + String.join("\n", commands) + "\n");
                if (refused == null) netlinkBatches++;
                return refused;
            }
        });
    }

    @Override
    public synchronized Optional<String> listTable() {
        if (table == null) return Optional.empty();
        String text = table.state().toText();
        // nft lists the generation token, which nflb's own text of a table leaves out.
        NamedSet gen = table.sets.get(NftNames.GEN);
        if (gen != null && !gen.elements.isEmpty()) {
            String declared = "\tset " + NftNames.GEN + " {\n\t\ttype mark\n";
            text = text.replace(declared, declared + "\t\telements = { " + String.join(", ", gen.elements.values()) + " }\n");
        }
        return Optional.of(text);
    }

    @Override
    public synchronized String listJson(String what) {
        StringBuilder sb = new StringBuilder("{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\"}}");
        if (table != null) {
            for (NamedSet s : table.sets.values()) {
                if (s.map != what.equals("maps")) continue;
                String kind = s.map ? "map" : "set";
                sb.append(", {\"").append(kind).append("\": {\"family\": \"inet\", \"name\": ").append(Json.str(s.name))
                        .append(", \"table\": \"nflb\"");
                if (!s.elements.isEmpty() && !s.unmanaged()) {
                    sb.append(", \"elem\": [");
                    int i = 0;
                    for (Map.Entry<String, String> e : s.elements.entrySet()) {
                        if (i++ > 0) sb.append(", ");
                        String element = e.getValue();
                        String key = e.getKey();
                        Optional<String> comment = NftNames.commentOf(element);
                        boolean counted = s.header.contains("counter");
                        String val = concat(key);
                        if (comment.isPresent() || counted) {
                            long[] c = s.counters.getOrDefault(key, new long[2]);
                            val = "{\"elem\": {\"val\": " + val + comment.map(x -> ", \"comment\": " + Json.str(x)).orElse("")
                                    + (counted ? ", \"counter\": {\"packets\": " + c[0] + ", \"bytes\": " + c[1] + "}" : "") + "}}";
                        }
                        if (s.map) {
                            int colon = element.lastIndexOf(" : ");
                            sb.append('[').append(val).append(", ").append(concat(element.substring(colon + 3))).append(']');
                        } else {
                            sb.append(val);
                        }
                    }
                    sb.append(']');
                }
                sb.append("}}");
            }
        }
        return sb.append("]}").toString();
    }

    /** "a . 80 . 0" as nft -j prints it: {"concat": ["a", 80, 0]}, or the one value alone. */
    private static String concat(String text) {
        String[] parts = text.strip().split(" \\. ");
        List<String> values = new ArrayList<>();
        for (String p : parts) {
            String v = p.strip();
            if (v.startsWith("\"") && v.endsWith("\"")) v = v.substring(1, v.length() - 1);
            values.add(v.matches("[0-9]{1,18}") ? v : Json.str(v));
        }
        return values.size() == 1 ? values.get(0) : "{\"concat\": [" + String.join(", ", values) + "]}";
    }

    /** The script's commands: one per line, except a {@code table ... { }} block, which is one. */
    private static List<String> commands(String script) {
        List<String> out = new ArrayList<>();
        String[] lines = script.split("\n");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            if (line.startsWith("table ") && line.endsWith("{")) {
                StringBuilder block = new StringBuilder(line).append('\n');
                int depth = 1;
                while (depth > 0 && ++i < lines.length) {
                    String l = lines[i];
                    for (char c : l.toCharArray()) depth += c == '{' ? 1 : c == '}' ? -1 : 0;
                    block.append(l).append('\n');
                }
                out.add(block.toString());
            } else {
                out.add(line);
            }
        }
        return out;
    }

    private static Table run(Table t, String command) {
        if (command.startsWith("table ")) {
            if (!command.startsWith("table " + TABLE + " {")) throw new IllegalStateException("not nflb's table: " + command);
            Table into = t == null ? new Table() : t;
            into.merge(NftState.parse(command));
            return into;
        }
        if (command.equals("delete table " + TABLE)) {
            if (t == null) throw new IllegalStateException("No such file or directory: " + command);
            return null;
        }
        if (t == null) throw new IllegalStateException("No such file or directory: " + command);
        String[] w = command.split(" ", 5);
        if (w.length < 5 || !(w[2] + " " + w[3]).equals(TABLE)) throw new IllegalStateException("syntax error: " + command);
        String verb = w[0] + " " + w[1];
        String[] rest = w[4].split(" ", 2);
        String name = rest[0];
        String body = rest.length > 1 ? rest[1] : "";
        switch (verb) {
            case "add chain" -> t.chains.computeIfAbsent(name, n -> new Chain(body.isEmpty() ? "" : body.substring(2, body.length() - 2)));
            case "flush chain" -> t.chain(name, command).rules.clear();
            case "delete chain" -> {
                t.chain(name, command);
                t.chains.remove(name);
            }
            case "add rule" -> t.chain(name, command).rules.add(body);
            case "add map", "add set" -> t.sets.computeIfAbsent(name, n -> new NamedSet(n, verb.equals("add map"),
                    List.of(body.substring(2, body.length() - 3).split("; "))));
            case "delete map", "delete set" -> {
                t.set(name, command);
                t.sets.remove(name);
            }
            case "flush set", "flush map" -> t.set(name, command).elements.clear();
            case "add counter" -> t.counters.add(name);
            case "delete counter" -> {
                if (!t.counters.remove(name)) throw new IllegalStateException("No such file or directory: " + command);
            }
            case "add element" -> {
                NamedSet s = t.set(name, command);
                for (String e : elements(body)) s.elements.put(NftState.NftSet.key(e), e);
            }
            case "delete element" -> {
                NamedSet s = t.set(name, command);
                for (String k : elements(body)) {
                    if (s.elements.remove(NftState.NftSet.key(k)) == null) throw new IllegalStateException("No such file or directory: " + command);
                }
            }
            default -> throw new IllegalStateException("syntax error: " + command);
        }
        return t;
    }

    private static List<String> elements(String braced) {
        String inner = braced.strip();
        if (!inner.startsWith("{") || !inner.endsWith("}")) throw new IllegalStateException("syntax error: " + braced);
        List<String> out = new ArrayList<>();
        for (String e : inner.substring(1, inner.length() - 1).split(",")) if (!e.isBlank()) out.add(e.strip());
        return out;
    }

    private static final class Table {
        final Set<String> counters = new LinkedHashSet<>();
        final Map<String, NamedSet> sets = new LinkedHashMap<>();
        final Map<String, Chain> chains = new LinkedHashMap<>();

        Chain chain(String name, String command) {
            Chain c = chains.get(name);
            if (c == null) throw new IllegalStateException("No such file or directory: " + command);
            return c;
        }

        NamedSet set(String name, String command) {
            NamedSet s = sets.get(name);
            if (s == null) throw new IllegalStateException("No such file or directory: " + command);
            return s;
        }

        void merge(NftState state) {
            counters.addAll(state.counters().keySet());
            for (NftState.NftSet s : state.sets().values()) {
                NamedSet into = sets.computeIfAbsent(s.name(), n -> new NamedSet(n, s.map(), s.header()));
                for (String e : s.elements()) into.elements.put(NftState.NftSet.key(e), e);
            }
            for (NftState.Chain c : state.chains().values()) {
                chains.computeIfAbsent(c.name(), n -> new Chain(c.header())).rules.addAll(c.rules());
            }
        }

        NftState state() {
            Map<String, String> cs = new LinkedHashMap<>();
            counters.forEach(c -> cs.put(c, c));
            Map<String, NftState.NftSet> ss = new LinkedHashMap<>();
            sets.values().forEach(s -> ss.put(s.name, new NftState.NftSet(s.name, s.map, s.header, List.copyOf(s.elements.values()))));
            Map<String, NftState.Chain> ch = new LinkedHashMap<>();
            chains.forEach((n, c) -> ch.put(n, new NftState.Chain(n, c.header, c.rules)));
            return new NftState(cs, ss, ch);
        }

        Table copy() {
            Table t = new Table();
            t.counters.addAll(counters);
            sets.forEach((n, s) -> {
                NamedSet c = new NamedSet(s.name, s.map, s.header);
                c.elements.putAll(s.elements);
                s.counters.forEach((k, v) -> c.counters.put(k, v.clone()));
                t.sets.put(n, c);
            });
            chains.forEach((n, c) -> {
                Chain d = new Chain(c.header);
                d.rules.addAll(c.rules);
                t.chains.put(n, d);
            });
            return t;
        }
    }

    private static final class NamedSet {
        final String name;
        final boolean map;
        final List<String> header;
        /** By key, the element as listed (with its comment and, for maps, its value). */
        final Map<String, String> elements = new LinkedHashMap<>();
        final Map<String, long[]> counters = new LinkedHashMap<>();

        NamedSet(String name, boolean map, List<String> header) {
            this.name = name;
            this.map = map;
            this.header = List.copyOf(header);
        }

        boolean unmanaged() {
            return new NftState.NftSet(name, map, header, List.of()).unmanaged();
        }
    }

    private static final class Chain {
        final String header;
        final List<String> rules = new ArrayList<>();

        Chain(String header) {
            this.header = header;
        }
    }
}
