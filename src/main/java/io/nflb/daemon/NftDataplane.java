package io.nflb.daemon;

import io.nflb.kernel.Exec;
import io.nflb.kernel.NftKernel;
import io.nflb.plan.Plan;
import io.nflb.render.NftRenderer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** nflb on nftables: the whole table is replaced in one transaction; nothing outside it is touched. */
public final class NftDataplane implements Dataplane {

    /** A backend chain's rule as nft lists it: its counter and the renderer's "service -> endpoint" comment. */
    private static final Pattern BACKEND_RULE = Pattern.compile(
            "counter packets (\\d+) bytes (\\d+) .*dnat to \\S+ comment \"(\\S+) -> (\\S+)\"");

    private final NftKernel kernel;

    public NftDataplane(Exec exec) {
        this.kernel = new NftKernel(exec, NftRenderer.TABLE);
    }

    @Override
    public String name() {
        return "nftables";
    }

    @Override
    public String preview(Plan plan, boolean live) {
        // The script replaces the whole table, so it is the same whatever is loaded now.
        return NftRenderer.render(plan);
    }

    @Override
    public Outcome apply(Plan plan) {
        String script = NftRenderer.render(plan);
        long start = System.nanoTime();
        kernel.apply(script);
        return new Outcome(true, script, "nftables: table ip " + NftRenderer.TABLE + " replaced in one transaction in "
                + (System.nanoTime() - start) / 1_000_000 + " ms");
    }

    @Override
    public Outcome flush() {
        boolean had = kernel.flush();
        return new Outcome(had, had ? "delete table ip " + NftRenderer.TABLE + "\n" : "",
                had ? "nftables: table ip " + NftRenderer.TABLE + " deleted" : "nftables: nothing of nflb's installed");
    }

    @Override
    public boolean installed() {
        return kernel.installed();
    }

    @Override
    public List<BackendTraffic> traffic() {
        List<BackendTraffic> out = new ArrayList<>();
        for (String line : kernel.list().split("\n")) {
            Matcher m = BACKEND_RULE.matcher(line);
            if (m.find()) out.add(new BackendTraffic(m.group(3), m.group(4), Long.parseLong(m.group(1)), Long.parseLong(m.group(2))));
        }
        return out;
    }
}
