package io.nflb.explain;

import io.nflb.plan.Rational;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Where new connections of one kind go, over one whole period of the rules' nth counters: {@code shares}
 * sum to 1; {@code perConnection.get(k)} is the distribution of connection k of each period (connection 0
 * being the first after the rules were loaded). {@code exact} is false when an nth rule was reached by a
 * random fraction of connections, where only its long-run rate (1/every) was used; {@code notes} say why,
 * and which matches were not understood and assumed to match.
 */
public record Distribution(Map<Outcome, Rational> shares, int period, List<Map<Outcome, Rational>> perConnection,
                           boolean exact, List<String> notes) {

    public Distribution {
        shares = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(shares));
        perConnection = List.copyOf(perConnection);
        notes = List.copyOf(notes);
    }

    public Rational share(Outcome outcome) {
        return shares.getOrDefault(outcome, Rational.ZERO);
    }

    public Rational dnatShare(String endpoint) {
        return share(Outcome.dnat(endpoint));
    }

    /** The outcome of each connection of a period, when none of them involves chance. */
    public Optional<List<Outcome>> cycle() {
        List<Outcome> cycle = new ArrayList<>(perConnection.size());
        for (Map<Outcome, Rational> c : perConnection) {
            if (c.size() != 1 || !c.values().iterator().next().equals(Rational.ONE)) return Optional.empty();
            cycle.add(c.keySet().iterator().next());
        }
        return Optional.of(cycle);
    }

    /** How many of the first {@code n} connections end in each outcome; only when there is an exact cycle. */
    public Map<Outcome, Integer> firstConnections(int n) {
        List<Outcome> cycle = cycle().orElseThrow(() -> new IllegalStateException("connections are not deterministic"));
        Map<Outcome, Integer> counts = new LinkedHashMap<>();
        for (int k = 0; k < n; k++) counts.merge(cycle.get(k % cycle.size()), 1, Integer::sum);
        return counts;
    }
}
