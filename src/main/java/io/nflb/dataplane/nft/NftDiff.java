package io.nflb.dataplane.nft;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The smallest nft transaction that turns one state of table inet nflb into another: new objects, changed
 * chains flushed and refilled, map elements deleted and added one by one. {@link NftChange#REPLACE_WHOLE} when a
 * declaration changed (a base chain's hook or a set's type cannot be edited in place): the caller then replaces
 * the table. Only the objects the two states hold are compared, so two partial states (the objects one changed
 * service touches, before and after) give the same transaction as the two whole tables.
 */
final class NftDiff {

    private NftDiff() {
    }

    static NftChange transaction(NftState live, NftState wanted) {
        for (NftState.Chain c : wanted.chains().values()) {
            NftState.Chain l = live.chains().get(c.name());
            if (l != null && !l.header().equals(c.header())) return NftChange.REPLACE_WHOLE;
        }
        for (NftState.NftSet s : wanted.sets().values()) {
            NftState.NftSet l = live.sets().get(s.name());
            if (l != null && (l.map() != s.map() || !l.header().equals(s.header()))) return NftChange.REPLACE_WHOLE;
        }
        TreeMap<String, NftState.Chain> newChains = new TreeMap<>();
        TreeMap<String, NftState.Chain> rewritten = new TreeMap<>();
        TreeSet<String> flushed = new TreeSet<>();
        for (NftState.Chain c : wanted.chains().values()) {
            NftState.Chain l = live.chains().get(c.name());
            if (l == null) {
                newChains.put(c.name(), c);
            } else if (l.rules().equals(c.rules())) {
                continue;
            } else {
                flushed.add(c.name());
            }
            if (!c.rules().isEmpty()) rewritten.put(c.name(), c);
        }
        TreeSet<String> newCounters = new TreeSet<>();
        for (String c : wanted.counters().keySet()) if (!live.counters().containsKey(c)) newCounters.add(c);
        TreeMap<String, NftState.NftSet> newSets = new TreeMap<>();
        TreeMap<String, NftChange.Elements> added = new TreeMap<>();
        TreeMap<String, NftChange.Elements> deleted = new TreeMap<>();
        for (NftState.NftSet s : wanted.sets().values()) {
            NftState.NftSet l = live.sets().get(s.name());
            if (l == null) {
                newSets.put(s.name(), s);
                Set<String> fresh = new TreeSet<>(s.elementSet());
                if (!fresh.isEmpty()) added.put(s.name(), new NftChange.Elements(s.name(), s.header(), new ArrayList<>(fresh)));
                continue;
            }
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
            Set<String> want = new HashSet<>(b.subList(head, b.size() - tail));
            Set<String> have = new HashSet<>(a.subList(head, a.size() - tail));
            Set<String> gone = new TreeSet<>();
            for (String e : have) if (!want.contains(e)) gone.add(NftState.NftSet.key(e));
            // A changed element is deleted by key and added again; an unchanged key keeps its counter.
            Set<String> fresh = new TreeSet<>();
            for (String e : want) if (!have.contains(e)) fresh.add(e);
            if (!gone.isEmpty()) deleted.put(s.name(), new NftChange.Elements(s.name(), s.header(), new ArrayList<>(gone)));
            if (!fresh.isEmpty()) added.put(s.name(), new NftChange.Elements(s.name(), s.header(), new ArrayList<>(fresh)));
        }
        TreeSet<String> deletedChains = new TreeSet<>();
        for (NftState.Chain l : live.chains().values()) if (!wanted.chains().containsKey(l.name())) deletedChains.add(l.name());
        TreeMap<String, NftState.NftSet> deletedSets = new TreeMap<>();
        for (NftState.NftSet l : live.sets().values()) if (!wanted.sets().containsKey(l.name())) deletedSets.put(l.name(), l);
        TreeSet<String> deletedCounters = new TreeSet<>();
        for (String c : live.counters().keySet()) if (!wanted.counters().containsKey(c)) deletedCounters.add(c);
        return new NftChange(List.copyOf(newChains.values()), List.copyOf(newSets.values()), List.copyOf(newCounters),
                List.copyOf(deleted.values()), List.copyOf(flushed), List.copyOf(rewritten.values()), List.copyOf(added.values()),
                List.copyOf(deletedChains), List.copyOf(deletedSets.values()), List.copyOf(deletedCounters));
    }

    private static boolean same(String x, String y) {
        return x == y || x.equals(y);
    }
}
