package io.nflb.daemon;

import io.nflb.kernel.Exec;
import io.nflb.model.BackendKind;

import java.util.List;

/** Picks the kernel interface a config asks for. */
public final class Dataplanes {

    private Dataplanes() {
    }

    public static Dataplane forKind(BackendKind kind, Exec exec) {
        return switch (kind) {
            case IPTABLES, AUTO -> new IptablesDataplane(exec);
            case NFTABLES -> throw new IllegalStateException("the nftables backend is not available in this build");
        };
    }

    /** Every kernel interface nflb can use here, for commands that work without a config (status, flush). */
    public static List<Dataplane> all(Exec exec) {
        return List.of(new IptablesDataplane(exec));
    }
}
