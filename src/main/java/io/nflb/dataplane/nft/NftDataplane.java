package io.nflb.dataplane.nft;

import io.nflb.dataplane.Dataplane;
import io.nflb.dataplane.ForwardBridge;
import io.nflb.dataplane.NeighbourReader;
import io.nflb.explain.ShareReport;
import io.nflb.host.Exec;
import io.nflb.host.Forwarding;
import io.nflb.model.Service;
import io.nflb.plan.Neighbourhood;
import io.nflb.plan.Plan;
import io.nflb.state.UnifiedDiff;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;

/** nflb on nftables: its own table, changed by difference where it can, replaced whole where it must. */
public final class NftDataplane implements Dataplane {

    private final NftKernel kernel;
    private final NftTool tool;
    /** Where the tools run; null over a given tool (tests), where there is no machine to configure. */
    private final Exec exec;
    private final NftRenderCache renderer = new NftRenderCache();
    /** What iptables shows of the neighbours. */
    private final NeighbourReader others;
    private final ForwardBridge bridge;
    /** The neighbours as apply reads them: at most once per {@link NeighbourReader#FRESH_FOR}. */
    private final NeighbourReader forApply;
    /** The script {@link #plan} rendered last, and for which plan: an apply of that very plan sends it. */
    private NftScript planned;
    private Plan plannedFor;
    private String assumedRules;
    private String assumedMark;

    /** How partial syncs reach the kernel: nft's text through a long-lived {@code nft -i}, or netlink (else nft). */
    public enum Writes {
        NFT, NETLINK;

        /**
         * What the environment asks for: {@code NFLB_NFT_WRITES=nft} sends partial syncs through nft itself,
         * for a kernel whose netlink answers nflb does not expect (it falls back by itself too, and says so).
         */
        public static Writes fromEnvironment() {
            return "nft".equals(System.getenv("NFLB_NFT_WRITES")) ? NFT : NETLINK;
        }
    }

    public NftDataplane(Exec exec) {
        this(NftTool.of(exec), exec, Writes.fromEnvironment(), NeighbourReader.NONE, ForwardBridge.NONE);
    }

    /** With partial syncs written one way (benchmarks compare them). */
    public NftDataplane(Exec exec, Writes writes) {
        this(NftTool.of(exec), exec, writes, NeighbourReader.NONE, ForwardBridge.NONE);
    }

    /**
     * {@code others}: the neighbours in iptables; {@code bridge}: nflb's pass through an iptables FORWARD
     * policy DROP, which a packet must pass as well as nflb's table.
     */
    public NftDataplane(Exec exec, NeighbourReader others, ForwardBridge bridge) {
        this(NftTool.of(exec), exec, Writes.fromEnvironment(), others, bridge);
    }

    /** Over a given tool, e.g. the tests' in-memory one. */
    public NftDataplane(NftTool tool) {
        this(tool, null, Writes.NETLINK, NeighbourReader.NONE, ForwardBridge.NONE);
    }

    public NftDataplane(NftTool tool, NeighbourReader others, ForwardBridge bridge) {
        this(tool, null, Writes.NETLINK, others, bridge);
    }

    private NftDataplane(NftTool tool, Exec exec, Writes writes, NeighbourReader others, ForwardBridge bridge) {
        this.kernel = new NftKernel(tool, writes == Writes.NFT ? new NftWriter.Text(tool) : new NftNetlinkWriter(tool));
        this.tool = tool;
        this.exec = exec;
        this.others = others;
        this.bridge = bridge;
        this.forApply = ((NeighbourReader) this::neighbours).cached(System::nanoTime);
    }

    @Override
    public Neighbourhood neighbours() {
        Neighbourhood n = NftNeighbours.read(tool.listOtherTables()).merge(others.read());
        n = NeighbourReader.podNetworksFromRoutes(n, exec);
        if (!n.forwardDrop().isEmpty()) {
            List<String> tools = n.forwardDrop().stream().sorted().map(f -> f == io.nflb.model.IpAddress.Family.V4 ? "iptables" : "ip6tables").toList();
            n = n.withNotes(List.of(String.join(" and ", tools) + " FORWARD policy DROP drops what no iptables rule accepts, whatever"
                    + " nflb's table accepts: nflb keeps chain NFLB-PASS there, accepting only its own balanced and forward: traffic"));
        }
        return n;
    }

    private Plan withNeighbours(Plan plan, NeighbourReader reader) {
        return plan.neighbours().read() || plan.firewall().isEmpty() ? plan : plan.withNeighbours(reader.read());
    }

    @Override
    public String name() {
        return "nftables";
    }

    @Override
    public synchronized String plan(Plan plan, boolean live) {
        // The full replace is what an apply sends when the table is missing or not nflb's last write. Kept: an
        // apply of this very plan next (the command line's) sends this script instead of rendering it again.
        if (live) plan = withNeighbours(plan, this::neighbours);
        planned = NftRenderer.render(plan);
        plannedFor = plan;
        return planned.fullReplace() + (live ? bridge.plan(plan) : "");
    }

    /** The generation token this dataplane last wrote or found in set gen. */
    @Override
    public Optional<String> mark() {
        return kernel.token();
    }

    @Override
    public synchronized void assume(String rules, String mark) {
        assumedRules = rules;
        assumedMark = mark;
    }

