package io.nflb.bench;

import io.nflb.dataplane.nft.NftDataplane;
import io.nflb.daemon.BackendState;
import io.nflb.daemon.Daemon;
import io.nflb.daemon.Probe;
import io.nflb.host.Exec;
import io.nflb.model.Backend;
import io.nflb.model.BackendKind;
import io.nflb.model.Config;
import io.nflb.model.DaemonSettings;
import io.nflb.model.HealthCheck;
import io.nflb.model.IpAddress;
import io.nflb.model.Listen;
import io.nflb.model.Protocol;
import io.nflb.model.Scheduler;
import io.nflb.model.Service;
import io.nflb.model.Snat;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.nflb.bench.NftCostBench.median;

/**
 * Issue 14: the daemon's sync when one backend of one service fails and comes back, N services x 10 backends,
 * measured by the daemon itself: each sync's duration as it reports it (what nflb_sync_duration_seconds
 * observes, planning included) and the histogram's own sum / count over the flips. A real {@link Daemon} in
 * this JVM over the real nft dataplane in a throw-away namespace; the measured service (N/2) is checked (tcp,
 * every 20 ms, fall 1, rise 1) through a probe that fails on command, the others are unchecked. Then the
 * latency of an operator's drain (until the kernel has it) while a read-back of the whole table is under way,
 * against the same drain with nothing else going on.
 * Usage: DaemonSyncBench RAW_FILE SCHEDULER N FLIPS
 */
public final class DaemonSyncBench {

    private static final int BACKENDS = 10;
    private static final Pattern SUM = Pattern.compile("(?m)^nflb_sync_duration_seconds_sum (\\S+)$");
    private static final Pattern COUNT = Pattern.compile("(?m)^nflb_sync_duration_seconds_count (\\S+)$");

    private DaemonSyncBench() {
    }

