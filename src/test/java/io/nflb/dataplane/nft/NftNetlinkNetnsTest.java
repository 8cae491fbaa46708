package io.nflb.dataplane.nft;

import io.nflb.model.Protocol;
import io.nflb.model.Scheduler;
import io.nflb.model.Snat;
import io.nflb.plan.Plan;
import io.nflb.plan.ServicePlan;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.nflb.dataplane.nft.NftPlans.backends;
import static io.nflb.dataplane.nft.NftPlans.listen;
import static io.nflb.dataplane.nft.NftPlans.plan;
import static io.nflb.dataplane.nft.NftPlans.service;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Partial syncs written over netlink into real nf_tables, next to the same syncs through nft: afterwards
 * {@code nft -s list table} must show exactly what the renderer wrote, element comments included.
 */
class NftNetlinkNetnsTest {

    @BeforeEach
    void requireKernel() {
        KernelTests.require("nft", "ip");
    }

    /** Services of every shape whose changes are elements and round-robin rules only; {@code v} picks weights. */
    static Plan shapes(int v, boolean apiRejects) {
        int[][] rr = {{1, 2, 3}, {1, 2}, {2, 1, 1, 1}, {1}};
        int[] w = rr[v % rr.length];
        List<ServicePlan> services = new ArrayList<>(List.of(
                service("rr4", Protocol.TCP, listen("10.0.0.1", 80, null), Scheduler.ROUND_ROBIN, Snat.MASQUERADE,
                        backends("192.168.2.", 8080, w), null, 0),
                service("rr6", Protocol.UDP, listen("fd00::1", 53, null), Scheduler.ROUND_ROBIN, Snat.MASQUERADE,
                        backends("fd00:2::", 53, v % 2 == 0 ? new int[] {1, 1} : new int[] {3, 1, 1}), null, 0),
                // Random with three slots either way (1:1:1 or 2:1 over other backends): a shared chain that stays.
                service("rnd", Protocol.TCP, listen("10.0.0.2", 443, null), Scheduler.RANDOM, Snat.NONE,
                        v % 2 == 0 ? backends("192.168.3.", 443, 1, 1, 1) : backends("192.168.4.", 443, 2, 1), null, 0),
                service("rnd-b", Protocol.TCP, listen("10.0.0.3", 443, null), Scheduler.RANDOM, Snat.NONE,
                        backends("192.168.5.", 443, 1, 1, 1), null, 0),
                service("rnd6", Protocol.TCP, listen("fd00::2", 443, null), Scheduler.RANDOM, Snat.NONE,
                        backends("fd00:3::", 443, 1, 1), null, 0),
                service("rnd6-b", Protocol.TCP, listen("fd00::3", 443, null), Scheduler.RANDOM, Snat.NONE,
                        backends("fd00:4::", 443, 1, 1), null, 0),
                // By service id (no address): slot maps keyed by id, same slot count either way.
                service("port", Protocol.TCP, listen(null, 8080, null), Scheduler.RANDOM, Snat.NONE,
                        backends(v % 2 == 0 ? "192.168.6." : "192.168.7.", 80, 1, 1), null, 0),
                service("iface", Protocol.UDP, listen(null, 5353, "eth0"), Scheduler.MAGLEV, Snat.NONE,
                        backends(v % 2 == 0 ? "192.168.8." : "192.168.9.", 53, 1, 1), null, 7)));
        if (apiRejects) {
            // One of two services on the same shared chain loses every backend: dispatch and slots go, a reject comes.
            services.set(3, ServicePlan.rejecting(services.get(3).service()));
            services.set(5, ServicePlan.rejecting(services.get(5).service()));
        }
        return new Plan(services);
    }

    @ParameterizedTest
    @EnumSource(Writers.class)
    void partialSyncsReadBackExactlyAsRendered(Writers writers) {
        try (Netns ns = Netns.create("nftnl")) {
            NftTool tool = NftTool.of(ns.exec());
            NftWriter writer = writers.over(tool);
            NftKernel k = new NftKernel(tool, writer);
            k.apply(shapes(0, false));
            int syncs = 0;
            for (int v = 1; v <= 6; v++) {
                Plan p = shapes(v, v == 3 || v == 4);
                NftKernel.NftTransaction r = k.update(NftRenderer.render(p));
                syncs++;
                assertThat(r.incremental()).as(r.reason()).isTrue();
                assertThat(r.reason()).isEmpty();
                assertThat(k.read()).as("after sync " + v).contains(NftRenderer.render(p).state());
            }
            if (writer instanceof NftNetlinkWriter n) {
                assertThat(n.disabled()).isNull();
                assertThat(n.textFallbacks()).as("every sync over netlink").isZero();
                assertThat(n.batches()).isEqualTo(syncs);
            }
            // The comments written as netlink user data name the services for status.
            assertThat(k.backendCounters()).extracting(NftKernel.BackendCounter::service)
                    .contains("rr4", "rr6", "rnd", "rnd6", "port", "iface");
            assertThat(k.rejecting()).isEmpty();
            k.update(NftRenderer.render(shapes(3, true)));
            assertThat(k.rejecting()).containsExactly("rnd-b", "rnd6-b");
            k.close();
        }
    }

