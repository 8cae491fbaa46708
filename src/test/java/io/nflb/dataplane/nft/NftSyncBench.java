package io.nflb.dataplane.nft;

import io.nflb.host.Exec;
import io.nflb.model.Backend;
import io.nflb.model.BackendKind;
import io.nflb.model.Config;
import io.nflb.model.IpAddress;
import io.nflb.model.Listen;
import io.nflb.model.Protocol;
import io.nflb.model.Scheduler;
import io.nflb.model.Service;
import io.nflb.model.Snat;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import io.nflb.plan.ServicePlan;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import static io.nflb.bench.NftCostBench.median;
import static io.nflb.bench.NftCostBench.ms;

/**
 * Issue 14, phase A: what one change costs the daemon's nft dataplane as N grows, written through nft's text
 * ({@code nft -i}) and over netlink, on the same table; the in-process part (the incremental render and
 * difference) next to what the whole-table path costs (render everything, compare the two tables); a full
 * apply into an empty kernel with the heap it leaves and the heap pools' peaks during it. N services x 10
 * backends on their own addresses, one scheduler for all; the changed service is N/2. Plans are built from
 * model records (no YAML: phase B makes that fast). Every kernel step runs in a throw-away namespace nflb-bench-*.
 * Writes one line per measurement to the raw file (with the load average at that moment) and a Markdown row per N.
 * Lives beside NftKernel: it drives NftRenderCache and NftKernel as NftDataplane does, with both writers on one
 * kernel, which the public dataplane does not offer.
 * Usage: NftSyncBench RAW_FILE SCHEDULER N [N...]
 */
public final class NftSyncBench {

    private static final int BACKENDS = 10;

    private NftSyncBench() {
    }

