package io.nflb.dataplane.nft;

import io.nflb.dataplane.Dataplane;
import io.nflb.explain.ShareReport;
import io.nflb.host.Exec;
import io.nflb.host.Forwarding;
import io.nflb.model.Service;
import io.nflb.plan.Plan;
import io.nflb.state.UnifiedDiff;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;

/** nflb on nftables: its own table, changed by difference where it can, replaced whole where it must. */
public final class NftDataplane implements Dataplane {

    private final NftKernel kernel;
    /** Where the tools run; null over a given tool (tests), where there is no machine to configure. */
    private final Exec exec;
    private final NftRenderCache renderer = new NftRenderCache();
    /** The script {@link #plan} rendered last, and for which plan: an apply of that very plan sends it. */
    private NftScript planned;
    private Plan plannedFor;
    private String assumedRules;
    private String assumedMark;

    /** How partial syncs reach the kernel: nft's text through a long-lived {@code nft -i}, or netlink (else nft). */
    public enum Writes {
        NFT, NETLINK
    }

    public NftDataplane(Exec exec) {
        this(exec, Writes.NETLINK);
    }

    /** With partial syncs written one way (benchmarks compare them). */
    public NftDataplane(Exec exec, Writes writes) {
        this(NftTool.of(exec), exec, writes);
    }

    /** Over a given tool, e.g. the tests' in-memory one. */
    public NftDataplane(NftTool tool) {
        this(tool, null, Writes.NETLINK);
    }

    private NftDataplane(NftTool tool, Exec exec, Writes writes) {
        this.kernel = new NftKernel(tool, writes == Writes.NFT ? new NftWriter.Text(tool) : new NftNetlinkWriter(tool));
        this.exec = exec;
    }

    @Override
    public String name() {
        return "nftables";
    }

    @Override
    public synchronized String plan(Plan plan, boolean live) {
        // The full replace is what an apply sends when the table is missing or not nflb's last write. Kept: an
        // apply of this very plan next (the command line's) sends this script instead of rendering it again.
        planned = NftRenderer.render(plan);
        plannedFor = plan;
        return planned.fullReplace();
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
        // The first apply reads the table back; the others send the difference from the last write, guarded by the
        // generation token. Reading back on a timer is the daemon's verify, beside the syncs, never inside one.
        NftKernel.NftTransaction r = kernel.trusting() ? kernel.update(wanted) : kernel.apply(wanted);
        String how = !r.changed() ? "already up to date" : r.incremental() ? "changed by difference" : "table replaced";
        return new Outcome(r.changed(), r.text(), "nftables: " + how + " (" + r.reason() + ") in "
                + (System.nanoTime() - start) / 1_000_000 + " ms");
    }

    /** A verified apply: the table is listed; a missing, foreign-edited or different one is put right. */
    @Override
    public synchronized Outcome verify(Plan plan) {
        long start = System.nanoTime();
        return verified(kernel.apply(renderer.render(plan)), start);
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
        return kernel.verify(renderer.render(plan), listing).map(r -> verified(r, start));
    }

    private static Outcome verified(NftKernel.NftTransaction r, long start) {
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
        return new Outcome(had, had ? "delete table " + NftNames.QUALIFIED + "\n" : "",
                had ? "nftables: table " + NftNames.QUALIFIED + " deleted" : "nftables: nothing of nflb's installed");
    }

    @Override
    public boolean installed() {
        return kernel.read().isPresent();
    }

    @Override
    public String diff(Plan plan, String source) {
        String live = kernel.read().map(NftDataplane::sorted).map(NftState::toText).orElse("");
        String wanted = sorted(NftRenderer.render(plan).state()).toText();
        String table = "table " + NftNames.QUALIFIED;
        return UnifiedDiff.of(table + " (live)", live, table + " (" + source + ")", wanted);
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

    /** Ends the kernel's long-lived nft process (it also ends by itself when this JVM does). */
    @Override
    public void close() {
        kernel.close();
    }
}
