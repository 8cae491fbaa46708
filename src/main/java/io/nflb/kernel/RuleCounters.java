package io.nflb.kernel;

import java.util.Optional;

/** One of nflb's rules (in its own chains, or a jump into them) with what it has matched. */
public record RuleCounters(String table, String chain, String rule, Optional<String> comment, long packets, long bytes) {
}
