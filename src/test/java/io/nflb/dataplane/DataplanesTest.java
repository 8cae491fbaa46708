package io.nflb.dataplane;

import io.nflb.host.Exec;
import io.nflb.model.BackendKind;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class DataplanesTest {

    @Test
    void autoPicksNftablesWhereNftWorks() {
        KernelTests.require("ip", "nft");
        try (Netns ns = Netns.create("auto")) {
            assertThat(Dataplanes.nftWorks(ns.exec())).isTrue();
            assertThat(Dataplanes.REAL.forKind(BackendKind.AUTO, ns.exec()).name()).isEqualTo("nftables");
            // The probe is a check only (nft -c): nothing is left behind.
            assertThat(ns.exec().check(java.util.List.of("nft", "list", "ruleset")).stdout()).isBlank();
        }
    }

    @Test
    void autoFallsBackToIptablesWhereNftCannotRun() {
        KernelTests.require("ip");
        // A namespace that does not exist: "ip netns exec" fails, so nft cannot work there.
        Exec nowhere = Exec.inNetns("nflb-t-missing-" + Long.toHexString(System.nanoTime()));
        assertThat(Dataplanes.nftWorks(nowhere)).isFalse();
        assertThat(Dataplanes.REAL.forKind(BackendKind.AUTO, nowhere).name()).isEqualTo("iptables");
        assertThat(Dataplanes.REAL.forKind(BackendKind.IPTABLES, nowhere).name()).isEqualTo("iptables");
        assertThat(Dataplanes.REAL.forKind(BackendKind.NFTABLES, nowhere).name()).isEqualTo("nftables");
    }
}
