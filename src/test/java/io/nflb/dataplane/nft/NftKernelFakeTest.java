package io.nflb.dataplane.nft;

import io.nflb.model.Protocol;
import io.nflb.model.Scheduler;
import io.nflb.model.Snat;
import io.nflb.plan.Plan;
import io.nflb.plan.ServicePlan;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Map;

import static io.nflb.dataplane.nft.NftKernelTest.twoServices;
import static io.nflb.dataplane.nft.NftPlans.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** NftKernel's decisions against the in-memory nft: what it sends, when it trusts, how it repairs. */
class NftKernelFakeTest {

    private final FakeNftTool nft = new FakeNftTool();

    @Test
    void everyGoldenScriptLoadsAndReadsBackIdenticalAndASecondApplySendsNothing() {
        NftKernel k = new NftKernel(nft);
        for (Map.Entry<String, Plan> c : NftGoldenCases.all().entrySet()) {
            NftScript s = NftRenderer.render(c.getValue());
            k.flush();
            NftKernel.NftTransaction r = k.apply(s);
            assertThat(r.incremental()).as(c.getKey()).isFalse();
            assertThat(r.reason()).isEqualTo("table missing");
            assertThat(k.read()).as(c.getKey()).contains(s.state());
            NftKernel.NftTransaction again = new NftKernel(nft).apply(s);
            assertThat(again.incremental()).isTrue();
            assertThat(again.text()).as(c.getKey()).isEmpty();
        }
    }

    @ParameterizedTest
    @EnumSource(Writers.class)
    void aChangeToOneServiceSendsOnlyItsDifference(Writers writers) {
        NftWriter writer = writers.over(nft);
        NftKernel k = new NftKernel(nft, writer);
        k.apply(twoServices(1, 2, 3));
        for (int[] w : new int[][]{{1, 2, 3, 4}, {1, 2}, {5, 2}}) {
            NftKernel.NftTransaction r = k.update(NftRenderer.render(twoServices(w)));
            assertThat(r.incremental()).as(r.reason()).isTrue();
            assertThat(r.text()).isNotEmpty().doesNotContain("10.0.0.2").doesNotContain("pick4").doesNotContain("table inet nflb {");
            assertThat(k.read()).contains(NftRenderer.render(twoServices(w)).state());
        }
        // Every partial sync swapped the generation token it expected: none went through a full replace.
        assertThat(nft.committed()).hasSize(4);
        assertThat(nft.committed().subList(1, 4)).allSatisfy(tx -> assertThat(tx).doesNotContain("delete table").contains("delete element inet nflb gen"));
        // Round-robin slot counts changed each time (a rule rewrite and elements): all of it over netlink.
        if (writer instanceof NftNetlinkWriter n) {
            assertThat(n.textFallbacks()).isZero();
            assertThat(nft.netlinkBatches()).isEqualTo(3);
            assertThat(nft.committed().subList(1, 4)).allSatisfy(tx -> assertThat(tx).startsWith("# netlink").contains("flush chain inet nflb svc_web"));
        }
    }

    @Test
    void newChainsGoThroughNftAndNetlinkCarriesOnAfterwards() {
        NftNetlinkWriter writer = new NftNetlinkWriter(nft);
        NftKernel k = new NftKernel(nft, writer);
        k.apply(twoServices(1, 2, 3));
        Plan three = plan(service("web", Scheduler.ROUND_ROBIN, "10.0.0.1", 80, 1, 2, 3),
                service("api", Protocol.TCP, listen("10.0.0.2", 443, null), Scheduler.RANDOM, Snat.NONE, backends("192.168.3.", 443, 1, 1, 1), null, 0),
                service("new", Scheduler.ROUND_ROBIN, "10.0.0.3", 80, 1, 1));
        assertThat(k.update(NftRenderer.render(three)).text()).contains("add chain inet nflb svc_new");
        assertThat(writer.textFallbacks()).isEqualTo(1);
        assertThat(k.update(NftRenderer.render(twoServices(1, 2, 3))).text()).contains("delete chain inet nflb svc_new");
        assertThat(writer.textFallbacks()).isEqualTo(2);
        k.update(NftRenderer.render(twoServices(1, 2)));
        assertThat(writer.textFallbacks()).isEqualTo(2);
        assertThat(writer.disabled()).isNull();
        assertThat(nft.netlinkBatches()).isEqualTo(1);
        assertThat(k.read()).contains(NftRenderer.render(twoServices(1, 2)).state());
    }

