package io.nflb.dataplane.nft;

import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The smallest nft transaction that turns one state of table inet nflb into another: new objects, changed
 * chains flushed and refilled, map elements deleted and added one by one. Empty when a declaration changed
 * (a base chain's hook or a set's type cannot be edited in place): the caller then replaces the table.
 */
final class NftDiff {

    private static final String T = NftNames.QUALIFIED;

    private NftDiff() {
    }

    static Optional<String> transaction(NftState live, NftState wanted) {
        for (NftState.Chain c : wanted.chains().values()) {
            NftState.Chain l = live.chains().get(c.name());
            if (l != null && !l.header().equals(c.header())) return Optional.empty();
        }
        for (NftState.NftSet s : wanted.sets().values()) {
            NftState.NftSet l = live.sets().get(s.name());
            if (l != null && (l.map() != s.map() || !l.header().equals(s.header()))) return Optional.empty();
        }
        StringBuilder add = new StringBuilder();
        StringBuilder delElems = new StringBuilder();
        StringBuilder flush = new StringBuilder();
        StringBuilder rules = new StringBuilder();
        StringBuilder addElems = new StringBuilder();
        StringBuilder delete = new StringBuilder();

        for (NftState.Chain c : wanted.chains().values()) {
            NftState.Chain l = live.chains().get(c.name());
            if (l == null) {
                add.append("add chain ").append(T).append(' ').append(c.name());
                if (!c.header().isEmpty()) add.append(" { ").append(c.header()).append(" }");
                add.append('\n');
            } else if (l.rules().equals(c.rules())) {
                continue;
            } else {
                flush.append("flush chain ").append(T).append(' ').append(c.name()).append('\n');
            }
            for (String r : c.rules()) rules.append("add rule ").append(T).append(' ').append(c.name()).append(' ').append(r).append('\n');
        }
        for (String c : wanted.counters().keySet()) {
            if (!live.counters().containsKey(c)) add.append("add counter ").append(T).append(' ').append(c).append('\n');
        }
        for (NftState.NftSet s : wanted.sets().values()) {
            NftState.NftSet l = live.sets().get(s.name());
            if (l == null) {
                add.append("add ").append(s.map() ? "map " : "set ").append(T).append(' ').append(s.name())
                        .append(" { ").append(String.join("; ", s.header())).append("; }\n");
                elements(addElems, "add", s.name(), s.elementSet());
                continue;
            }
            // Unchanged maps compare as lists first: a cached render shares the element strings with the last one.
            if (s.unmanaged()) continue;
            // The renderer lists elements in a stable order, so a change to one service leaves a common head
            // and tail (mostly the very same strings): only the middle is compared as sets.
            List<String> a = l.elements();
            List<String> b = s.elements();
            if (a == b) continue;
            int head = 0;
            int max = Math.min(a.size(), b.size());
            while (head < max && same(a.get(head), b.get(head))) head++;
            int tail = 0;
            while (tail < max - head && same(a.get(a.size() - 1 - tail), b.get(b.size() - 1 - tail))) tail++;
            if (head == a.size() && head == b.size()) continue;
            Set<String> want = new java.util.HashSet<>(b.subList(head, b.size() - tail));
            Set<String> have = new java.util.HashSet<>(a.subList(head, a.size() - tail));
            Set<String> gone = new TreeSet<>();
            for (String e : have) if (!want.contains(e)) gone.add(NftState.NftSet.key(e));
            // A changed element is deleted by key and added again; an unchanged key keeps its counter.
            Set<String> fresh = new TreeSet<>();
            for (String e : want) if (!have.contains(e)) fresh.add(e);
            elements(delElems, "delete", s.name(), gone);
            elements(addElems, "add", s.name(), fresh);
        }
        for (NftState.Chain l : live.chains().values()) {
            if (!wanted.chains().containsKey(l.name())) {
                flush.append("flush chain ").append(T).append(' ').append(l.name()).append('\n');
                delete.append("delete chain ").append(T).append(' ').append(l.name()).append('\n');
            }
        }
        for (NftState.NftSet l : live.sets().values()) {
            if (!wanted.sets().containsKey(l.name())) {
                delete.append("delete ").append(l.map() ? "map " : "set ").append(T).append(' ').append(l.name()).append('\n');
            }
        }
        for (String c : live.counters().keySet()) {
            if (!wanted.counters().containsKey(c)) delete.append("delete counter ").append(T).append(' ').append(c).append('\n');
        }
        // Order matters: objects exist before anything refers to them, references go before their targets.
        return Optional.of(add.toString() + delElems + flush + rules + addElems + delete);
    }

    private static boolean same(String x, String y) {
        return x == y || x.equals(y);
    }

    private static void elements(StringBuilder sb, String verb, String set, Set<String> elems) {
        if (elems.isEmpty()) return;
        sb.append(verb).append(" element ").append(T).append(' ').append(set).append(" { ");
        int i = 0;
        for (String e : elems) {
            if (i++ > 0) sb.append(", ");
            sb.append(e);
        }
        sb.append(" }\n");
    }
}
