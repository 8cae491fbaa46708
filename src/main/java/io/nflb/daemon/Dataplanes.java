package io.nflb.daemon;

import io.nflb.kernel.Exec;
import io.nflb.model.BackendKind;

import java.util.List;

/** Picks the kernel interface a config asks for. */
public final class Dataplanes {

    private Dataplanes() {
    }

    /** A table nft must accept (checked only, {@code -c}: nothing is loaded) for auto to choose nftables. */
    static final String PROBE = "table inet nflb_probe {\n\tmap m {\n\t\ttypeof ip daddr . tcp dport . numgen inc mod 2 : ip daddr . tcp dport\n"
            + "\t\tcounter\n\t}\n\tchain c {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
            + "\t\tdnat ip to ip daddr . tcp dport . numgen inc mod 2 map @m\n\t}\n}\n";

    public static Dataplane forKind(BackendKind kind, Exec exec) {
        return resolve(kind, exec) == BackendKind.NFTABLES ? new NftDataplane(exec) : new IptablesDataplane(exec);
    }

    /** The backend {@code kind} means here: auto becomes nftables when nft works in {@code exec}'s namespace. */
    public static BackendKind resolve(BackendKind kind, Exec exec) {
        if (kind != BackendKind.AUTO) return kind;
        return nftWorks(exec) ? BackendKind.NFTABLES : BackendKind.IPTABLES;
    }

    /**
     * Whether nft runs here (in {@code exec}'s namespace) and would load the kind of table nflb writes: a
     * missing binary, an old nft, or a kernel without nf_tables, nat or set counters all answer no.
     */
    public static boolean nftWorks(Exec exec) {
        try {
            if (!exec.run(List.of("nft", "--version"), null, java.time.Duration.ofSeconds(5)).ok()) return false;
            return exec.run(List.of("nft", "-c", "-f", "/dev/stdin"), PROBE, java.time.Duration.ofSeconds(5)).ok();
        } catch (Exec.ExecException e) {
            return false;
        }
    }

    /** Every kernel interface nflb can use here, for commands that work without a config (status, flush). */
    public static List<Dataplane> all(Exec exec) {
        List<Dataplane> all = new java.util.ArrayList<>(List.of(new IptablesDataplane(exec)));
        if (io.nflb.kernel.Tools.has("nft")) all.add(new NftDataplane(exec));
        return all;
    }
}
