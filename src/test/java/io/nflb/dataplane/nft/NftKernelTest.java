package io.nflb.dataplane.nft;


import io.nflb.model.Protocol;
import io.nflb.model.Scheduler;
import io.nflb.model.Snat;
import io.nflb.plan.Plan;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.nflb.dataplane.nft.NftPlans.*;
import static org.assertj.core.api.Assertions.assertThat;

/** Real nft in throw-away namespaces. */
class NftKernelTest {

    @BeforeEach
    void requireKernel() {
        KernelTests.require("nft", "ip");
    }

    @Test
    void everyGoldenScriptLoadsAndReadsBackIdentical() {
        try (Netns ns = Netns.create("nftrb")) {
            NftKernel k = new NftKernel(ns.exec());
            for (Map.Entry<String, Plan> c : NftGoldenCases.all().entrySet()) {
                NftScript s = NftRenderer.render(c.getValue());
                k.flush();
                NftKernel.NftTransaction r = k.apply(s);
                assertThat(r.incremental()).as(c.getKey()).isFalse();
                assertThat(k.read()).as(c.getKey()).contains(s.state());
                // A second apply of the same plan finds nothing to do.
                NftKernel.NftTransaction again = new NftKernel(ns.exec()).apply(s);
                assertThat(again.incremental()).isTrue();
                assertThat(again.text()).as(c.getKey()).isEmpty();
            }
        }
    }

    static Plan twoServices(int... webWeights) {
        return plan(service("web", Scheduler.ROUND_ROBIN, "10.0.0.1", 80, webWeights),
                service("api", Protocol.TCP, listen("10.0.0.2", 443, null), Scheduler.RANDOM, Snat.NONE,
                        backends("192.168.3.", 443, 1, 1, 1), null, 0));
    }

    @Test
    void oneBackendChangeTouchesOnlyThatService() {
        try (Netns ns = Netns.create("nftinc")) {
            NftKernel k = new NftKernel(ns.exec());
            k.apply(twoServices(1, 2, 3));
            // api is random: it has no chain of its own but shares pick4_tcp_random_3 with any such service.
            String before = handles(ns, "pick4_tcp_random_3");
            for (int[] w : new int[][]{{1, 2, 3, 4}, {1, 2}, {5, 2}}) {
                NftKernel.NftTransaction r = k.apply(twoServices(w));
                assertThat(r.incremental()).as(r.reason()).isTrue();
                assertThat(r.text()).isNotEmpty().doesNotContain("10.0.0.2").doesNotContain("pick4").doesNotContain("table");
                assertThat(k.read()).contains(NftRenderer.render(twoServices(w)).state());
            }
            // A reweight within the same slot count changes map elements only, not the service chain.
            k.apply(twoServices(2, 2, 2));
            NftKernel.NftTransaction elemsOnly = k.apply(twoServices(1, 1, 1));
            assertThat(elemsOnly.text()).isEmpty(); // gcd-reduced: 2:2:2 is 1:1:1
            NftKernel.NftTransaction swap = k.update(NftRenderer.render(plan(
                    service("web", Scheduler.ROUND_ROBIN, "10.0.0.1", 80, 2, 1),
                    service("api", Protocol.TCP, listen("10.0.0.2", 443, null), Scheduler.RANDOM, Snat.NONE,
                            backends("192.168.3.", 443, 1, 1, 1), null, 0))));
            assertThat(swap.incremental()).isTrue();
            assertThat(handles(ns, "pick4_tcp_random_3")).as("api's chain and rule handles").isEqualTo(before);
        }
    }

    @Test
    void handEditedTableIsRepairedOnNextApply() {
        try (Netns ns = Netns.create("nftrep")) {
            NftKernel k = new NftKernel(ns.exec());
            Plan p = twoServices(1, 2, 3);
            k.apply(p);
            ns.exec().check(List.of("nft", "add", "rule", "inet", "nflb", "svc_web", "counter", "accept"));
            ns.exec().check(List.of("nft", "delete", "element", "inet", "nflb", "svc4", "{", "10.0.0.2", ".", "tcp", ".", "443", "}"));
            NftKernel.NftTransaction r = k.apply(p);
            assertThat(r.incremental()).isFalse();
            assertThat(r.reason()).contains("someone else");
            assertThat(k.read()).contains(NftRenderer.render(p).state());
            // A fresh instance (e.g. after a restart) repairs by difference instead.
            ns.exec().check(List.of("nft", "add", "rule", "inet", "nflb", "svc_web", "counter", "accept"));
            NftKernel.NftTransaction fresh = new NftKernel(ns.exec()).apply(p);
            assertThat(fresh.incremental()).as(fresh.reason()).isTrue();
            assertThat(fresh.text()).contains("flush chain inet nflb svc_web").doesNotContain("10.0.0.2");
            assertThat(k.read()).contains(NftRenderer.render(p).state());
        }
    }

