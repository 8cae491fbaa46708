package io.nflb.dataplane.iptables;

import java.util.Optional;

/** One of nflb's rules (in its own chains, or a jump into them) with what it has matched. */
record RuleCounters(String table, String chain, String rule, Optional<String> comment, long packets, long bytes) {
}
