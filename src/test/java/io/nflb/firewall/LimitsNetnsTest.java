package io.nflb.firewall;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.Dataplane;
import io.nflb.dataplane.iptables.IptablesDataplane;
import io.nflb.dataplane.nft.NftDataplane;
import io.nflb.host.Exec;
import io.nflb.lab.Topology;
import io.nflb.plan.Planner;
import io.nflb.testing.KernelTests;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.concurrent.ThreadLocalRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** max_connections_per_source without a firewall: section, in a real kernel with both backends. */
class LimitsNetnsTest {

    @ParameterizedTest
    @ValueSource(strings = {"iptables", "nftables"})
    void aSourceGetsNoMoreThanItsConnections(String backend) throws Exception {
        KernelTests.require("ip", backend.equals("iptables") ? "iptables-restore" : "nft");
        String prefix = "nflb-t-lim" + backend.charAt(0) + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xfffL) + "-";
        try (Topology t = Topology.build(prefix, 1); FirewallScanNetnsTest.Processes procs = new FirewallScanNetnsTest.Processes()) {
            procs.start(t.server(0), "listen-hold", "8080");
            var plan = Planner.plan(ConfigLoader.parse("limits.yaml", """
                    backend: %s
                    services:
                      - name: web
                        listen: {address: 192.168.1.1, port: 80}
                        limits: {max_connections_per_source: 3}
                        backends: [{address: 192.168.2.2, port: 8080}]
                    """.formatted(backend)));
            Dataplane dp = backend.equals("iptables") ? new IptablesDataplane(Exec.inNetns(t.router())) : new NftDataplane(Exec.inNetns(t.router()));
            dp.apply(plan);
            String held = procs.run(t.client(), "hold", Topology.ROUTER_CLIENT_SIDE, "80", "6").strip();
            System.out.println(backend + ": 6 connections held open against max_connections_per_source 3: " + held);
            assertThat(held).isEqualTo("ok 3 refused 3");
            io.nflb.model.Service limited = plan.services().get(0).service();
            dp.apply(new io.nflb.plan.Plan(java.util.List.of(Planner.plan(new io.nflb.model.Service(limited.name(),
                    limited.protocol(), limited.listen(), limited.scheduler(), limited.snat(), limited.backends())))));
            assertThat(procs.run(t.client(), "hold", Topology.ROUTER_CLIENT_SIDE, "80", "6").strip())
                    .as("without limits").isEqualTo("ok 6 refused 0");
        }
    }
}
