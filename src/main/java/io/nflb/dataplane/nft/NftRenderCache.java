package io.nflb.dataplane.nft;

import io.nflb.plan.Plan;
import io.nflb.plan.ServicePlan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders plan after plan for one long-lived writer (the daemon's dataplane), with the same result as
 * {@link NftRenderer#render}: a service whose plan equals last time's keeps its fragment, and a plan whose
 * services and firewall are all unchanged returns the very same script. A sync at 10,000 services then renders
 * only the services that changed. (Equal plans are often the same object, which makes the check cheap.)
 */
final class NftRenderCache {

    private record Cached(ServicePlan plan, NftRenderer.Fragment fragment) {
    }

    private Map<String, Cached> memo = new HashMap<>();
    private List<NftRenderer.Fragment> lastFragments = List.of();
    private List<String> lastNames = List.of();
    private Map<String, Long> lastIds = Map.of();
    /** The sort by name of the last input, reused while the same names come in the same places. */
    private int[] lastOrder = new int[0];
    private List<String> lastInputNames = List.of();
    private NftScript lastScript;
    /** The firewall part of the last plan: a change there alone must not return the cached script. */
    private List<Object> lastFirewall = List.of();

    synchronized NftScript render(Plan plan) {
        List<ServicePlan> services = sortedByName(plan.services());
        List<String> names = new ArrayList<>(services.size());
        for (ServicePlan sp : services) names.add(sp.name());
        Map<String, Long> ids = names.equals(lastNames) ? lastIds : NftRenderer.serviceIds(services);
        lastNames = names;
        lastIds = ids;

        List<NftRenderer.Fragment> fragments = new ArrayList<>(services.size());
        Map<String, Cached> nextMemo = new HashMap<>(services.size() * 2);
        List<Object> firewall = List.of(plan.firewall(), plan.probed(), plan.ha(), plan.stateless());
        boolean same = lastScript != null && services.size() == lastFragments.size() && firewall.equals(lastFirewall);
        for (int i = 0; i < services.size(); i++) {
            ServicePlan sp = services.get(i);
            long id = ids.get(sp.name());
            Cached c = memo.get(sp.name());
            NftRenderer.Fragment f = c != null && c.fragment().id() == id && (c.plan() == sp || c.plan().equals(sp))
                    ? c.fragment() : NftRenderer.fragment(sp, id);
            nextMemo.put(sp.name(), new Cached(sp, f));
            same = same && lastFragments.get(i) == f;
            fragments.add(f);
        }
        memo = nextMemo;
        if (same) return lastScript;
        NftScript script = NftRenderer.assemble(plan, services, fragments);
        lastFragments = fragments;
        lastScript = script;
        lastFirewall = firewall;
        return script;
    }

    /** The plan's services by name; the same names in the same places as last time reuse last time's order. */
    private List<ServicePlan> sortedByName(List<ServicePlan> input) {
        int n = input.size();
        boolean sameOrder = lastOrder.length == n && lastInputNames.size() == n;
        for (int i = 0; sameOrder && i < n; i++) {
            String a = input.get(i).name();
            String b = lastInputNames.get(i);
            sameOrder = a == b || a.equals(b);
        }
        List<ServicePlan> out = new ArrayList<>(n);
        if (sameOrder) {
            for (int i : lastOrder) out.add(input.get(i));
            return out;
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        java.util.Arrays.sort(order, Comparator.comparing(i -> input.get(i).name()));
        for (int i : order) out.add(input.get(i));
        lastOrder = java.util.Arrays.stream(order).mapToInt(Integer::intValue).toArray();
        lastInputNames = input.stream().map(ServicePlan::name).toList();
        return out;
    }
}
