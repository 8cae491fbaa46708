package io.nflb.daemon;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.Dataplane;
import io.nflb.explain.ShareReport;
import io.nflb.model.DaemonSettings;
import io.nflb.model.Service;
import io.nflb.plan.Plan;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sync thread's read-back: the slow read runs beside the syncs, so a change that arrives while the kernel is
 * being read back is applied without waiting for it; the check follows once the read is done. No timing: the
 * read stays blocked until the test has seen the change applied, so a loop that waited for the read would fail
 * the test instead of slowing it.
 */
class SyncLoopTest {

    /** Applies nothing; its read-back blocks until released. */
    private static final class SlowReads implements Dataplane {
        final CountDownLatch reading = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicInteger applied = new AtomicInteger();
        final AtomicInteger checked = new AtomicInteger();

        @Override
        public Optional<ReadBack> readBack() {
            reading.countDown();
            try {
                if (!release.await(60, TimeUnit.SECONDS)) throw new IllegalStateException("never released");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return Optional.of(new ReadBack() { });
        }

        @Override
        public Optional<Outcome> verify(Plan plan, ReadBack read) {
            checked.incrementAndGet();
            return Optional.of(new Outcome(false, "", "as wanted"));
        }

        @Override public String name() { return "slow-reads"; }
        @Override public String plan(Plan plan, boolean live) { return ""; }
        @Override public Outcome apply(Plan plan) { applied.incrementAndGet(); return new Outcome(true, "", "applied"); }
        @Override public Outcome verify(Plan plan) { throw new AssertionError("the read-back is split"); }
        @Override public List<String> enableForwarding(List<Service> services) { return List.of(); }
        @Override public Outcome flush() { return new Outcome(false, "", ""); }
        @Override public boolean installed() { return true; }
        @Override public String diff(Plan plan, String source) { return ""; }
        @Override public ShareReport explain(Plan plan) { throw new UnsupportedOperationException(); }
        @Override public List<BackendTraffic> traffic() { return List.of(); }
        @Override public List<String> rejecting() { return List.of(); }
    }

    @Test
    void aChangeDuringAReadBackIsAppliedWithoutWaitingForIt() throws Exception {
        SlowReads dp = new SlowReads();
        Reconciler r = new Reconciler(dp, ConfigLoader.parse("t.yaml", """
                services:
                  - name: web
                    listen: {address: 10.0.0.1, port: 80}
                    backends: [{address: 192.168.2.2}, {address: 192.168.2.3}]
                """));
        r.sync();
        DaemonSettings settings = new DaemonSettings(Duration.ofMillis(10), Duration.ofHours(1), false);
        SyncLoop loop = new SyncLoop(r, () -> settings, new SyncLoop.Listener() {
            @Override public void synced(Reconciler.Synced s, long nanos) { }
            @Override public void syncFailed(Throwable e, long nanos, Duration retryIn) { }
            @Override public void verified(Reconciler.Synced s, long nanos) { }
            @Override public void failed(String what, Throwable e) { }
        });
        try {
            loop.start();
            loop.verifySoon();
            assertThat(dp.reading.await(30, TimeUnit.SECONDS)).as("the read-back started").isTrue();

            long version = r.admin(new BackendKey("web", "192.168.2.2:80"), BackendState.Admin.DRAINING);
            loop.request();
            assertThat(loop.awaitSynced(version, Duration.ofSeconds(30))).as("synced while the read-back still reads").isTrue();
            assertThat(dp.checked.get()).isZero();

            dp.release.countDown();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (dp.checked.get() == 0 && System.nanoTime() < deadline) Thread.sleep(10);
            assertThat(dp.checked.get()).as("the read is checked once done").isEqualTo(1);
        } finally {
            dp.release.countDown();
            loop.close();
        }
    }
}
