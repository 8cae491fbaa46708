package io.nflb.ha;

import io.nflb.config.ConfigLoader;
import io.nflb.model.Config;
import io.nflb.model.Ha;
import io.nflb.model.IpAddress;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** keepalived.conf, conntrackd.conf and ha.properties as rendered for one router, from a config and the router's addresses. */
class HaRenderTest {

    public static final String R1 = """
            backend: nftables
            services:
              - name: web
                listen: {address: 192.168.1.100, port: 80}
                backends: [{address: 192.168.2.2}, {address: 192.168.2.3}]
            ha:
              interface: eth0
              router_id: 51
              priority: 150
              peers: [192.168.1.12]
              advert_interval: 200ms
              gateway: {interface: eth1, address: 192.168.2.1/24}
              sync: {interface: eth2, peer: 10.9.0.2}
            """;

    /** r1 as `ip -4 -o addr show` prints it while it is primary: the virtual addresses are on it too. */
    static final String IP_ADDR = """
            1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
            2: eth0@if5    inet 192.168.1.11/24 scope global eth0\\       valid_lft forever preferred_lft forever
            2: eth0@if5    inet 192.168.1.100/24 scope global secondary eth0\\       valid_lft forever preferred_lft forever
            3: eth1@if6    inet 192.168.2.11/24 scope global eth1\\       valid_lft forever preferred_lft forever
            3: eth1@if6    inet 192.168.2.1/24 scope global secondary eth1\\       valid_lft forever preferred_lft forever
            4: eth2@if7    inet 10.9.0.1/30 scope global eth2\\       valid_lft forever preferred_lft forever
            """;

    static HaFacts facts(Config c) {
        return new HaFacts(HaFacts.parse(IP_ADDR, HaPlan.virtualAddresses(c)), 262144);
    }

    @Test
    void vrrpKeepalivedConfIsTheMeasuredShape() throws Exception {
        Config c = ConfigLoader.parse("r1.yaml", R1);
        String conf = KeepalivedConf.render(c, facts(c), "r1", new KeepalivedConf.Hooks.Fifo(Path.of("/tmp/x/keepalived.fifo")));
        assertThat(conf).contains("    vrrp_version 3\n", "    vrrp_notify_fifo /tmp/x/keepalived.fifo\n", "    max_auto_priority\n",
                "vrrp_instance nflb_51 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 150\n    advert_int 0.2\n"
                        + "    nopreempt\n    unicast_src_ip 192.168.1.11\n    unicast_peer {\n        192.168.1.12\n    }\n"
                        + "    track_interface {\n        eth1\n    }\n    virtual_ipaddress {\n        192.168.1.100/24 dev eth0\n"
                        + "        192.168.2.1/24 dev eth1\n    }\n}\n");
        assertThat(conf).doesNotContain("vrrp_strict", "notify_master");
    }