    @Test
    void flushLeavesOtherTablesAlone() {
        KernelTests.require("iptables-nft");
        try (Netns ns = Netns.create("nftfl")) {
            ns.exec().check(List.of("nft", "-f", "/dev/stdin"),
                    "table inet foreign {\n chain input {\n type filter hook input priority 0; policy accept;\n tcp dport 22 counter accept\n }\n}\n");
            ns.exec().check(List.of("iptables-nft", "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "81", "-j", "ACCEPT"));
            String before = ns.exec().check(List.of("nft", "-s", "list", "ruleset")).stdout();
            NftKernel k = new NftKernel(ns.exec());
            k.apply(twoServices(1, 2, 3));
            assertThat(k.backendCounters()).extracting(NftKernel.BackendCounter::service).contains("web", "api");
            k.flush();
            k.flush(); // idempotent
            assertThat(k.read()).isEmpty();
            assertThat(k.backendCounters()).isEmpty();
            assertThat(ns.exec().check(List.of("nft", "-s", "list", "ruleset")).stdout()).isEqualTo(before);
        }
    }

    @ParameterizedTest
    @EnumSource(Writers.class)
    void partialSyncTrustsItsLastWriteAndFallsBackWhenTheTableWasReplaced(Writers writers) {
        try (Netns ns = Netns.create("nftgen")) {
            NftTool tool = NftTool.of(ns.exec());
            NftWriter writer = writers.over(tool);
            NftKernel k = new NftKernel(tool, writer);
            k.apply(twoServices(1, 2, 3));
            NftKernel.NftTransaction trusted = k.update(NftRenderer.render(twoServices(1, 2)));
            assertThat(trusted.incremental()).isTrue();
            assertThat(trusted.text()).doesNotContain("10.0.0.2");
            assertThat(k.read()).contains(NftRenderer.render(twoServices(1, 2)).state());
            // Someone else loads the table (another nflb, a restore): its token is not ours, so the partial
            // sync's delete of our token fails, the whole transaction with it, and a verified apply follows.
            NftKernel other = new NftKernel(ns.exec());
            other.flush();
            other.apply(NftRenderer.render(twoServices(1, 1, 1, 1)));
            NftKernel.NftTransaction after = k.update(NftRenderer.render(twoServices(3, 1)));
            assertThat(k.read()).contains(NftRenderer.render(twoServices(3, 1)).state());
            assertThat(after.reason()).contains("someone else");
            // The table deleted behind our back: recreated whole.
            ns.exec().check(List.of("nft", "delete", "table", "inet", "nflb"));
            NftKernel.NftTransaction again = k.update(NftRenderer.render(twoServices(1, 2)));
            assertThat(again.incremental()).isFalse();
            assertThat(k.read()).contains(NftRenderer.render(twoServices(1, 2)).state());
            if (writer instanceof NftNetlinkWriter n) {
                // The first sync went over netlink; the two stale ones were refused there and by nft alike.
                assertThat(n.batches()).isEqualTo(3);
                assertThat(n.disabled()).isNull();
            }
            k.close();
        }
    }

    /** "svc_api" chain listing with handles: equal before and after means nothing of it was re-created. */
    static String handles(Netns ns, String chain) {
        String out = ns.exec().check(List.of("nft", "-a", "list", "chain", "inet", "nflb", chain)).stdout();
        StringBuilder sb = new StringBuilder();
        Matcher m = Pattern.compile("# handle (\\d+)").matcher(out);
        while (m.find()) sb.append(m.group(1)).append(' ');
        assertThat(sb).isNotEmpty();
        return sb.toString();
    }

}
