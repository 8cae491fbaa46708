package io.nflb.dataplane.nft;

import io.nflb.model.Backend;
import io.nflb.model.Firewall;
import io.nflb.plan.Plan;
import io.nflb.plan.ServicePlan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Renders plan after plan for one long-lived writer (the daemon's dataplane), with the same table as
 * {@link NftRenderer#render}, in time proportional to what changed: the services whose plan is not the last one's
 * (the same object, else equal) are rendered again, and the transaction from the last script is derived from their
 * old and new fragments alone (elements by key, chains whose rules differ, shared maps and chains created with their
 * first user and deleted with their last), as {@link NftDiff} of the two whole tables would give it. The whole
 * table is built only when someone asks for it (a full replace, a verification, a preview). A plan whose services
 * and firewall are all unchanged returns the very same script.
 * <p>
 * Any surprise (a duplicate name, two services listening on one key, a renderer error) drops everything kept and
 * renders the plan whole, which reports the error exactly as {@link NftRenderer#render} does.
 */
final class NftRenderCache {

    /** A service as last rendered: its plan, its id and its fragment. */
    private record Entry(ServicePlan plan, long id, NftRenderer.Fragment fragment) {
    }

    private Map<String, Entry> entries = new HashMap<>();
    /** The last plan's services, in its order: most syncs compare them one by one, by identity. */
    private List<ServicePlan> lastServices = List.of();
    private final Map<Long, String> idOwners = new HashMap<>();
    private final Map<String, String> listenOwners = new HashMap<>();
    /** How many services use each set and chain their fragments contribute to (slot maps, shared and own chains). */
    private final Map<String, Integer> setUsers = new HashMap<>();
    private final Map<String, Integer> chainUsers = new HashMap<>();
    /** A masquerade element is written once however many services share the backend: "set element" -> services. */
    private final Map<String, Integer> masqUsers = new HashMap<>();
    /** Services with rules of their own in the prerouting chain (wildcard interfaces), by name. */
    private final TreeMap<String, List<String>> preRules = new TreeMap<>();
    private Optional<Firewall> lastFirewall = Optional.empty();
    private List<Backend> lastProbed = List.of();
    /** What the pair's firewall rules were made from (the peers, the sync link). */
    private Optional<io.nflb.plan.HaTraffic> lastHa = Optional.empty();
    /** The firewall's sets and chains as last rendered. */
    private NftState lastFilter = empty();
    private NftScript last;

    synchronized NftScript render(Plan plan) {
        if (plan.stateless()) {
            // ha mode ecmp: the translation without state is rendered whole (its services are few); nothing is kept.
            reset();
            return NftRenderer.render(plan);
        }
        if (last != null) {
            try {
                NftScript s = renderChanges(plan);
                if (s != null) return s;
            } catch (RuntimeException e) {
                // Whatever went wrong, the whole render below says it the way a render from scratch does.
            }
        }
        try {
            return renderAll(plan);
        } catch (RuntimeException e) {
            reset();
            throw e;
        }
    }

    private void reset() {
        entries = new HashMap<>();
        lastServices = List.of();
        idOwners.clear();
        listenOwners.clear();
        setUsers.clear();
        chainUsers.clear();
        masqUsers.clear();
        preRules.clear();
        lastFirewall = Optional.empty();
        lastProbed = List.of();
        lastHa = Optional.empty();
        lastFilter = empty();
        last = null;
    }

    private NftScript renderAll(Plan plan) {
        reset();
        List<ServicePlan> sorted = sortedByName(plan.services());
        Map<String, Long> ids = NftRenderer.serviceIds(sorted);
        for (ServicePlan sp : sorted) {
            long id = ids.get(sp.name());
            Entry e = new Entry(sp, id, NftRenderer.fragment(sp, id));
            if (listenOwners.putIfAbsent(e.fragment().listenKey(), sp.name()) != null) throw NftRenderer.listensTwice(sp.name());
            idOwners.put(id, sp.name());
            entries.put(sp.name(), e);
            count(e, +1);
        }
        lastServices = plan.services();
        lastFirewall = plan.firewall();
        lastProbed = plan.probed();
        lastHa = plan.ha();
        lastFilter = NftFirewallRenderer.objects(plan);
        last = NftScript.lazy(() -> materialize(plan), null, null);
        return last;
    }

    /** The script for {@code plan} from the services that changed since the last one, or null to render it whole. */
    private NftScript renderChanges(Plan plan) {
        List<ServicePlan> services = plan.services();
        List<ServicePlan> changed = new ArrayList<>();
        List<ServicePlan> added = new ArrayList<>();
        List<String> removed = new ArrayList<>();
        boolean samePlaces = services.size() == lastServices.size();
        for (int i = 0; samePlaces && i < services.size(); i++) {
            ServicePlan now = services.get(i);
            ServicePlan before = lastServices.get(i);
            if (now == before) continue;
            if (!now.name().equals(before.name())) samePlaces = false;
            else if (!now.equals(before)) changed.add(now);
        }
        if (!samePlaces) {
            changed.clear();
            Map<String, ServicePlan> byName = new HashMap<>(services.size() * 2);
            for (ServicePlan sp : services) if (byName.put(sp.name(), sp) != null) return null;
            for (String name : entries.keySet()) if (!byName.containsKey(name)) removed.add(name);
            for (ServicePlan sp : services) {
                Entry e = entries.get(sp.name());
                if (e == null) added.add(sp);
                else if (e.plan() != sp && !e.plan().equals(sp)) changed.add(sp);
            }
        }
        boolean firewallInputs = !plan.firewall().equals(lastFirewall) || !plan.ha().equals(lastHa)
                || (plan.firewall().isPresent() && plan.probed() != lastProbed && !plan.probed().equals(lastProbed));
        if (changed.isEmpty() && added.isEmpty() && removed.isEmpty() && !firewallInputs) {
            lastServices = services;
            return last;
        }

        // Ids: a removed name frees its id, an added one takes its wish; anything that would move another
        // service's id (a collision) renumbers from scratch, as serviceIds does.
        Map<String, Long> newIds = new HashMap<>();
        boolean renumber = false;
        for (String name : removed) {
            long id = entries.get(name).id();
            idOwners.remove(id);
            // A later name that probed past this id would now take it.
            if (idOwners.containsKey(NftRenderer.nextId(id))) renumber = true;
        }
        for (ServicePlan sp : added) {
            long wish = NftRenderer.idWish(sp.name());
            if (renumber || idOwners.containsKey(wish)) {
                renumber = true;
            } else {
                idOwners.put(wish, sp.name());
                newIds.put(sp.name(), wish);
            }
        }
        Map<String, ServicePlan> rerender = new LinkedHashMap<>();
        for (ServicePlan sp : changed) rerender.put(sp.name(), sp);
        if (renumber) {
            Map<String, Long> ids = NftRenderer.serviceIds(sortedByName(services));
            idOwners.clear();
            ids.forEach((name, id) -> idOwners.put(id, name));
            newIds = ids;
            for (ServicePlan sp : services) {
                Entry e = entries.get(sp.name());
                if (e != null && e.id() != ids.get(sp.name())) rerender.putIfAbsent(sp.name(), sp);
            }
        }

        // The fragments before and after: removed and changed services' old ones, added and changed ones' new ones.
        List<Entry> before = new ArrayList<>();
        List<Entry> after = new ArrayList<>();
        for (String name : removed) before.add(entries.get(name));
        for (ServicePlan sp : rerender.values()) {
            Entry old = entries.get(sp.name());
            before.add(old);
            long id = newIds.getOrDefault(sp.name(), old.id());
            after.add(new Entry(sp, id, NftRenderer.fragment(sp, id)));
        }
        for (ServicePlan sp : added) {
            long id = newIds.get(sp.name());
            after.add(new Entry(sp, id, NftRenderer.fragment(sp, id)));
        }
        for (Entry e : before) listenOwners.remove(e.fragment().listenKey());
        for (Entry e : after) {
            if (listenOwners.putIfAbsent(e.fragment().listenKey(), e.plan().name()) != null) return null;
        }

        // What the touched objects were and become: sets and chains the fragments contribute to, the prerouting
        // chain when a wildcard rule moves, the firewall's objects when they depend on what changed.
        Set<String> touchedSets = new LinkedHashSet<>();
        Set<String> touchedChains = new LinkedHashSet<>();
        Map<String, NftState.NftSet> ownSetsBefore = new HashMap<>();
        Map<String, NftState.NftSet> ownSetsAfter = new HashMap<>();
        Map<String, NftState.Chain> chainsBefore = new HashMap<>();
        Map<String, NftState.Chain> chainsAfter = new HashMap<>();
        Map<String, List<String>> elementsBefore = new HashMap<>();
        Map<String, List<String>> elementsAfter = new HashMap<>();
        boolean prerouting = false;
        boolean firewall = firewallInputs;
        for (Entry e : before) {
            collect(e.fragment(), touchedSets, touchedChains, ownSetsBefore, chainsBefore, elementsBefore);
            prerouting |= !e.fragment().preRules().isEmpty();
        }
        for (Entry e : after) {
            collect(e.fragment(), touchedSets, touchedChains, ownSetsAfter, chainsAfter, elementsAfter);
            prerouting |= !e.fragment().preRules().isEmpty();
        }
        firewall |= !added.isEmpty() || !removed.isEmpty();
        for (ServicePlan sp : rerender.values()) firewall |= filterInputChanged(entries.get(sp.name()).plan(), sp);
        if (firewall && !plan.firewall().isPresent() && lastFilter.sets().isEmpty() && lastFilter.chains().isEmpty()) {
            // No firewall before or now: only a limited service changing brings filter objects.
            firewall = false;
            for (Entry e : before) firewall |= e.plan().service().limits().isPresent();
            for (Entry e : after) firewall |= e.plan().service().limits().isPresent();
        }

        Map<String, Integer> setsBefore = counts(setUsers, touchedSets);
        Map<String, Integer> chainsUsedBefore = counts(chainUsers, touchedChains);
        Map<String, Integer> masqBefore = new HashMap<>();
        for (String set : List.of(NftNames.MASQ4, NftNames.MASQ6)) {
            for (String x : elementsBefore.getOrDefault(set, List.of())) masqBefore.put(set + " " + x, masqUsers.getOrDefault(set + " " + x, 0));
            for (String x : elementsAfter.getOrDefault(set, List.of())) masqBefore.put(set + " " + x, masqUsers.getOrDefault(set + " " + x, 0));
        }
        NftState.Chain preBefore = prerouting ? preroutingChain() : null;

        for (Entry e : before) count(e, -1);
        for (Entry e : after) count(e, +1);
        for (String name : removed) entries.remove(name);
        for (Entry e : after) entries.put(e.plan().name(), e);
        NftState.Chain preAfter = prerouting ? preroutingChain() : null;
        NftState filterBefore = lastFilter;
        NftState filterAfter = firewall ? NftFirewallRenderer.objects(plan) : lastFilter;

        NftState old = partial(touchedSets, touchedChains, setsBefore, chainsUsedBefore, masqBefore, false,
                elementsBefore, ownSetsBefore, ownSetsAfter, chainsBefore, chainsAfter, preBefore, filterBefore, firewall);
        NftState now = partial(touchedSets, touchedChains, counts(setUsers, touchedSets), counts(chainUsers, touchedChains),
                masqBefore, true, elementsAfter, ownSetsAfter, ownSetsBefore, chainsAfter, chainsBefore, preAfter, filterAfter, firewall);
        NftChange change = NftDiff.transaction(old, now);

        lastServices = services;
        lastFirewall = plan.firewall();
        lastHa = plan.ha();
        lastProbed = plan.probed();
        lastFilter = filterAfter;
        last = NftScript.lazy(() -> materialize(plan), last, change);
        return last;
    }

    /**
     * The touched objects as they were ({@code after} false) or become: a set or chain exists when it has users
     * (or is one every table has), a shared set's elements are the changed services' own (the others' cancel
     * out in the difference), a masquerade element exists while any service uses it.
     */
    private NftState partial(Set<String> touchedSets, Set<String> touchedChains, Map<String, Integer> setCounts,
                             Map<String, Integer> chainCounts, Map<String, Integer> masqBefore, boolean after,
                             Map<String, List<String>> elements, Map<String, NftState.NftSet> ownSets,
                             Map<String, NftState.NftSet> otherOwnSets, Map<String, NftState.Chain> chains,
                             Map<String, NftState.Chain> otherChains, NftState.Chain prerouting, NftState filter,
                             boolean withFilter) {
        Map<String, NftState.NftSet> sets = new LinkedHashMap<>();
        for (String name : touchedSets) {
            boolean global = NftRenderer.GLOBAL_SETS.contains(name);
            if (!global && setCounts.getOrDefault(name, 0) == 0) continue;
            NftState.NftSet own = ownSets.getOrDefault(name, otherOwnSets.get(name));
            if (own != null) {
                sets.put(name, own);
                continue;
            }
            List<String> mine = elements.getOrDefault(name, List.of());
            if (name.equals(NftNames.MASQ4) || name.equals(NftNames.MASQ6)) {
                List<String> present = new ArrayList<>();
                for (Map.Entry<String, Integer> m : masqBefore.entrySet()) {
                    if (!m.getKey().startsWith(name + " ")) continue;
                    int users = after ? masqUsers.getOrDefault(m.getKey(), 0) : m.getValue();
                    if (users > 0) present.add(m.getKey().substring(name.length() + 1));
                }
                present.sort(null);
                mine = present;
            }
            sets.put(name, NftRenderer.sharedSet(name, mine));
        }
        Map<String, NftState.Chain> out = new LinkedHashMap<>();
        for (String name : touchedChains) {
            if (chainCounts.getOrDefault(name, 0) == 0) continue;
            out.put(name, chains.getOrDefault(name, otherChains.get(name)));
        }
        if (prerouting != null) out.put(NftNames.PREROUTING, prerouting);
        if (withFilter) {
            sets.putAll(filter.sets());
            out.putAll(filter.chains());
        }
        return new NftState(Map.of(), sets, out);
    }

    private static void collect(NftRenderer.Fragment f, Set<String> touchedSets, Set<String> touchedChains,
                                Map<String, NftState.NftSet> ownSets, Map<String, NftState.Chain> chains,
                                Map<String, List<String>> elements) {
        for (Map.Entry<String, List<String>> e : f.elements().entrySet()) {
            touchedSets.add(e.getKey());
            elements.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).addAll(e.getValue());
        }
        for (NftState.NftSet s : f.sets()) {
            touchedSets.add(s.name());
            ownSets.put(s.name(), s);
        }
        for (NftState.Chain c : f.chains()) {
            touchedChains.add(c.name());
            chains.put(c.name(), c);
        }
    }

    /** Counts (or uncounts) a service's uses of shared sets, chains and masquerade elements, and its prerouting rules. */
    private void count(Entry entry, int delta) {
        NftRenderer.Fragment f = entry.fragment();
        for (Map.Entry<String, List<String>> e : f.elements().entrySet()) {
            String set = e.getKey();
            if (NftRenderer.GLOBAL_SETS.contains(set)) {
                if (set.equals(NftNames.MASQ4) || set.equals(NftNames.MASQ6)) {
                    for (String x : e.getValue()) add(masqUsers, set + " " + x, delta);
                }
            } else {
                add(setUsers, set, delta);
            }
        }
        for (NftState.NftSet s : f.sets()) add(setUsers, s.name(), delta);
        for (NftState.Chain c : f.chains()) add(chainUsers, c.name(), delta);
        if (!f.preRules().isEmpty()) {
            if (delta > 0) preRules.put(entry.plan().name(), f.preRules());
            else preRules.remove(entry.plan().name());
        }
    }

    private static void add(Map<String, Integer> counts, String key, int delta) {
        int n = counts.getOrDefault(key, 0) + delta;
        if (n < 0) throw new IllegalStateException("uncounted use of " + key);
        if (n == 0) counts.remove(key);
        else counts.put(key, n);
    }

    private static Map<String, Integer> counts(Map<String, Integer> from, Set<String> keys) {
        Map<String, Integer> out = new HashMap<>();
        for (String k : keys) out.put(k, from.getOrDefault(k, 0));
        return out;
    }

    private NftState.Chain preroutingChain() {
        List<String> rules = new ArrayList<>();
        for (List<String> r : preRules.values()) rules.addAll(r);
        return NftRenderer.baseChains(rules).get(NftNames.PREROUTING);
    }

    /** Whether a change from {@code before} to {@code now} can change the firewall's objects. */
    private static boolean filterInputChanged(ServicePlan before, ServicePlan now) {
        return before.rejects() != now.rejects() || !(before.service() == now.service() || before.service().equals(now.service()));
    }

    /** The whole table of {@code plan}, from the fragments kept where they are still the plan's. */
    private synchronized NftState materialize(Plan plan) {
        List<ServicePlan> sorted = sortedByName(plan.services());
        Map<String, Long> ids = NftRenderer.serviceIds(sorted);
        List<NftRenderer.Fragment> fragments = new ArrayList<>(sorted.size());
        for (ServicePlan sp : sorted) {
            long id = ids.get(sp.name());
            Entry e = entries.get(sp.name());
            fragments.add(e != null && e.id() == id && (e.plan() == sp || e.plan().equals(sp)) ? e.fragment() : NftRenderer.fragment(sp, id));
        }
        return NftRenderer.assemble(plan, sorted, fragments);
    }

    private static List<ServicePlan> sortedByName(List<ServicePlan> services) {
        List<ServicePlan> sorted = new ArrayList<>(services);
        sorted.sort(Comparator.comparing(ServicePlan::name));
        return sorted;
    }

    private static NftState empty() {
        return new NftState(Map.of(), Map.of(), Map.of());
    }
}
