package io.nflb.lab;

import io.nflb.model.BackendKind;
import io.nflb.model.Scheduler;

import java.util.List;

/**
 * One lab run. {@code prefix} names the namespaces: "nflb-lab-" for the user's lab (so {@code nflb lab down}
 * finds it), a unique "nflb-t-..." one in tests.
 */
public record LabOptions(int servers, List<Integer> weights, Scheduler scheduler, BackendKind backend,
                         int connections, boolean seedRules, boolean keep, String prefix) {

    public static final String USER_PREFIX = "nflb-lab-";

    public LabOptions {
        weights = List.copyOf(weights);
        if (weights.size() != servers) {
            throw new IllegalArgumentException("--weights needs one weight per server (" + servers + "), got " + weights.size());
        }
        if (connections < 1 || connections > 100_000) throw new IllegalArgumentException("connections must be 1..100000");
        if (scheduler == Scheduler.MAGLEV && backend != BackendKind.NFTABLES) {
            throw new IllegalArgumentException("--scheduler maglev needs --backend nftables");
        }
        if (!prefix.startsWith("nflb")) throw new IllegalArgumentException("lab namespaces must start with nflb");
    }
}