    public static void main(String[] args) throws Exception {
        Path rawFile = Path.of(args[0]);
        Scheduler scheduler = Scheduler.valueOf(args[1].toUpperCase(Locale.ROOT).replace('-', '_'));
        int n = Integer.parseInt(args[2]);
        int flips = Integer.parseInt(args[3]);
        int measured = n / 2;
        List<Service> services = new ArrayList<>(n);
        HealthCheck tcp = new HealthCheck(HealthCheck.Type.TCP, Duration.ofMillis(20), Duration.ofMillis(10), 1, 1, "GET", "/", 200,
                Optional.empty(), Optional.empty(), List.of());
        for (int i = 0; i < n; i++) services.add(service(scheduler, i, i == measured ? tcp : HealthCheck.NONE));
        Config config = new Config(BackendKind.NFTABLES, services, Optional.empty(),
                new DaemonSettings(Duration.ofMillis(100), Duration.ofDays(1), false));
        Backend failing = services.get(measured).backends().get(3);
        AtomicBoolean down = new AtomicBoolean();
        String ns = "nflb-bench-dsync-" + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong() & 0xffffffL);
        Exec.host().check(List.of("ip", "netns", "add", ns));
        try (PrintStream raw = new PrintStream(Files.newOutputStream(rawFile, StandardOpenOption.CREATE, StandardOpenOption.APPEND), true)) {
            Exec exec = Exec.inNetns(ns);
            NftDataplane nft = new NftDataplane(exec);
            Timed dp = new Timed(nft);
            try (Daemon d = new Daemon(dp, config, (Probe p) -> !(down.get() && p.address().equals(failing.address()) && p.port() == failing.port()),
                    exec, Duration.ofHours(1))) {
                long t0 = System.nanoTime();
                d.start();
                log(raw, scheduler, n, "start (full apply)", (System.nanoTime() - t0) / 1e6, "");
                Thread.sleep(5000); // the first counter sample and the JIT
                List<Double> reported = new ArrayList<>();
                double[] before = histogram(d);
                for (int i = 0; i < flips + 10; i++) {
                    if (i == 10) before = histogram(d);
                    boolean fail = i % 2 == 0;
                    Instant asked = Instant.now();
                    down.set(fail);
                    Daemon.SyncResult s = awaitSyncAfter(d, asked);
                    if (!s.ok()) throw new IllegalStateException("sync failed: " + s.summary());
                    if (i >= 10) {
                        double ms = s.took().toNanos() / 1e6;
                        reported.add(ms);
                        log(raw, scheduler, n, fail ? "backend failed" : "backend back", ms, s.summary());
                    }
                }
                double[] after = histogram(d);
                double mean = (after[0] - before[0]) / (after[1] - before[1]) * 1000;
                List<Double> sorted = new ArrayList<>(reported);
                sorted.sort(null);
                double p90 = sorted.get((int) Math.ceil(sorted.size() * 0.9) - 1);

                // An operator's drain, alone and while the daemon reads the whole table back (verifySoon).
                String service = services.get(measured).name();
                String address = services.get(measured).backends().get(5).address().toString();
                List<Double> alone = new ArrayList<>();
                List<Double> duringRead = new ArrayList<>();
                for (int i = 0; i < 6; i++) {
                    boolean read = i % 2 == 1;
                    int reads = dp.reads.get();
                    if (read) {
                        d.verifySoon();
                        while (dp.reading.get() == 0) Thread.sleep(1);
                        Thread.sleep(100); // the listing is under way
                    }
                    long a = System.nanoTime();
                    String said = d.admin(service, address, BackendState.Admin.DRAINING);
                    long b = System.nanoTime();
                    double ms = (b - a) / 1e6;
                    if (read && (dp.reading.get() == 0 || dp.reads.get() != reads)) {
                        throw new IllegalStateException("the read-back ended before the drain was in the kernel");
                    }
                    (read ? duringRead : alone).add(ms);
                    d.admin(service, address, BackendState.Admin.NORMAL);
                    while (dp.reading.get() != 0) Thread.sleep(5);
                    log(raw, scheduler, n, read ? "drain during a read-back" : "drain", ms, said
                            + (read ? String.format(Locale.ROOT, "; the read-back took %.0f ms", dp.lastRead / 1e6) : ""));
                    Thread.sleep(500);
                }
                System.out.printf(Locale.ROOT, "| %,d | %s | %d | %.1f | %.1f | %.1f-%.1f | %.1f | %.0f | %.0f | %s |%n", n, scheduler.keyword(),
                        reported.size(), median(reported), p90, sorted.get(0), sorted.get(sorted.size() - 1), mean,
                        median(alone), median(duringRead), CommandsBench.load());
            } finally {
                nft.close();
            }
        } finally {
            Exec.host().run(List.of("ip", "netns", "del", ns));
        }
    }

    /** The daemon's dataplane, with its read-backs timed. */
    private static final class Timed implements io.nflb.dataplane.Dataplane {
        final io.nflb.dataplane.Dataplane d;
        final java.util.concurrent.atomic.AtomicInteger reading = new java.util.concurrent.atomic.AtomicInteger();
        final java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
        volatile long lastRead;

        Timed(io.nflb.dataplane.Dataplane d) {
            this.d = d;
        }

        @Override
        public Optional<ReadBack> readBack() {
            reading.incrementAndGet();
            long a = System.nanoTime();
            try {
                return d.readBack();
            } finally {
                lastRead = System.nanoTime() - a;
                reads.incrementAndGet();
                reading.decrementAndGet();
            }
        }

        @Override public Optional<Outcome> verify(io.nflb.plan.Plan plan, ReadBack read) { return d.verify(plan, read); }
        @Override public String name() { return d.name(); }
        @Override public String plan(io.nflb.plan.Plan plan, boolean live) { return d.plan(plan, live); }
        @Override public Outcome apply(io.nflb.plan.Plan plan) { return d.apply(plan); }
        @Override public Outcome verify(io.nflb.plan.Plan plan) { return d.verify(plan); }
        @Override public List<String> enableForwarding(List<Service> services) { return d.enableForwarding(services); }
        @Override public Outcome flush() { return d.flush(); }
        @Override public boolean installed() { return d.installed(); }
        @Override public String diff(io.nflb.plan.Plan plan, String source) { return d.diff(plan, source); }
        @Override public io.nflb.explain.ShareReport explain(io.nflb.plan.Plan plan) { return d.explain(plan); }
        @Override public List<BackendTraffic> traffic() { return d.traffic(); }
        @Override public List<String> rejecting() { return d.rejecting(); }
        @Override public void close() { d.close(); }
    }

    /** The first sync that ended after {@code after} (a failing check flips within tens of ms). */
    private static Daemon.SyncResult awaitSyncAfter(Daemon d, Instant after) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            Optional<Daemon.SyncResult> s = d.lastSync();
            if (s.isPresent() && s.get().at().isAfter(after)) return s.get();
            Thread.sleep(2);
        }
        throw new IllegalStateException("no sync within 60 s");
    }

    /** nflb_sync_duration_seconds' sum and count, as /metrics says. */
    private static double[] histogram(Daemon d) {
        String text = d.metrics().scrape();
        Matcher s = SUM.matcher(text);
        Matcher c = COUNT.matcher(text);
        if (!s.find() || !c.find()) throw new IllegalStateException("no nflb_sync_duration_seconds in /metrics");
        return new double[] {Double.parseDouble(s.group(1)), Double.parseDouble(c.group(1))};
    }

    private static Service service(Scheduler scheduler, int i, HealthCheck health) {
        List<Backend> backends = new ArrayList<>(BACKENDS);
        for (int b = 0; b < BACKENDS; b++) {
            int k = i * (BACKENDS + 1) + b;
            String a = "10." + (200 + k / 62500 % 50) + "." + (k / 250 % 250) + "." + (k % 250 + 1);
            backends.add(new Backend(IpAddress.parse(a).orElseThrow(), 80, 1));
        }
        String vip = "10." + (100 + i / 65536) + "." + (i / 256 % 256) + "." + (i % 256);
        return new Service("svc" + i, Protocol.TCP, new Listen(80, IpAddress.parse(vip), Optional.empty()), scheduler, Snat.NONE,
                backends, Optional.empty(), 0, health);
    }

    private static void log(PrintStream raw, Scheduler scheduler, int n, String what, double ms, String note) {
        raw.printf(Locale.ROOT, "daemon-sync %s %d: %s %.2f ms (load %s) %s%n", scheduler.keyword(), n, what, ms, CommandsBench.load(), note);
    }
}
