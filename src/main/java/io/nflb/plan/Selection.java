package io.nflb.plan;

import java.util.List;

/** How a service picks a backend for a new connection, independent of the rule language. */
public sealed interface Selection {

    /**
     * Independent draws tried in order: rule i takes {@code conditional.get(i)} of what reaches it,
     * which is w_i / (w_i + ... + w_n); the last entry is always exactly 1 (an unconditional rule).
     */
    record Random(List<Rational> conditional) implements Selection {
        public Random {
            conditional = List.copyOf(conditional);
        }
    }

    /** An exact repeating cycle: new connection k goes to backend {@code slots.get(k % slots.size())}. */
    record Cycle(List<Integer> slots) implements Selection {
        public Cycle {
            slots = List.copyOf(slots);
        }
    }

    /**
     * A stateless lookup table indexed by a hash of the client's address and port: entry i names the
     * backend for hash value i. Built by {@link MaglevTable}, identical on every router with the same config.
     */
    record Maglev(List<Integer> table) implements Selection {
        public Maglev {
            table = List.copyOf(table);
        }
    }
}
