package io.nflb.daemon;

import io.nflb.kernel.Exec;
import io.nflb.kernel.NftKernel;
import io.nflb.plan.Plan;
import io.nflb.render.NftRenderer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** nflb on nftables: its own table, changed by difference where it can, replaced whole where it must. */
public final class NftDataplane implements Dataplane {

    private static final String SERVICE_COUNTER = "svc_";

    private final NftKernel kernel;

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
    public Outcome apply(Plan plan) {
        long start = System.nanoTime();
        NftKernel.ApplyResult r = kernel.apply(plan);
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

    /** nftables counts per service (a per-backend counter doubled the load time at 10,000 services). */
    @Override
    public List<BackendTraffic> traffic() {
        List<BackendTraffic> out = new ArrayList<>();
        for (Map.Entry<String, NftKernel.Counter> e : kernel.counters().entrySet()) {
            if (!e.getKey().startsWith(SERVICE_COUNTER)) continue;
            out.add(new BackendTraffic(e.getKey().substring(SERVICE_COUNTER.length()), "(all backends)",
                    e.getValue().packets(), e.getValue().bytes()));
        }
        return out;
    }
}
