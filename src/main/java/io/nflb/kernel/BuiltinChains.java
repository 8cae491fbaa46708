package io.nflb.kernel;

import java.util.List;
import java.util.Map;

/** The xtables tables nflb may write to and their built-in chains, in the order iptables-save prints them. */
final class BuiltinChains {

    static final Map<String, List<String>> BY_TABLE = Map.of(
            "raw", List.of("PREROUTING", "OUTPUT"),
            "mangle", List.of("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
            "nat", List.of("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
            "filter", List.of("INPUT", "FORWARD", "OUTPUT"),
            "security", List.of("INPUT", "FORWARD", "OUTPUT"));

    private BuiltinChains() {
    }

    static boolean isBuiltin(String table, String chain) {
        return BY_TABLE.getOrDefault(table, List.of()).contains(chain);
    }
}
