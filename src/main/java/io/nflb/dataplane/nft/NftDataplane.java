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

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

/** nflb on nftables: its own table, changed by difference where it can, replaced whole where it must. */
public final class NftDataplane implements Dataplane {

    /** How long partial syncs trust the cache before a full read-back verifies the table. */
    static final Duration VERIFY_EVERY = Duration.ofHours(1);

    private final NftKernel kernel;
    private final NftTool tool;
    /** Where the tools run; null over a given tool (tests), where there is no machine to configure. */
    private final Exec exec;
    private final NftRenderCache renderer = new NftRenderCache();
    private long verifiedAt = Long.MIN_VALUE;
    /** What iptables shows of the neighbours. */
    private final NeighbourReader others;
    private final ForwardBridge bridge;
    /** The neighbours as apply reads them: at most once per {@link NeighbourReader#FRESH_FOR}. */
    private final NeighbourReader forApply;

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
    public String plan(Plan plan, boolean live) {
        // The full replace is what an apply sends when the table is missing or not nflb's last write.
        if (!live) return NftRenderer.render(plan).fullReplace();
        plan = withNeighbours(plan, this::neighbours);
        return NftRenderer.render(plan).fullReplace() + bridge.plan(plan);
    }

    @Override
    public synchronized Outcome apply(Plan plan) {
        long start = System.nanoTime();
        plan = withNeighbours(plan, forApply);
        NftScript wanted = renderer.render(plan);
        // The pass through iptables first: when the table is then refused, it is put back as it was.
        ForwardBridge.Change pass = bridge.apply(plan);
        NftKernel.NftTransaction r;
        boolean verify;
        try {
            // The first apply, and one an hour, reads the table back; the others send the difference from the last write.
            verify = !kernel.trusting() || start - verifiedAt > VERIFY_EVERY.toNanos() || verifiedAt == Long.MIN_VALUE;
            r = verify ? kernel.apply(wanted) : kernel.update(wanted);
        } catch (RuntimeException e) {
            pass.undo().run();
            throw e;
        }
        if (verify) verifiedAt = start;
        String how = !r.changed() ? "already up to date" : r.incremental() ? "changed by difference" : "table replaced";
        return new Outcome(r.changed() || pass.changed(), r.text() + pass.sent(), "nftables: " + how + " (" + r.reason() + ") in "
                + (System.nanoTime() - start) / 1_000_000 + " ms" + (pass.summary().isEmpty() ? "" : "; " + pass.summary()));
    }

    /** A verified apply: the table is listed; a missing, foreign-edited or different one is put right. */
    @Override
    public synchronized Outcome verify(Plan plan) {
        long start = System.nanoTime();
        NftKernel.NftTransaction r = kernel.apply(renderer.render(plan));
        verifiedAt = start;
        String how = !r.changed() ? "as wanted" : r.incremental() ? "repaired by difference" : "table replaced";
        return new Outcome(r.changed(), r.text(), "nftables: " + how + (r.reason().isEmpty() ? "" : " (" + r.reason() + ")")
                + " in " + (System.nanoTime() - start) / 1_000_000 + " ms");
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
        return kernel.read().isPresent();
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
        return kernel.read().map(NftStateless::digests).orElse(java.util.Map.of());
    }

    /** Ends the kernel's long-lived nft process (it also ends by itself when this JVM does). */
    @Override
    public void close() {
        kernel.close();
    }
}