    /**
     * Elements of every set the renderer fills, added and then deleted over netlink, including the kinds only
     * structural changes write (interface and port keys, verdicts to new chains): read back as nft writes them.
     */
    @Test
    void elementsOfEveryKindOfSetListAsNftWritesThem() {
        try (Netns ns = Netns.create("nftnlel")) {
            NftTool tool = NftTool.of(ns.exec());
            NftNetlinkWriter writer = new NftNetlinkWriter(tool);
            NftKernel k = new NftKernel(tool, writer);
            Plan p = shapes(0, false);
            NftScript base = NftRenderer.render(p);
            k.apply(base);
            NftState a = base.state();
            Map<String, List<String>> extra = new LinkedHashMap<>();
            extra.put(NftNames.DISPATCH4, List.of("10.9.9.9 . tcp . 8080 : jump svc_rr4", "10.9.9.10 . udp . 53 : goto svc_rr4"));
            extra.put(NftNames.DISPATCH6, List.of("fd00:9::9 . udp . 53 : jump svc_rr6"));
            extra.put(NftNames.DISPATCH_IF, List.of("\"eth7\" . tcp . 81 : jump svc_port", "\"veth-long-name\" . udp . 82 : jump svc_port"));
            extra.put(NftNames.DISPATCH_PORT, List.of("udp . 5300 : jump svc_iface"));
            extra.put(NftNames.MASQ4, List.of("tcp . 192.168.99.9 . 8080"));
            extra.put(NftNames.MASQ6, List.of("udp . fd00:99::2 . 53"));
            extra.put(NftNames.REJECT4, List.of("10.9.9.8 . tcp . 80 comment \"gone\""));
            extra.put(NftNames.REJECT6, List.of("fd00:9::8 . udp . 53 comment \"gone6\""));
            extra.put(NftNames.REJECT_IF, List.of("\"eth8\" . udp . 53 comment \"if-gone\""));
            extra.put(NftNames.REJECT_PORT, List.of("tcp . 8081 comment \"port-gone\""));
            for (String set : a.sets().keySet()) {
                NftNames.parseSlotMap(set).ifPresent(m -> {
                    String data = (m.v6() ? "fd00:99::1" : "192.168.99.1") + " . 4242";
                    String key = m.byId() ? "4000000000 . 7" : (m.v6() ? "fd00:9::7" : "10.9.9.7") + " . 4242 . 7";
                    extra.put(set, List.of(key + " comment \"slot-" + set.replace('_', '-') + "\" : " + data));
                });
            }
            NftState b = withElements(a, extra);
            NftChange add = NftDiff.transaction(a, b);
            assertThat(add.addedElements()).hasSize(extra.size());
            NftKernel.NftTransaction r = k.update(NftScript.of(b));
            assertThat(r.text()).isEqualTo(add.text());
            assertThat(k.read()).contains(b);
            NftKernel.NftTransaction back = k.update(base);
            assertThat(back.text()).startsWith("delete element");
            assertThat(k.read()).contains(a);
            assertThat(writer.textFallbacks()).isZero();
            assertThat(writer.batches()).isEqualTo(2);
            k.close();
        }
    }

    /** A batch carrying a token the table does not hold is refused whole over netlink, and nothing of it stays. */
    @Test
    void aStaleTokenRefusesTheWholeBatch() {
        try (Netns ns = Netns.create("nftnltok")) {
            NftTool tool = NftTool.of(ns.exec());
            NftKernel k = new NftKernel(tool, Writers.TEXT.over(tool));
            k.apply(shapes(0, false));
            NftNetlinkWriter writer = new NftNetlinkWriter(tool);
            NftChange change = NftDiff.transaction(NftRenderer.render(shapes(0, false)).state(), NftRenderer.render(shapes(1, false)).state());
            String before = tool.listTable().orElseThrow();
            assertThat(writer.write(change, "0x00000002", "0x00000003").ok()).isFalse();
            assertThat(tool.listTable()).contains(before);
            assertThat(writer.batches()).isEqualTo(1);
            assertThat(writer.disabled()).as("nft refused it too").isNull();
            writer.close();
            k.close();
        }
    }

    private static NftState withElements(NftState s, Map<String, List<String>> extra) {
        Map<String, NftState.NftSet> sets = new LinkedHashMap<>();
        for (NftState.NftSet set : s.sets().values()) {
            List<String> elements = new ArrayList<>(set.elements());
            elements.addAll(extra.getOrDefault(set.name(), List.of()));
            sets.put(set.name(), new NftState.NftSet(set.name(), set.map(), set.header(), elements));
        }
        return new NftState(s.counters(), sets, s.chains());
    }
}