    public static void main(String[] args) throws Exception {
        Path raw = Path.of(args[0]);
        Scheduler scheduler = Scheduler.valueOf(args[1].toUpperCase(Locale.ROOT).replace('-', '_'));
        List<Integer> sizes = new ArrayList<>();
        for (int i = 2; i < args.length; i++) sizes.add(Integer.parseInt(args[i]));
        try (PrintStream out = new PrintStream(Files.newOutputStream(raw, StandardOpenOption.CREATE, StandardOpenOption.APPEND), true)) {
            out.printf(Locale.ROOT, "# NftSyncBench %s, JVM %s %s, max heap %d MB%n", args[1], System.getProperty("java.version"),
                    ManagementFactory.getRuntimeMXBean().getInputArguments(), Runtime.getRuntime().maxMemory() >> 20);
            System.out.println("| services (" + args[1] + ") | chains | full apply (ms) | heap after (MB) | heap pools' peak (MB) "
                    + "| unchanged (ms) | one change, nft -i (ms) | one change, netlink (ms) | of which in process (ms) "
                    + "| elements only, netlink (ms) | whole-table path in process (ms) | load |");
            System.out.println("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
            for (int n : sizes) row(out, scheduler, n);
        }
    }

    public static Plan plan(Scheduler scheduler, int n, int changed, int variant) {
        List<Service> services = new ArrayList<>(n);
        for (int i = 0; i < n; i++) services.add(service(scheduler, i, i == changed ? variant : 0));
        return Planner.plan(new Config(BackendKind.NFTABLES, services));
    }

    /**
     * Service i; variant 1: an 11th backend, 2: no 10th, 3: the first backend weighs 2, 4: the first backend is
     * another (the slot count stays: map elements only, no rule or jump changes). Services 0 and 1 have 9 and
     * 11 backends, as any config with varied backend counts has: random's shared chain and map for those slot
     * counts then exist, and a change of the measured service's slot count only moves elements.
     */
    static Service service(Scheduler scheduler, int i, int variant) {
        int usual = i == 0 ? BACKENDS - 1 : i == 1 ? BACKENDS + 1 : BACKENDS;
        int count = variant == 1 ? usual + 1 : variant == 2 ? usual - 1 : usual;
        List<Backend> backends = new ArrayList<>(count);
        for (int b = 0; b < count; b++) {
            int k = i * (BACKENDS + 1) + b;
            String a = variant == 4 && b == 0 ? "10.250.0.1" : "10." + (200 + k / 62500 % 50) + "." + (k / 250 % 250) + "." + (k % 250 + 1);
            backends.add(new Backend(IpAddress.parse(a).orElseThrow(), 80, variant == 3 && b == 0 ? 2 : 1));
        }
        String vip = "10." + (100 + i / 65536) + "." + (i / 256 % 256) + "." + (i % 256);
        return new Service("svc" + i, Protocol.TCP, new Listen(80, IpAddress.parse(vip), Optional.empty()), scheduler, Snat.NONE,
                backends, Optional.empty(), 0);
    }

    /** {@code base} with service {@code changed}'s plan taken from {@code other}: the Reconciler shares the rest. */
    public static Plan sharing(Plan base, Plan other, int changed) {
        List<ServicePlan> out = new ArrayList<>(base.services());
        out.set(changed, other.services().get(changed));
        return new Plan(out);
    }

    /** Writes through one of two writers, switched between syncs. */
    private static final class Switch implements NftWriter {
        final NftWriter text;
        final NftNetlinkWriter netlink;
        boolean useNetlink;

        Switch(NftTool tool) {
            text = new NftWriter.Text(tool);
            netlink = new NftNetlinkWriter(tool);
        }

        @Override
        public Exec.Result write(NftChange change, String expected, String next) {
            return useNetlink ? netlink.write(change, expected, next) : text.write(change, expected, next);
        }

        @Override
        public void close() {
            netlink.close();
        }
    }

    private static void row(PrintStream raw, Scheduler scheduler, int n) throws IOException {
        int changed = n / 2;
        Plan base = plan(scheduler, n, changed, 0);
        Plan[] variants = {sharing(base, plan(scheduler, n, changed, 1), changed), sharing(base, plan(scheduler, n, changed, 2), changed),
                sharing(base, plan(scheduler, n, changed, 3), changed)};
        Plan replaced = sharing(base, plan(scheduler, n, changed, 4), changed);
        List<Double> elementsOnly = new ArrayList<>();
        String[] names = {"added", "removed", "reweighted"};
        int reps = n >= 100_000 ? 3 : 5;
        List<Double> text = new ArrayList<>();
        List<Double> netlink = new ArrayList<>();
        List<Double> inProcess = new ArrayList<>();
        double full;
        double same;
        long heapAfter;
        long peak;
        int chains;
        long fallbacks;
        // Not nflb-t-*: run-tests removes those (and kills what runs in them) when any test run starts.
        String ns = "nflb-bench-sync-" + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong() & 0xffffffL);
        Exec.host().check(List.of("ip", "netns", "add", ns));
        try {
            NftTool tool = NftTool.of(Exec.inNetns(ns));
            Switch writer = new Switch(tool);
            NftKernel kernel = new NftKernel(tool, writer);
            NftRenderCache cache = new NftRenderCache();
            System.gc();
            resetPeaks();
            long t0 = System.nanoTime();
            NftKernel.NftTransaction first = kernel.update(cache.render(base));
            full = (System.nanoTime() - t0) / 1e6;
            peak = heapPeaks();
            if (first.incremental()) throw new IllegalStateException("not a full apply: " + first.reason());
            System.gc();
            heapAfter = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            chains = NftRenderer.render(base).state().chains().size();
            log(raw, scheduler, n, "full apply", full, String.format(Locale.ROOT, "heap after GC %d MB, pools' peak %d MB, %d chains",
                    heapAfter >> 20, peak >> 20, chains));
            same = ms(() -> requireEmpty(kernel.update(cache.render(base))));
            log(raw, scheduler, n, "unchanged", same, "");
            for (int rep = 0; rep < reps; rep++) {
                for (boolean viaNetlink : new boolean[] {false, true}) {
                    writer.useNetlink = viaNetlink;
                    for (int v = 0; v < 3; v++) {
                        for (Plan p : new Plan[] {variants[v], base}) {
                            long a = System.nanoTime();
                            NftScript s = cache.render(p);
                            long b = System.nanoTime();
                            NftKernel.NftTransaction r = kernel.update(s);
                            long c = System.nanoTime();
                            if (!r.incremental() || !r.reason().isEmpty() || r.text().isEmpty()) {
                                throw new IllegalStateException("not a partial sync: " + r.reason());
                            }
                            double total = (c - a) / 1e6;
                            (viaNetlink ? netlink : text).add(total);
                            inProcess.add((b - a) / 1e6);
                            log(raw, scheduler, n, (viaNetlink ? "netlink " : "nft -i ") + (p == base ? "back from " : "") + names[v], total,
                                    String.format(Locale.ROOT, "render+difference %.3f ms", (b - a) / 1e6));
                        }
                    }
                }
            }
            // The kernel validates the whole table's jump graph after a commit that adds a jump or a NAT rule (a
            // slot count change does both); a change of map elements alone does not make it.
            writer.useNetlink = true;
            for (int rep = 0; rep < reps; rep++) {
                for (Plan p : new Plan[] {replaced, base}) {
                    double t = ms(() -> kernel.update(cache.render(p)));
                    elementsOnly.add(t);
                    log(raw, scheduler, n, "netlink " + (p == base ? "back from " : "") + "backend replaced (elements only)", t, "");
                }
            }
            if (writer.netlink.disabled() != null) throw new IllegalStateException("netlink turned off: " + writer.netlink.disabled());
            fallbacks = writer.netlink.textFallbacks();
            log(raw, scheduler, n, "netlink syncs that went through nft instead", fallbacks, "");
            writer.close();
            kernel.close();
        } finally {
            Exec.host().run(List.of("ip", "netns", "del", ns));
        }
        // The whole-table path the incremental one replaces: render everything, compare two whole tables.
        NftState before = NftRenderer.render(base).state();
        List<Double> whole = new ArrayList<>();
        for (int i = 0; i < (n >= 100_000 ? 1 : 3); i++) {
            whole.add(ms(() -> NftDiff.transaction(before, NftRenderer.render(variants[0]).state())));
        }
        log(raw, scheduler, n, "whole-table render+difference", median(whole), "");
        System.out.printf(Locale.ROOT, "| %,d | %,d | %.0f | %d | %d | %.2f | %.2f | %.2f%s | %.3f | %.2f | %.0f | %s |%n", n, chains, full,
                heapAfter >> 20, peak >> 20, same, median(text), median(netlink),
                fallbacks == 0 ? "" : " (" + fallbacks + " of " + netlink.size() + " through nft)", median(inProcess),
                median(elementsOnly), median(whole), load());
    }

    private static Object requireEmpty(NftKernel.NftTransaction r) {
        if (r.changed()) throw new IllegalStateException("an unchanged plan changed something");
        return r;
    }

    private static void log(PrintStream raw, Scheduler s, int n, String what, double ms, String more) {
        raw.printf(Locale.ROOT, "%s %s n=%d %s: %.3f ms %s| load %s%n", java.time.Instant.now(), s.keyword(), n, what, ms,
                more.isEmpty() ? "" : more + " ", load());
    }

    static String load() {
        return io.nflb.bench.CommandsBench.load();
    }

    private static void resetPeaks() {
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) if (p.getType() == MemoryType.HEAP) p.resetPeakUsage();
    }

    /** The heap pools' peaks added up: an upper bound of the heap in use at any one time since the reset. */
    private static long heapPeaks() {
        long sum = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) if (p.getType() == MemoryType.HEAP) sum += p.getPeakUsage().getUsed();
        return sum;
    }
}
