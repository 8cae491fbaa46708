package io.nflb.dataplane;

import io.nflb.dataplane.iptables.IptablesBridge;
import io.nflb.dataplane.iptables.IptablesDataplane;
import io.nflb.dataplane.iptables.IptablesNeighbours;
import io.nflb.dataplane.iptables.IptablesTool;
import io.nflb.dataplane.nft.NftDataplane;
import io.nflb.dataplane.nft.NftNeighbours;
import io.nflb.dataplane.nft.NftTool;
import io.nflb.host.Exec;
import io.nflb.host.Tools;
import io.nflb.model.BackendKind;
import io.nflb.model.Config;
import io.nflb.model.IpAddress.Family;
import io.nflb.plan.Neighbourhood;

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

    /**
     * The machine's tools. Each language's dataplane is given what the other language shows of the neighbours
     * (a Docker writing iptables next to nflb's nftables table, and the other way round), and the nftables one
     * its pass through an iptables FORWARD policy DROP.
     */
    public static final Dataplanes REAL = new Dataplanes(
            exec -> new IptablesDataplane(exec, nftNeighbours(exec)),
            exec -> new NftDataplane(exec, iptablesNeighbours(exec), Tools.has("iptables-restore") ? new IptablesBridge(exec) : ForwardBridge.NONE),
            Dataplanes::nftWorks, Dataplanes::flowtablesWork);

    /** What nftables shows of the neighbours where {@code exec} runs; nothing where nft is missing. */
    static NeighbourReader nftNeighbours(Exec exec) {
        if (!Tools.has("nft")) return NeighbourReader.NONE;
        NftTool tool = NftTool.of(exec);
        return ((NeighbourReader) () -> NftNeighbours.read(tool.listOtherTables())).cached(System::nanoTime);
    }

    /** What iptables (both families, where installed) shows of the neighbours where {@code exec} runs. */
    static NeighbourReader iptablesNeighbours(Exec exec) {
        if (!Tools.has("iptables-save")) return NeighbourReader.NONE;
        return ((NeighbourReader) () -> {
            Neighbourhood n = IptablesNeighbours.read(Family.V4, IptablesTool.of(exec, Family.V4).save(false));
            if (Tools.has("ip6tables-save")) n = n.merge(IptablesNeighbours.read(Family.V6, IptablesTool.of(exec, Family.V6).save(false)));
            return n;
        }).cached(System::nanoTime);
    }

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
        return Optional.of("fastpath: true: this kernel has flowtables, but nflb does not render them yet (it has not"
                + " been able to test them with real connections); nothing was applied. Set fastpath: false");
    }

    /** Whether nft runs where {@code exec} runs and the kernel there takes a flowtable ({@link #FLOWTABLE_PROBE}, checked only). */
    public static boolean flowtablesWork(Exec exec) {
        try {
            return exec.run(List.of("nft", "-c", "-f", "/dev/stdin"), FLOWTABLE_PROBE, Duration.ofSeconds(5)).ok();
        } catch (Exec.ExecException e) {
            return false;
        }
    }

    /**
     * These dataplanes, each one made also handed to {@code opened}: a command closes what it opened when it ends
     * (a long-lived {@code nft -i}), so commands run one after another in one JVM (tests) do not pile them up.
     */
    public Dataplanes recording(java.util.function.Consumer<Dataplane> opened) {
        return new Dataplanes(exec -> record(iptables.apply(exec), opened), exec -> record(nftables.apply(exec), opened),
                nftWorks, flowtablesWork);
    }

    private static Dataplane record(Dataplane dp, java.util.function.Consumer<Dataplane> opened) {
        opened.accept(dp);
        return dp;
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

    /** The hold of a router of a VRRP pair, where {@code exec} runs (nftables whatever the services' language). */
    public static HaHold hold(Exec exec) {
        return new io.nflb.dataplane.nft.NftHold(exec);
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
