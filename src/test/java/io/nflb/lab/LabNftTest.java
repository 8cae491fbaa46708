package io.nflb.lab;

import io.nflb.model.BackendKind;
import io.nflb.model.Scheduler;
import io.nflb.testing.KernelTests;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** The lab over the nftables backend: real namespaces, servers and connections. */
class LabNftTest {

    private static LabRun run(Scheduler scheduler, List<Integer> weights, int n) throws Exception {
        KernelTests.require("ip", "nft", "sysctl", "iptables-restore");
        String prefix = "nflb-t-labn" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xfffffL) + "-";
        LabOptions options = new LabOptions(weights.size(), weights, scheduler, BackendKind.NFTABLES, n, false, false, prefix);
        try {
            LabRun r = new Lab(options, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)).run().get(0);
            System.out.printf("lab: %s over %d connections: %s, not balanced %d%n", r.title(), n,
                    r.rows().stream().map(x -> x.name() + "=" + x.observed()).toList(), r.notBalanced());
            return r;
        } finally {
            assertThat(LabTest.namespacesStartingWith(prefix)).isEmpty();
        }
    }

    @Test
    void roundRobinOneTwoThreeIsExactOverNftables() throws Exception {
        LabRun r = run(Scheduler.ROUND_ROBIN, List.of(1, 2, 3), 600);
        assertThat(List.of(r.observed("s1"), r.observed("s2"), r.observed("s3"))).containsExactly(100, 200, 300);
        assertThat(r.notBalanced()).isZero();
    }

    @Test
    void maglevSpreadsOneClientsConnectionsByItsSourcePort() throws Exception {
        int n = 2000;
        LabRun r = run(Scheduler.MAGLEV, List.of(1, 1, 1), n);
        assertThat(r.notBalanced()).isZero();
        for (LabRun.Row row : r.rows()) {
            assertThat(row.predicted().toDouble()).isCloseTo(1 / 3.0, org.assertj.core.data.Offset.offset(0.01));
            assertThat(row.observed()).isBetween((int) (n * (1 / 3.0 - 0.05)), (int) (n * (1 / 3.0 + 0.05)));
        }
    }
}