    @Test
    void withoutANetlinkSocketEverySyncGoesThroughNft() {
        FakeNftTool plain = new FakeNftTool().withoutNetlink();
        NftNetlinkWriter writer = new NftNetlinkWriter(plain);
        NftKernel k = new NftKernel(plain, writer);
        k.apply(twoServices(1, 2, 3));
        for (int[] w : new int[][]{{1, 2}, {1, 2, 3}}) {
            assertThat(k.update(NftRenderer.render(twoServices(w))).incremental()).isTrue();
            assertThat(k.read()).contains(NftRenderer.render(twoServices(w)).state());
        }
        assertThat(writer.disabled()).contains("no netlink");
        assertThat(writer.batches()).isZero();
        assertThat(writer.textFallbacks()).isEqualTo(2);
    }

    /** A kernel that refuses what nft then takes: netlink cannot be trusted here, so it is not used again. */
    @Test
    void aBatchRefusedOverNetlinkThatNftTakesTurnsNetlinkOff() {
        NftNetlinkWriter writer = new NftNetlinkWriter(nft);
        NftKernel k = new NftKernel(nft, writer);
        k.apply(twoServices(1, 2, 3));
        nft.netlinkRefusesAll();
        NftKernel.NftTransaction r = k.update(NftRenderer.render(twoServices(1, 2)));
        assertThat(r.incremental()).isTrue();
        assertThat(r.reason()).isEmpty();
        assertThat(writer.disabled()).contains("EINVAL");
        k.update(NftRenderer.render(twoServices(1, 2, 3)));
        assertThat(writer.batches()).isEqualTo(1);
        assertThat(writer.textFallbacks()).isEqualTo(2);
        assertThat(k.read()).contains(NftRenderer.render(twoServices(1, 2, 3)).state());
    }

    @Test
    void aTableEditedBySomeoneElseIsReplacedWholeAndAFreshKernelRepairsByDifference() {
        NftKernel k = new NftKernel(nft);
        Plan p = twoServices(1, 2, 3);
        k.apply(p);
        assertThat(nft.transaction("add rule inet nflb svc_web counter accept\n").ok()).isTrue();
        NftKernel.NftTransaction r = k.apply(p);
        assertThat(r.incremental()).isFalse();
        assertThat(r.reason()).contains("someone else");
        assertThat(k.read()).contains(NftRenderer.render(p).state());
        nft.transaction("add rule inet nflb svc_web counter accept\n");
        NftKernel.NftTransaction fresh = new NftKernel(nft).apply(p);
        assertThat(fresh.incremental()).isTrue();
        assertThat(fresh.text()).contains("flush chain inet nflb svc_web").doesNotContain("10.0.0.2");
        assertThat(k.read()).contains(NftRenderer.render(p).state());
    }

    @Test
    void aReadBackChecksTheTableAgainstTheWriteItBeganAfterWhateverWasWrittenSince() {
        NftKernel k = new NftKernel(nft);
        Plan p = twoServices(1, 2, 3);
        k.apply(p);
        NftScript written = NftRenderer.render(p);
        k.update(written);
        NftKernel.Listing fine = k.readBack();
        assertThat(k.verify(written, fine)).as("as written").hasValueSatisfying(t -> assertThat(t.changed()).isFalse());

        // A partial sync after the listing: it still tells that the table was right when it began.
        NftKernel.Listing before = k.readBack();
        NftScript next = NftRenderer.render(twoServices(1, 2));
        assertThat(k.update(next).changed()).isTrue();
        assertThat(k.verify(next, before)).hasValueSatisfying(t -> assertThat(t.changed()).isFalse());

        // Someone else's edit, listed with nothing written since: repaired at once from that listing.
        nft.transaction("add rule inet nflb svc_web counter accept\n");
        int commits = nft.committed().size();
        NftKernel.NftTransaction repaired = k.verify(next, k.readBack()).orElseThrow();
        assertThat(repaired.changed()).isTrue();
        assertThat(repaired.reason()).contains("someone else");
        assertThat(nft.committed()).hasSize(commits + 1);
        assertThat(k.read()).contains(next.state());

        // Someone else's edit listed, then a write of this kernel: the table is read again and put right.
        nft.transaction("add rule inet nflb prerouting counter accept\n");
        NftKernel.Listing edited = k.readBack();
        NftScript third = NftRenderer.render(twoServices(1, 2, 4));
        k.update(third);
        assertThat(k.verify(third, edited)).hasValueSatisfying(t -> assertThat(t.changed()).isTrue());
        assertThat(k.read()).contains(third.state());
    }

    @Test
    void aReadBackThatListsAWriteMadeAfterItBeganIsStale() {
        NftKernel[] kernel = new NftKernel[1];
        NftScript[] next = {NftRenderer.render(twoServices(1, 2))};
        NftTool racing = new NftTool() {
            boolean raced;

            @Override
            public io.nflb.host.Exec.Result transaction(String script) {
                return nft.transaction(script);
            }

            @Override
            public java.util.Optional<String> listTable() {
                // A sync lands between the read-back's start and its listing.
                if (!raced && kernel[0] != null && kernel[0].trusting()) {
                    raced = true;
                    kernel[0].update(next[0]);
                }
                return nft.listTable();
            }

            @Override
            public String listJson(String what) {
                return nft.listJson(what);
            }
        };
        NftKernel k = new NftKernel(racing, new NftWriter.Text(racing));
        k.apply(twoServices(1, 2, 3));
        kernel[0] = k;
        NftKernel.Listing stale = k.readBack();
        assertThat(k.verify(next[0], stale)).as("compared with nothing").isEmpty();
        assertThat(k.verify(next[0], k.readBack())).hasValueSatisfying(t -> assertThat(t.changed()).isFalse());
    }

