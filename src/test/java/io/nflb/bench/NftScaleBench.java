package io.nflb.bench;

import io.nflb.dataplane.nft.NftKernel;
import io.nflb.dataplane.nft.NftRenderer;
import io.nflb.dataplane.nft.NftScript;
import io.nflb.model.Backend;
import io.nflb.model.Protocol;
import io.nflb.model.Scheduler;
import io.nflb.model.Snat;
import io.nflb.plan.Plan;
import io.nflb.plan.ServicePlan;
import io.nflb.testing.Netns;

import java.util.ArrayList;
import java.util.List;

import static io.nflb.dataplane.nft.NftPlans.*;

/**
 * Scale figures for the nft backend: render time, full apply into an empty table, and one backend added,
 * removed and reweighted, at N services x 10 backends. Run as a plain main (as root, kernel work happens in a
 * throw-away namespace): java -cp target/classes:target/test-classes io.nflb.bench.NftScaleBench 100 1000 10000
 */
public final class NftScaleBench {

    public static void main(String[] args) {
        boolean kernel = !"render-only".equals(System.getProperty("nflb.bench"));
        for (String a : args) {
            int n = Integer.parseInt(a);
            Plan plan = plan(n, -1, 1);
            long t0 = System.nanoTime();
            NftScript script = NftRenderer.render(plan);
            long first = System.nanoTime() - t0;
            long best = Long.MAX_VALUE;
            for (int i = 0; i < 5; i++) {
                long t = System.nanoTime();
                NftRenderer.render(plan);
                best = Math.min(best, System.nanoTime() - t);
            }
            System.out.printf("%6d services: render first %.1f ms, best of 5 %.1f ms, %d bytes%n", n, first / 1e6, best / 1e6, script.text().length());
            if (!kernel) continue;
            try (Netns ns = Netns.create("bench")) {
                NftKernel k = new NftKernel(ns.exec());
                long t1 = System.nanoTime();
                k.apply(script);
                System.out.printf("%6d services: full apply (readback of empty + load) %.0f ms%n", n, (System.nanoTime() - t1) / 1e6);
                int target = n / 2;
                time(k, n, "add backend", plan(n, target, 2));
                time(k, n, "reweight backend", plan(n, target, 3));
                time(k, n, "remove backend", plan(n, -1, 1));
                long t2 = System.nanoTime();
                NftKernel.NftTransaction v = k.apply(plan(n, target, 2));
                System.out.printf("%6d services: verified apply (full readback + diff), one backend: %.0f ms, incremental=%s%n",
                        n, (System.nanoTime() - t2) / 1e6, v.incremental());
            }
        }
    }

    private static void time(NftKernel k, int n, String what, Plan p) {
        NftScript s = NftRenderer.render(p);
        long t = System.nanoTime();
        NftKernel.NftTransaction r = k.update(s);
        System.out.printf("%6d services: %s, update() %.1f ms (incremental=%s, %d bytes sent)%n",
                n, what, (System.nanoTime() - t) / 1e6, r.incremental(), r.text().length());
    }

    /** N services of 10 round-robin backends; service {@code changed} gets an 11th backend (variant 2) or a new weight (3). */
    public static Plan plan(int n, int changed, int variant) {
        List<ServicePlan> out = new ArrayList<>(n);
        for (int s = 0; s < n; s++) {
            List<Backend> bs = new ArrayList<>();
            int count = s == changed && variant == 2 ? 11 : 10;
            for (int b = 0; b < count; b++) {
                int w = s == changed && variant == 3 && b == 0 ? 5 : 1;
                bs.add(new Backend(ip("10." + (100 + b) + "." + (s / 250) + "." + (s % 250 + 1)), 8080, w));
            }
            out.add(service("s" + s, Protocol.TCP, listen("172.16." + (s / 250) + "." + (s % 250 + 1), 80, null),
                    Scheduler.ROUND_ROBIN, Snat.NONE, bs, null, 0));
        }
        return new Plan(out);
    }
}