    @Override
    public synchronized Outcome apply(Plan plan) {
        long start = System.nanoTime();
        plan = withNeighbours(plan, forApply);
        NftScript wanted = plan == plannedFor ? planned : renderer.render(plan);
        planned = null;
        plannedFor = null;
        if (assumedRules != null) {
            // Unchanged rules: the rendered script itself stands for what the kernel has, nothing is compared.
            Optional<NftScript> before = wanted.fullReplace().equals(assumedRules) ? Optional.of(wanted) : NftScript.ofFullReplace(assumedRules);
            before.ifPresent(b -> kernel.assume(b, assumedMark));
            assumedRules = null;
            assumedMark = null;
        }
        // The pass through iptables first: when the table is then refused, it is put back as it was.
        ForwardBridge.Change pass = bridge.apply(plan);
        NftKernel.NftTransaction r;
        try {
            // The first apply reads the table back; the others send the difference from the last write, guarded by the
            // generation token. Reading back on a timer is the daemon's verify, beside the syncs, never inside one.
            r = kernel.trusting() ? kernel.update(wanted) : kernel.apply(wanted);
        } catch (RuntimeException e) {
            pass.undo().run();
            throw e;
        }
        String how = !r.changed() ? "already up to date" : r.incremental() ? "changed by difference" : "table replaced";
        return new Outcome(r.changed() || pass.changed(), r.text() + pass.sent(), "nftables: " + how + " (" + r.reason() + ") in "
                + (System.nanoTime() - start) / 1_000_000 + " ms" + (pass.summary().isEmpty() ? "" : "; " + pass.summary()));
    }

    /**
     * A verified apply: the table is listed; a missing, foreign-edited or different one is put right, and so is
     * the pass through iptables (a neighbour that restarted may have put its jumps before nflb's).
     */
    @Override
    public synchronized Outcome verify(Plan plan) {
        long start = System.nanoTime();
        Plan p = withNeighbours(plan, this::neighbours);
        return verified(p, kernel.apply(renderer.render(p)), start);
    }

    /** Lists the table and compares it with the last write, without holding this dataplane: syncs go on meanwhile. */
    @Override
    public Optional<ReadBack> readBack() {
        return Optional.ofNullable(kernel.readBack());
    }

    @Override
    public synchronized Optional<Outcome> verify(Plan plan, ReadBack read) {
        long start = System.nanoTime();
        NftKernel.Listing listing = read instanceof NftKernel.Listing l ? l : null;
        Plan p = withNeighbours(plan, this::neighbours);
        return kernel.verify(renderer.render(p), listing).map(r -> verified(p, r, start));
    }

    private Outcome verified(Plan plan, NftKernel.NftTransaction r, long start) {
        ForwardBridge.Change pass = bridge.apply(plan);
        String how = !r.changed() ? "as wanted" : r.incremental() ? "repaired by difference" : "table replaced";
        return new Outcome(r.changed() || pass.changed(), r.text() + pass.sent(), "nftables: " + how
                + (r.reason().isEmpty() ? "" : " (" + r.reason() + ")") + " in " + (System.nanoTime() - start) / 1_000_000 + " ms"
                + (pass.summary().isEmpty() ? "" : "; " + pass.summary()));
    }

    @Override
    public List<String> enableForwarding(List<Service> services) {
        return exec == null ? List.of() : Forwarding.ensureFor(exec, services);
    }

    @Override
    public Outcome flush() {
        boolean had = installed();
        kernel.flush();
        ForwardBridge.Change pass = bridge.flush();
        String summary = had ? "nftables: table " + NftNames.QUALIFIED + " deleted" : "nftables: nothing of nflb's installed";
        return new Outcome(had || pass.changed(), (had ? "delete table " + NftNames.QUALIFIED + "\n" : "") + pass.sent(),
                summary + (pass.summary().isEmpty() ? "" : "; " + pass.summary()));
    }

    @Override
    public boolean installed() {
        return kernel.exists();
    }

    @Override
    public String diff(Plan plan, String source) {
        plan = withNeighbours(plan, this::neighbours);
        String live = kernel.read().map(NftDataplane::sorted).map(NftState::toText).orElse("");
        String wanted = sorted(NftRenderer.render(plan).state()).toText();
        String table = "table " + NftNames.QUALIFIED;
        return UnifiedDiff.of(table + " (live)", live, table + " (" + source + ")", wanted) + bridge.diff(plan, source);
    }

    /** nft lists hash-set elements in no particular order: sorted, they compare line by line. */
    private static NftState sorted(NftState s) {
        var sets = new LinkedHashMap<String, NftState.NftSet>();
        for (NftState.NftSet set : s.sets().values()) {
            List<String> e = new ArrayList<>(set.dynamic() ? List.of() : set.elements());
            e.sort(null);
            sets.put(set.name(), new NftState.NftSet(set.name(), set.map(), set.header(), e));
        }
        return new NftState(s.counters(), sets, s.chains());
    }

    @Override
    public ShareReport explain(Plan plan) {
        return NftExplanation.of(plan, NftRenderer.render(plan));
    }

    /** Per backend, from the per-element counters of the slot maps; affinity services are not counted. */
    @Override
    public List<BackendTraffic> traffic() {
        List<BackendTraffic> out = new ArrayList<>();
        for (NftKernel.BackendCounter c : kernel.backendCounters()) {
            out.add(new BackendTraffic(c.service(), c.endpoint(), c.packets(), c.bytes()));
        }
        return out;
    }

    @Override
    public List<String> rejecting() {
        return kernel.rejecting();
    }

    @Override
    public java.util.Map<String, String> tableDigests() {
        // Only ecmp's stateless translation has digests: without its map, the table (every service) is not listed.
        if (!kernel.mayHaveMap(NftNames.STATELESS_FORWARD)) return java.util.Map.of();
        return kernel.read().map(NftStateless::digests).orElse(java.util.Map.of());
    }

    /** Ends the kernel's long-lived nft process (it also ends by itself when this JVM does). */
    @Override
    public void close() {
        kernel.close();
    }
}