    @ParameterizedTest
    @EnumSource(Writers.class)
    void aPartialSyncAfterSomeoneReplacedTheTableFailsOnTheTokenAndFallsBackToAVerifiedApply(Writers writers) {
        NftWriter writer = writers.over(nft);
        NftKernel k = new NftKernel(nft, writer);
        k.apply(twoServices(1, 2, 3));
        NftKernel other = new NftKernel(nft);
        other.flush();
        other.apply(NftRenderer.render(twoServices(1, 1, 1, 1)));
        NftKernel.NftTransaction after = k.update(NftRenderer.render(twoServices(3, 1)));
        assertThat(after.reason()).contains("someone else");
        assertThat(k.read()).contains(NftRenderer.render(twoServices(3, 1)).state());
        // Deleted behind its back: recreated whole.
        assertThat(nft.transaction("delete table inet nflb\n").ok()).isTrue();
        NftKernel.NftTransaction again = k.update(NftRenderer.render(twoServices(1, 2)));
        assertThat(again.incremental()).isFalse();
        assertThat(again.reason()).endsWith("table missing");
        // A refusal nft shares is no reason to give netlink up.
        if (writer instanceof NftNetlinkWriter n) assertThat(n.disabled()).isNull();
    }

    @ParameterizedTest
    @EnumSource(Writers.class)
    void aRefusedTransactionLeavesTheTableAsItWas(Writers writers) {
        NftKernel k = new NftKernel(nft, writers.over(nft));
        k.apply(twoServices(1, 2, 3));
        String before = nft.listTable().orElseThrow();
        nft.refuseLinesContaining("192.168.3.");
        Plan changed = plan(service("web", Scheduler.ROUND_ROBIN, "10.0.0.1", 80, 1, 2, 3),
                service("api", Protocol.TCP, listen("10.0.0.2", 443, null), Scheduler.RANDOM, Snat.NONE,
                        backends("192.168.3.", 443, 1, 1), null, 0));
        assertThatThrownBy(() -> k.update(NftRenderer.render(changed))).isInstanceOf(RuntimeException.class);
        assertThat(nft.listTable()).contains(before);
        nft.refuseLinesContaining(null);
        k.update(NftRenderer.render(changed));
        assertThat(k.read()).contains(NftRenderer.render(changed).state());
    }

    @Test
    void countersAndRefusedServicesAreReadAsStructuredData() {
        NftKernel k = new NftKernel(nft);
        ServicePlan web = service("web", Scheduler.ROUND_ROBIN, "10.0.0.1", 80, 1, 2);
        Plan p = plan(web, ServicePlan.rejecting(service("api", Protocol.TCP, listen("10.0.0.2", 443, null), Scheduler.RANDOM,
                Snat.NONE, backends("192.168.3.", 443, 1), null, 0).service()));
        k.apply(p);
        String map = NftState.parse(nft.listTable().orElseThrow()).sets().keySet().stream()
                .filter(n -> NftNames.parseSlotMap(n).isPresent()).findFirst().orElseThrow();
        // Three slots (weights 1:2); each slot's counter goes to the backend the slot names.
        long[][] counts = {{5, 300}, {4, 200}, {6, 100}};
        Map<String, long[]> expected = new java.util.TreeMap<>();
        for (String e : NftRenderer.render(p).state().sets().get(map).elements()) {
            int slot = Integer.parseInt(e.split(" ")[4]);
            String endpoint = e.substring(e.indexOf(" : ") + 3).replace(" . ", ":");
            nft.count(map, "10.0.0.1 . 80 . " + slot, counts[slot][0], counts[slot][1]);
            long[] sum = expected.computeIfAbsent(endpoint, x -> new long[2]);
            sum[0] += counts[slot][0];
            sum[1] += counts[slot][1];
        }
        assertThat(expected).hasSize(2);
        assertThat(k.backendCounters()).containsExactlyElementsOf(expected.entrySet().stream()
                .map(x -> new NftKernel.BackendCounter("web", x.getKey(), x.getValue()[0], x.getValue()[1])).toList());
        assertThat(k.rejecting()).containsExactly("api");
        k.flush();
        assertThat(k.backendCounters()).isEmpty();
        assertThat(k.rejecting()).isEmpty();
    }
}
