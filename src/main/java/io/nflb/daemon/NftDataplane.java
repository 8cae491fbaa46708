package io.nflb.daemon;

import io.nflb.kernel.Exec;
import io.nflb.kernel.NftKernel;
import io.nflb.plan.Plan;
import io.nflb.render.NftRenderer;
import io.nflb.render.NftScript;

import java.time.Duration;

import java.util.ArrayList;
import java.util.List;

/** nflb on nftables: its own table, changed by difference where it can, replaced whole where it must. */
public final class NftDataplane implements Dataplane {

    /** How long partial syncs trust the cache before a full read-back verifies the table. */
    static final Duration VERIFY_EVERY = Duration.ofHours(1);

    private final NftKernel kernel;
    private final NftRenderer renderer = new NftRenderer();
    private long verifiedAt = Long.MIN_VALUE;

    public NftDataplane(Exec exec) {
        this.kernel = new NftKernel(exec);
    }

    @Override
    public String name() {
        return "nftables";
    }

    @Override
    public String preview(Plan plan, boolean live) {
        // The full replace is what an apply sends when the table is missing or not nflb's last write.
        return NftRenderer.render(plan).fullReplace();
    }

    @Override
    public synchronized Outcome apply(Plan plan) {
        long start = System.nanoTime();
        NftScript wanted = renderer.renderCached(plan);
        // The first apply, and one an hour, reads the table back; the others send the difference from the last write.
        boolean verify = !kernel.trusting() || start - verifiedAt > VERIFY_EVERY.toNanos() || verifiedAt == Long.MIN_VALUE;
        NftKernel.ApplyResult r = verify ? kernel.apply(wanted) : kernel.update(wanted);
        if (verify) verifiedAt = start;
        String how = !r.changed() ? "already up to date" : r.incremental() ? "changed by difference" : "table replaced";
        return new Outcome(r.changed(), r.transaction(), "nftables: " + how + " (" + r.reason() + ") in "
                + (System.nanoTime() - start) / 1_000_000 + " ms");
    }

    @Override
    public Outcome flush() {
        boolean had = installed();
        kernel.flush();
        return new Outcome(had, had ? "delete table inet nflb\n" : "",
                had ? "nftables: table inet nflb deleted" : "nftables: nothing of nflb's installed");
    }

    @Override
    public boolean installed() {
        return kernel.read().isPresent();
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

    /** Ends the kernel's long-lived nft process (it also ends by itself when this JVM does). */
    public void close() {
        kernel.close();
    }

    @Override
    public List<String> rejecting() {
        return kernel.rejecting();
    }
}
