package io.nflb.dataplane.iptables;

import io.nflb.dataplane.iptables.IptablesRuleset.Jump;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One iptables-restore --noflush input that turns what is live into what nflb wants, touching nflb's own
 * chains and its jumps in built-in chains only. Chains whose rules are already right are left alone so their
 * counters survive; an empty text means the kernel already holds exactly what is wanted.
 */
public record IptablesTransaction(String text, List<String> tables, int chainsWritten, int chainsRemoved,
                                  int jumpsInserted, int jumpsDeleted) {

    public IptablesTransaction {
        tables = List.copyOf(tables);
    }

    public boolean isEmpty() {
        return text.isEmpty();
    }

    /** What must change so that {@code live} (parsed iptables-save output) matches {@code wanted}. */
    public static IptablesTransaction between(IptablesRuleset wanted, SavedTables live) {
        Map<String, IptablesRuleset.Table> wantedTables = validate(wanted);
        Set<String> names = new LinkedHashSet<>(wantedTables.keySet());
        for (SavedTables.Table t : live.tables().values()) {
            if (hasNflbContent(t)) names.add(t.name());
        }
        StringBuilder text = new StringBuilder();
        List<String> touched = new ArrayList<>();
        int written = 0, removed = 0, inserted = 0, deleted = 0;
        for (String name : names) {
            IptablesRuleset.Table want = wantedTables.getOrDefault(name, new IptablesRuleset.Table(name, List.of(), List.of(), List.of()));
            SavedTables.Table have = live.tables().getOrDefault(name, new SavedTables.Table(name, Map.of()));
            TableChange change = TableChange.of(want, have);
            if (change.isEmpty()) continue;
            touched.add(name);
            change.appendTo(text);
            written += change.write.size();
            removed += change.remove.size();
            inserted += change.insert.size();
            deleted += change.delete.size();
        }
        return new IptablesTransaction(text.toString(), touched, written, removed, inserted, deleted);
    }

    private static boolean hasNflbContent(SavedTables.Table t) {
        for (SavedTables.Chain c : t.chains().values()) {
            if (IptablesNames.isOwnChain(c.name())) return true;
            if (c.builtin() && c.rules().stream().anyMatch(r -> IptablesNames.targetsOwnChain(r.text()))) return true;
        }
        return false;
    }

    /** The renderer is trusted for syntax, not for shape: anything that could escape nflb's chains is refused. */
    private static Map<String, IptablesRuleset.Table> validate(IptablesRuleset wanted) {
        Map<String, IptablesRuleset.Table> tables = new LinkedHashMap<>();
        for (IptablesRuleset.Table t : wanted.tables()) {
            if (!IptablesDialect.BUILTIN_CHAINS.containsKey(t.name())) throw invalid("unknown table " + t.name());
            if (tables.put(t.name(), t) != null) throw invalid("table " + t.name() + " appears twice");
            Set<String> chains = new HashSet<>();
            for (String c : t.chains()) {
                if (!c.matches("NFLB-[A-Za-z0-9_.:+-]+")) throw invalid("bad chain name " + c);
                if (!chains.add(c)) throw invalid("chain " + c + " declared twice in " + t.name());
            }
            for (String rule : t.rules()) {
                requireOneLine(rule);
                SavedTables.Rule r = new SavedTables.Rule(rule, 0, 0);
                if (!rule.startsWith("-A ") || !chains.contains(r.chain())) {
                    throw invalid("rule outside nflb's declared chains of " + t.name() + ": " + rule);
                }
                requireKnownTarget(t.name(), chains, rule);
            }
            Set<Jump> jumps = new HashSet<>();
            for (Jump j : t.jumps()) {
                requireOneLine(j.spec());
                if (!IptablesDialect.isBuiltin(t.name(), j.chain())) throw invalid("jump from a chain that is not built-in: " + j.chain());
                if (!IptablesNames.targetsOwnChain(j.spec())) throw invalid("jump that does not lead into an nflb chain: " + j.spec());
                requireKnownTarget(t.name(), chains, j.spec());
                if (!jumps.add(j)) throw invalid("jump listed twice: " + j);
            }
        }
        return tables;
    }

    private static void requireKnownTarget(String table, Set<String> chains, String rule) {
        String target = IptablesDialect.target(rule).orElse("");
        if (IptablesNames.isOwnChain(target) && !chains.contains(target)) {
            throw invalid("rule jumps to " + target + ", which is not declared in table " + table + ": " + rule);
        }
    }

    private static void requireOneLine(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (Character.isISOControl(text.charAt(i))) throw invalid("control character in rule: " + text.replace("\n", "\\n"));
        }
    }

    private static IllegalArgumentException invalid(String why) {
        return new IllegalArgumentException("invalid iptables ruleset: " + why);
    }

    /** The edits for one table. */
    private record TableChange(String table, List<String> write, Map<String, List<String>> rules,
                               List<String> remove, List<Jump> insert, List<Jump> delete) {

        static TableChange of(IptablesRuleset.Table want, SavedTables.Table have) {
            Map<String, List<String>> wantRules = new LinkedHashMap<>();
            for (String c : want.chains()) wantRules.put(c, new ArrayList<>());
            for (String rule : want.rules()) wantRules.get(new SavedTables.Rule(rule, 0, 0).chain()).add(rule);

            List<String> write = new ArrayList<>();
            for (var e : wantRules.entrySet()) {
                SavedTables.Chain live = have.chains().get(e.getKey());
                if (live == null || !live.ruleTexts().equals(e.getValue())) write.add(e.getKey());
            }
            List<String> remove = new ArrayList<>();
            for (String c : have.chains().keySet()) {
                if (IptablesNames.isOwnChain(c) && !wantRules.containsKey(c)) remove.add(c);
            }

            Map<Jump, Integer> liveJumps = new LinkedHashMap<>();
            for (SavedTables.Chain c : have.chains().values()) {
                if (!c.builtin()) continue;
                for (SavedTables.Rule r : c.rules()) {
                    if (IptablesNames.targetsOwnChain(r.text())) liveJumps.merge(new Jump(c.name(), r.spec()), 1, Integer::sum);
                }
            }
            List<Jump> delete = new ArrayList<>();
            List<Jump> insert = new ArrayList<>();
            for (Jump j : want.jumps()) {
                int n = liveJumps.getOrDefault(j, 0);
                if (n == 0) insert.add(j);
                delete.addAll(Collections.nCopies(Math.max(0, n - 1), j));
            }
            for (var e : liveJumps.entrySet()) {
                if (!want.jumps().contains(e.getKey())) delete.addAll(Collections.nCopies(e.getValue(), e.getKey()));
            }
            return new TableChange(want.name(), write, wantRules, remove, insert, delete);
        }

        boolean isEmpty() {
            return write.isEmpty() && remove.isEmpty() && insert.isEmpty() && delete.isEmpty();
        }

        /**
         * Declaring a chain creates it or, under --noflush, empties it. Stale jumps go before anything is
         * deleted, and stale chains are deleted last, once nothing of nflb's refers to them any more.
         */
        void appendTo(StringBuilder out) {
            out.append('*').append(table).append('\n');
            for (String c : write) out.append(':').append(c).append(" - [0:0]\n");
            for (String c : remove) out.append(':').append(c).append(" - [0:0]\n");
            for (Jump j : delete) out.append("-D ").append(j.chain()).append(' ').append(j.spec()).append('\n');
            // Each inserted at the top, in reverse per chain, so several new jumps into one chain keep the wanted order.
            Map<String, List<Jump>> byChain = new LinkedHashMap<>();
            for (Jump j : insert) byChain.computeIfAbsent(j.chain(), c -> new ArrayList<>()).add(0, j);
            for (List<Jump> jumps : byChain.values()) {
                for (Jump j : jumps) out.append("-I ").append(j.chain()).append(" 1 ").append(j.spec()).append('\n');
            }
            for (String c : write) {
                for (String rule : rules.get(c)) out.append(rule).append('\n');
            }
            for (String c : remove) out.append("-X ").append(c).append('\n');
            out.append("COMMIT\n");
        }
    }
}
