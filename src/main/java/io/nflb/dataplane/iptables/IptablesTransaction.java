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
            if (IptablesNames.holdsJumps(t.name(), c.name()) && c.rules().stream().anyMatch(r -> IptablesNames.targetsOwnChain(r.text()))) return true;
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
                if (!IptablesNames.holdsJumps(t.name(), j.chain())) throw invalid("jump from a chain that is not built-in: " + j.chain());
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

    /** A jump inserted at {@code position} (1-based) of its chain. */
    private record Insert(Jump jump, int position) {
    }

    /** The edits for one table. */
    private record TableChange(String table, List<String> write, Map<String, List<String>> rules,
                               List<String> remove, List<Insert> insert, List<Jump> delete) {

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

            Map<String, List<Jump>> wantJumps = new LinkedHashMap<>();
            for (Jump j : want.jumps()) wantJumps.computeIfAbsent(j.chain(), c -> new ArrayList<>()).add(j);
            for (SavedTables.Chain c : have.chains().values()) {
                if (!IptablesNames.holdsJumps(want.name(), c.name())) continue;
                if (c.rules().stream().anyMatch(r -> IptablesNames.targetsOwnChain(r.text()))) wantJumps.putIfAbsent(c.name(), List.of());
            }
            List<Jump> delete = new ArrayList<>();
            List<Insert> insert = new ArrayList<>();
            for (var e : wantJumps.entrySet()) {
                SavedTables.Chain live = have.chains().get(e.getKey());
                List<String> specs = live == null ? List.of() : live.rules().stream().map(SavedTables.Rule::spec).toList();
                JumpPlacement.edit(e.getKey(), specs, e.getValue(), delete, insert);
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
            for (Insert i : insert) out.append("-I ").append(i.jump().chain()).append(' ').append(i.position()).append(' ').append(i.jump().spec()).append('\n');
            for (String c : write) {
                for (String rule : rules.get(c)) out.append(rule).append('\n');
            }
            for (String c : remove) out.append("-X ").append(c).append('\n');
            out.append("COMMIT\n");
        }
    }

    /**
     * Where nflb's jumps belong in a chain: together, in the wanted order, at the top, except below every
     * deny list's jump (fail2ban, sshguard, CrowdSec), so that a banned address is refused before nflb's
     * accepts. Neighbours that insert their own jumps at the top when they restart (Docker, firewalld) push
     * nflb's down; the next apply, or the daemon's resync, puts them back with a delete and an insert in the
     * same transaction. Jumps already in place are left alone, so their counters survive.
     */
    static final class JumpPlacement {

        private JumpPlacement() {
        }

        /** Adds to {@code delete} and {@code insert} the edits that bring {@code live} (the chain's rule specs) to {@code wanted}. */
        static void edit(String chain, List<String> live, List<Jump> wanted, List<Jump> delete, List<Insert> insert) {
            if (placed(live, wanted)) return;
            // First the smallest edit: duplicates and unwanted jumps out, missing ones in at the top of the block.
            List<Jump> del = new ArrayList<>();
            Map<String, Integer> count = new LinkedHashMap<>();
            for (String spec : live) if (IptablesNames.targetsOwnChain(spec)) count.merge(spec, 1, Integer::sum);
            Set<String> wantedSpecs = new HashSet<>();
            for (Jump j : wanted) wantedSpecs.add(j.spec());
            for (var e : count.entrySet()) {
                int extra = wantedSpecs.contains(e.getKey()) ? e.getValue() - 1 : e.getValue();
                del.addAll(Collections.nCopies(extra, new Jump(chain, e.getKey())));
            }
            List<Jump> missing = wanted.stream().filter(j -> !count.containsKey(j.spec())).toList();
            List<String> after = without(live, del);
            List<Insert> ins = inserts(after, missing);
            if (!placed(applied(after, ins), wanted)) {
                // Out of place (a neighbour put its jumps above nflb's): every jump of nflb's out, then in again.
                del = new ArrayList<>();
                for (String spec : live) if (IptablesNames.targetsOwnChain(spec)) del.add(new Jump(chain, spec));
                ins = inserts(without(live, del), wanted);
            }
            delete.addAll(del);
            insert.addAll(ins);
        }

        /** Whether nflb's jumps in {@code live} are exactly {@code wanted}, in order, together, at their place. */
        static boolean placed(List<String> live, List<Jump> wanted) {
            List<Integer> at = new ArrayList<>();
            for (int i = 0; i < live.size(); i++) if (IptablesNames.targetsOwnChain(live.get(i))) at.add(i);
            if (at.size() != wanted.size()) return false;
            int start = anchor(live);
            for (int k = 0; k < wanted.size(); k++) {
                if (at.get(k) != start + k || !live.get(at.get(k)).equals(wanted.get(k).spec())) return false;
            }
            return true;
        }

        /** The index nflb's block starts at: just below the last deny list's jump, else the top. */
        static int anchor(List<String> live) {
            int after = 0;
            for (int i = 0; i < live.size(); i++) {
                if (IptablesDialect.target(live.get(i)).filter(IptablesNames::isDenyListChain).isPresent()) after = i + 1;
            }
            return after;
        }

        /** {@code jumps} inserted in order at the anchor of {@code live}: each at the same position, last first. */
        private static List<Insert> inserts(List<String> live, List<Jump> jumps) {
            int position = anchor(live) + 1;
            List<Insert> out = new ArrayList<>();
            for (int k = jumps.size() - 1; k >= 0; k--) out.add(new Insert(jumps.get(k), position));
            return out;
        }

        /** What "-D CHAIN spec" does: the first rule equal to each, removed. */
        private static List<String> without(List<String> live, List<Jump> deleted) {
            List<String> out = new ArrayList<>(live);
            for (Jump j : deleted) out.remove(j.spec());
            return out;
        }

        private static List<String> applied(List<String> live, List<Insert> inserts) {
            List<String> out = new ArrayList<>(live);
            for (Insert i : inserts) out.add(i.position() - 1, i.jump().spec());
            return out;
        }
    }
}