    @Test
    void externalKeepalivedCallsNflbHaNotify() throws Exception {
        Config c = ConfigLoader.parse("r1.yaml", R1);
        String conf = KeepalivedConf.render(c, facts(c), "r1", new KeepalivedConf.Hooks.Notify("/usr/bin/nflb", Path.of("/run/nflb/ha")));
        assertThat(conf).contains("    notify_master \"/usr/bin/nflb ha notify primary --state /run/nflb/ha\"\n",
                "    notify_backup \"/usr/bin/nflb ha notify backup --state /run/nflb/ha\"\n",
                "    notify_fault \"/usr/bin/nflb ha notify fault --state /run/nflb/ha\"\n",
                "    notify_stop \"/usr/bin/nflb ha notify fault --state /run/nflb/ha\"\n");
        assertThatThrownBy(() -> new KeepalivedConf.Hooks.Notify("/usr/bin/nflb; rm", Path.of("/x"))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void conntrackdIgnoresOnlyTheRoutersOwnAddressesNeverAVirtualOne() throws Exception {
        Config c = ConfigLoader.parse("r1.yaml", R1);
        String conf = ConntrackdConf.render(c, facts(c), new HaLayout(Path.of("/tmp/ha-r1")));
        assertThat(conf).contains("        IPv4_address 10.9.0.1\n        IPv4_Destination_Address 10.9.0.2\n        Port 3780\n        Interface eth2\n",
                "    HashLimit 524288\n", "    LockFile /tmp/ha-r1/conntrackd.lock\n", "        Path /tmp/ha-r1/conntrackd.ctl\n",
                "        Address Ignore {\n            IPv4_address 127.0.0.1\n            IPv4_address 192.168.1.11\n"
                        + "            IPv4_address 192.168.2.11\n            IPv4_address 10.9.0.1\n        }\n");
        assertThat(conf).doesNotContain("192.168.1.100", "192.168.2.1\n", "/run/", "/var/");
    }

    @Test
    void ecmpRendersOneGatewayInstancePerAddressTheOwnPreempting() throws Exception {
        Config c = ConfigLoader.parse("r2.yaml", R1.replace("  sync: {interface: eth2, peer: 10.9.0.2}\n", "")
                .replace("interface: eth0\n", "mode: ecmp\n  interface: eth0\n")
                .replace("address: 192.168.2.1/24}", "address: 192.168.2.254/24, peer_addresses: [192.168.2.1/24]}")
                .replace("backends: [", "scheduler: maglev\n    backends: ["));
        String conf = KeepalivedConf.render(c, facts(c), "r2", new KeepalivedConf.Hooks.Fifo(Path.of("/tmp/f")));
        assertThat(conf).contains("vrrp_instance nflb_gw_51 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 75\n"
                + "    advert_int 0.2\n    nopreempt\n", "        192.168.2.1/24 dev eth1\n");
        assertThat(conf).contains("vrrp_instance nflb_gw_52 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 52\n    priority 150\n"
                + "    advert_int 0.2\n    preempt_delay 1\n", "        192.168.2.254/24 dev eth1\n");
        assertThat(conf).doesNotContain("192.168.1.100");
        HaPlan plan = HaPlan.of(c, facts(c), Optional.empty());
        assertThat(plan.holds()).as("nothing to wait for without state").isFalse();
        assertThat(plan.vips()).extracting(Object::toString).containsExactly("192.168.2.1/24 dev eth1", "192.168.2.254/24 dev eth1");
    }

    @Test
    void advertIntervalsAreWrittenInSeconds() throws Exception {
        for (Map.Entry<String, String> e : Map.of("200ms", "0.2", "10ms", "0.01", "1s", "1", "1500ms", "1.5", "40950ms", "40.95").entrySet()) {
            Config c = ConfigLoader.parse("r1.yaml", R1.replace("200ms", e.getKey()));
            assertThat(KeepalivedConf.advert(c.ha().orElseThrow())).as(e.getKey()).isEqualTo(e.getValue());
        }
    }

    @Test
    void theNotifyPlanSurvivesItsFile() throws Exception {
        Config c = ConfigLoader.parse("r1.yaml", R1);
        HaPlan plan = HaPlan.of(c, facts(c), Optional.of(Path.of("/tmp/ha-r1/conntrackd.conf")));
        Path dir = Files.createTempDirectory("nflb-haplan");
        plan.write(dir);
        HaPlan back = HaPlan.read(dir);
        assertThat(back).isEqualTo(plan);
        assertThat(back.vips()).extracting(Object::toString).containsExactly("192.168.1.100/24 dev eth0", "192.168.2.1/24 dev eth1");
        assertThat(back.hold().serviceAddresses()).extracting(IpAddress::toString).containsExactly("192.168.1.100");
        assertThat(back.hold().backends()).hasSize(2);
    }

    @Test
    void syncCountersAreReadFromConntrackdsOwnReport() {
        String s = """
                cache internal:
                current active connections:	         172
                connections created:		           0	failed:	           0

                cache external:
                current active connections:	          57
                connections created:		           0	failed:	           0

                UDP traffic (active device=eth2):
                                 468 Bytes sent                 1008 Bytes recv
                                   7 Pckts sent                   14 Pckts recv
                                   1 Error send                    2 Error recv

                message tracking:
                                   3 Malformed msgs                    4 Lost msgs
                """;
        SyncCounters c = SyncCounters.parse(s);
        assertThat(c).isEqualTo(new SyncCounters(172, 57, 7, 14, 1, 2, 4, 3));
    }

    @Test
    void aPairMustRenderTheSameRules() throws Exception {
        Config r1 = ConfigLoader.parse("r1.yaml", R1);
        Config r2 = ConfigLoader.parse("r2.yaml", R1.replace("priority: 150", "priority: 100").replace("[192.168.1.12]", "[192.168.1.11]")
                .replace("peer: 10.9.0.2", "peer: 10.9.0.1"));
        assertThat(PairCheck.differences("r1.yaml", r1, "r2.yaml", r2, HaRenderTest::rules)).isEmpty();
        Config other = ConfigLoader.parse("r2.yaml", R1.replace("priority: 150", "priority: 100").replace("{address: 192.168.2.3}", "{address: 192.168.2.4}"));
        List<String> d = PairCheck.differences("r1.yaml", r1, "r2.yaml", other, HaRenderTest::rules);
        assertThat(d).hasSize(1);
        assertThat(d.get(0)).startsWith("the services and firewall render different rules:\n").contains("192.168.2.4");
        Config sameId = ConfigLoader.parse("r2.yaml", R1.replace("router_id: 51", "router_id: 52"));
        assertThat(PairCheck.differences("r1.yaml", r1, "r2.yaml", sameId, HaRenderTest::rules))
                .contains("ha.router_id: 51 in r1.yaml, 52 in r2.yaml; one pair is one VRRP router id",
                        "ha.priority: both 150; the higher one is meant to be primary at the first election");
    }

    static String rules(Config c) {
        return io.nflb.dataplane.nft.NftRenderer.render(io.nflb.plan.Planner.plan(c)).text();
    }

    @Test
    void notesSayWhatAFailoverCostsWithoutSync() throws Exception {
        Config c = ConfigLoader.parse("r1.yaml", R1.replace("  sync: {interface: eth2, peer: 10.9.0.2}\n", ""));
        assertThat(HaChecks.notes(c)).anyMatch(n -> n.startsWith("ha: no sync: a failover resets established connections"));
        assertThat(HaChecks.warnings(c, Map.of(HaChecks.TCP_LOOSE, "0"))).singleElement().asString()
                .contains("every established connection INVALID");
        assertThat(HaChecks.warnings(c, Map.of(HaChecks.TCP_LOOSE, "1"))).singleElement().asString().contains("round-robin and random");
        Config synced = ConfigLoader.parse("r1.yaml", R1);
        assertThat(HaChecks.warnings(synced, Map.of(HaChecks.TCP_LOOSE, "0"))).isEmpty();
        assertThat(HaChecks.warnings(synced, Map.of(HaChecks.HASH_POLICY, "0", HaChecks.MULTIPATH_DEFAULT, "true",
                HaChecks.RP_FILTER_ALL, "1"))).hasSize(2);
        assertThat(Ha.Mode.ECMP.keyword()).isEqualTo("ecmp");
    }
}
