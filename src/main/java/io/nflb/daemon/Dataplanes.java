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
            // auto stays on iptables until the nftables backend covers every config (interface-only, IPv6, affinity).
            case IPTABLES, AUTO -> new IptablesDataplane(exec);
            case NFTABLES -> new NftDataplane(exec);
        };
    }

    /** Every kernel interface nflb can use here, for commands that work without a config (status, flush). */
    public static List<Dataplane> all(Exec exec) {
        List<Dataplane> all = new java.util.ArrayList<>(List.of(new IptablesDataplane(exec)));
        if (io.nflb.kernel.Tools.has("nft")) all.add(new NftDataplane(exec));
        return all;
    }
}
