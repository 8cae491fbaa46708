package io.nflb.dataplane;

import io.nflb.dataplane.iptables.IptablesDataplane;
import io.nflb.dataplane.nft.NftDataplane;
import io.nflb.host.Exec;
import io.nflb.host.Tools;
import io.nflb.model.BackendKind;
import io.nflb.model.Config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Picks the rule language a config asks for, and makes its dataplane. The one place that knows which
 * languages exist: everything else asks here. {@link #REAL} runs the machine's tools; tests make one over
 * in-memory tools, so the CLI and the daemon are tested against both languages without a kernel.
 */
public final class Dataplanes {

    /** A table nft must accept (checked only, {@code -c}: nothing is loaded) for auto to choose nftables. */
    static final String PROBE = "table inet nflb_probe {\n\tmap m {\n\t\ttypeof ip daddr . tcp dport . numgen inc mod 2 : ip daddr . tcp dport\n"
            + "\t\tcounter\n\t}\n\tchain c {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
            + "\t\tdnat ip to ip daddr . tcp dport . numgen inc mod 2 map @m\n\t}\n}\n";

    /**
     * A flowtable, checked only: nft accepts it where the kernel can offload established flows (nf_flow_table,
     * CONFIG_NF_FLOW_TABLE); elsewhere it answers "No such file or directory".
     */
    static final String FLOWTABLE_PROBE = "table inet nflb_probe {\n\tflowtable ft {\n\t\thook ingress priority filter\n"
            + "\t\tdevices = { lo }\n\t}\n}\n";

    public static final Dataplanes REAL = new Dataplanes(IptablesDataplane::new, NftDataplane::new, Dataplanes::nftWorks,
            Dataplanes::flowtablesWork);

    private final Function<Exec, Dataplane> iptables;
    private final Function<Exec, Dataplane> nftables;
    private final Predicate<Exec> nftWorks;
    private final Predicate<Exec> flowtablesWork;

    /** {@code nftWorks}: whether auto means nftables where an Exec runs; no flowtables anywhere. */
    public Dataplanes(Function<Exec, Dataplane> iptables, Function<Exec, Dataplane> nftables, Predicate<Exec> nftWorks) {
        this(iptables, nftables, nftWorks, e -> false);
    }

    /** {@code flowtablesWork}: whether the kernel where an Exec runs has flowtables. */
    public Dataplanes(Function<Exec, Dataplane> iptables, Function<Exec, Dataplane> nftables, Predicate<Exec> nftWorks,
                      Predicate<Exec> flowtablesWork) {
        this.iptables = iptables;
        this.nftables = nftables;
        this.nftWorks = nftWorks;
        this.flowtablesWork = flowtablesWork;
    }

    /**
     * Why {@code config} cannot run where {@code exec} runs although it is valid: {@code fastpath: true} needs
     * flowtables, probed once here. Empty when the config does not ask for the fast path. Called before anything
     * is applied, so a refusal changes nothing.
     */
    public Optional<String> fastpathRefusal(Config config, Exec exec) {
        if (!config.fastpath()) return Optional.empty();
        if (!flowtablesWork.test(exec)) {
            return Optional.of("fastpath: true needs flowtables, and this kernel has none (nf_flow_table: CONFIG_NF_FLOW_TABLE"
                    + " and the nft_flow_offload module); nothing was applied. Set fastpath: false, or run on a kernel built with them");
        }
        return Optional.of("fastpath: true: this kernel has flowtables, but nflb does not render them yet (issue 14: offloading is"
                + " future work); nothing was applied. Set fastpath: false");
    }

    /** Whether nft runs where {@code exec} runs and the kernel there takes a flowtable ({@link #FLOWTABLE_PROBE}, checked only). */
    public static boolean flowtablesWork(Exec exec) {
        try {
            return exec.run(List.of("nft", "-c", "-f", "/dev/stdin"), FLOWTABLE_PROBE, Duration.ofSeconds(5)).ok();
        } catch (Exec.ExecException e) {
            return false;
        }
    }

    public Dataplane forKind(BackendKind kind, Exec exec) {
        return resolve(kind, exec) == BackendKind.NFTABLES ? nftables.apply(exec) : iptables.apply(exec);
    }

    /** The backend {@code kind} means here: auto becomes nftables when nft works in {@code exec}'s namespace. */
    public BackendKind resolve(BackendKind kind, Exec exec) {
        if (kind != BackendKind.AUTO) return kind;
        return nftWorks.test(exec) ? BackendKind.NFTABLES : BackendKind.IPTABLES;
    }

    /** Every rule language nflb can use here, for commands that work without a config (status, flush). */
    public List<Dataplane> all(Exec exec) {
        List<Dataplane> all = new ArrayList<>(List.of(iptables.apply(exec)));
        if (Tools.has("nft")) all.add(nftables.apply(exec));
        return all;
    }

    /** The one with this {@link Dataplane#name()} ("iptables", "nftables"), as a generation records it. */
    public Dataplane named(String name, Exec exec) {
        if (name.equals("iptables")) return iptables.apply(exec);
        if (name.equals("nftables")) return nftables.apply(exec);
        throw new IllegalArgumentException("no dataplane is called " + name);
    }

    /**
     * Whether nft runs here (in {@code exec}'s namespace) and would load the kind of table nflb writes: a
     * missing binary, an old nft, or a kernel without nf_tables, nat or set counters all answer no.
     */
    /**
     * What the rule languages the config may use would refuse although it is valid (see {@link
     * io.nflb.model.Refusal}); validate, apply and run report these like any other config error. With
     * {@code backend: auto} iptables' limits count too: the machine decides, later, which one it gets.
     */
    public static List<io.nflb.model.Refusal> refusals(io.nflb.model.Config config) {
        if (config.backend() == BackendKind.NFTABLES) return List.of();
        return IptablesDataplane.refusals(config);
    }

    public static boolean nftWorks(Exec exec) {
        try {
            if (!exec.run(List.of("nft", "--version"), null, Duration.ofSeconds(5)).ok()) return false;
            return exec.run(List.of("nft", "-c", "-f", "/dev/stdin"), PROBE, Duration.ofSeconds(5)).ok();
        } catch (Exec.ExecException e) {
            return false;
        }
    }
}
