package io.nflb.dataplane.iptables;

import io.nflb.dataplane.iptables.IptablesRuleset.Jump;
import io.nflb.host.Exec;
import io.nflb.host.KernelException;
import io.nflb.model.IpAddress.Family;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The real iptables-restore/-save, each test in its own network namespace. */
class IptablesKernelNetnsTest {

    private static final String FOREIGN_NFT = """
            table inet foreign {
            	set blocked {
            		type ipv4_addr
            		elements = { 198.51.100.7, 198.51.100.8 }
            	}

            	chain input {
            		type filter hook input priority filter + 10; policy accept;
            		ip saddr @blocked counter packets 0 bytes 0 drop
            		tcp dport 9999 counter packets 0 bytes 0 reject
            	}
            }
            """;

    @BeforeEach
    void requireKernel() {
        KernelTests.require("iptables-restore", "iptables-save", "ip");
    }

    /** iptables-save minus its "# Generated/Completed on <time>" lines. */
    private static String saveWithoutTimestamps(Exec exec, String... extra) {
        List<String> argv = new java.util.ArrayList<>(List.of("iptables-save"));
        argv.addAll(List.of(extra));
        return exec.check(argv).stdout().lines().filter(l -> !l.startsWith("#")).collect(Collectors.joining("\n"));
    }

    @Test
    void applyingTwiceLeavesTheSameKernelAndTheSecondIsANoOp() {
        try (Netns ns = Netns.create("ipt-twice")) {
            IptablesKernel kernel = new IptablesKernel(ns.exec(), Family.V4);

            IptablesTransaction first = kernel.apply(Rulesets.web(true));
            String afterFirst = saveWithoutTimestamps(ns.exec(), "-c");
            IptablesTransaction second = kernel.apply(Rulesets.web(true));

            assertThat(first.isEmpty()).isFalse();
            assertThat(afterFirst).contains(":NFLB-SVC-web - [0:0]", "-A OUTPUT " + Rulesets.PORTALS);
            assertThat(second.isEmpty()).isTrue();
            assertThat(second.text()).isEmpty();
            assertThat(saveWithoutTimestamps(ns.exec(), "-c")).isEqualTo(afterFirst);
        }
    }

    @Test
    void aForeignFirewallAndAForeignNftTableAreLeftExactlyAsTheyWere() throws IOException {
        try (Netns ns = Netns.create("ipt-foreign")) {
            Exec exec = ns.exec();
            exec.check(List.of("iptables-restore", "-w", "10"), Files.readString(Path.of("src/test/resources/kernel/foreign-firewall.rules")));
            exec.check(List.of("nft", "-f", "-"), FOREIGN_NFT);
            String iptablesBefore = saveWithoutTimestamps(exec);
            String nftBefore = exec.check(List.of("nft", "list", "ruleset")).stdout();
            String foreignTable = exec.check(List.of("nft", "list", "table", "inet", "foreign")).stdout();
            assertThat(iptablesBefore).contains("-A PORTFWD -p tcp -m tcp --dport 2222 -j DNAT --to-destination 192.168.1.20:22");
            assertThat(foreignTable).isEqualTo(FOREIGN_NFT);
            IptablesKernel kernel = new IptablesKernel(exec, Family.V4);

            kernel.apply(Rulesets.web(true));
            String applied = saveWithoutTimestamps(exec);
            IptablesTransaction shrink = kernel.apply(Rulesets.web(false));
            String shrunk = saveWithoutTimestamps(exec);
            IptablesTransaction flush = kernel.flush();

            assertThat(withoutNflb(applied)).isEqualTo(iptablesBefore);
            assertThat(applied).contains("NFLB-SVC-db");
            assertThat(shrink.chainsRemoved()).isEqualTo(2);
            assertThat(shrunk).doesNotContain("NFLB-SVC-db").doesNotContain("NFLB-SEP-db-0").contains("NFLB-SVC-web");
            assertThat(withoutNflb(shrunk)).isEqualTo(iptablesBefore);
            assertThat(flush.isEmpty()).isFalse();
            assertThat(saveWithoutTimestamps(exec)).isEqualTo(iptablesBefore);
            assertThat(exec.check(List.of("nft", "list", "ruleset")).stdout()).isEqualTo(nftBefore);
            assertThat(exec.check(List.of("nft", "list", "table", "inet", "foreign")).stdout()).isEqualTo(foreignTable);
            assertThat(kernel.flush().isEmpty()).isTrue();
        }
    }

    /** Chain declarations and rules of nflb's chains, and nflb's jumps; the comment trap stays. */
    private static String withoutNflb(String save) {
        return save.lines().filter(l -> !l.matches("-A NFLB-.*|:NFLB-.*|-A [A-Z]+ .*-j NFLB-\\S+"))
                .collect(Collectors.joining("\n"));
    }

    @Test
    void aRuleTheToolRefusesChangesNothing() {
        try (Netns ns = Netns.create("ipt-refuse")) {
            IptablesKernel kernel = new IptablesKernel(ns.exec(), Family.V4);
            kernel.apply(Rulesets.web(true));
            String before = saveWithoutTimestamps(ns.exec(), "-c");

            // A parse error: the restore refuses the table before committing anything.
            assertThatThrownBy(() -> kernel.apply(Rulesets.web(false, "2")))
                    .isInstanceOfSatisfying(KernelException.class, e -> {
                        assertThat(e.line()).isEqualTo(7);
                        assertThat(e.lineText()).contains("--probability 2");
                        assertThat(e.toolOutput()).contains("bad value for option \"--probability\"");
                        assertThat(e.getMessage()).contains("at line 7 `-A NFLB-SVC-web");
                    });
            assertThat(saveWithoutTimestamps(ns.exec(), "-c")).isEqualTo(before);
        }
    }

    /**
     * What only the kernel refuses (iptables-nft's --test does not see these, which is why apply runs no --test):
     * a jump to a chain that does not exist and a target the kernel refuses in this table. The run fails, as a whole.
     */
    @Test
    void refusalsOnlyTheRealRunSeesAreAtomicToo() {
        try (Netns ns = Netns.create("ipt-atomic")) {
            IptablesKernel kernel = new IptablesKernel(ns.exec(), Family.V4);
            kernel.apply(Rulesets.web(true));
            String before = saveWithoutTimestamps(ns.exec(), "-c");

            IptablesRuleset missingChain = Rulesets.withExtraRule(Rulesets.web(false), "nat", "-A NFLB-SERVICES -j NO-SUCH-CHAIN");
            assertThatThrownBy(() -> kernel.apply(missingChain))
                    .isInstanceOfSatisfying(KernelException.class, e -> {
                        // iptables-nft blames the COMMIT line; the exception points at the jump instead.
                        assertThat(e.lineText()).isEqualTo("-A NFLB-SERVICES -j NO-SUCH-CHAIN");
                        assertThat(e.getMessage()).contains("NO-SUCH-CHAIN");
                    });
            assertThat(saveWithoutTimestamps(ns.exec(), "-c")).isEqualTo(before);

            IptablesRuleset dnatInFilter = Rulesets.withExtraRule(Rulesets.web(false), "filter", "-A NFLB-FORWARD -j DNAT --to-destination 10.99.0.2");
            assertThatThrownBy(() -> kernel.apply(dnatInFilter))
                    .isInstanceOfSatisfying(KernelException.class, e -> {
                        assertThat(e.lineText()).isEqualTo("-A NFLB-FORWARD -j DNAT --to-destination 10.99.0.2");
                        // nat was committed before filter failed, and was put back
                        assertThat(e.getMessage()).contains("RULE_APPEND failed", "put back");
                    });
            assertThat(saveWithoutTimestamps(ns.exec(), "-c")).isEqualTo(before);
        }
    }

    /** Connections from inside the namespace to the portal: the nat rules count one packet per connection. */
    @Test
    void countersCountRealConnections() {
        KernelTests.require("curl");
        try (Netns ns = Netns.create("ipt-count")) {
            Exec exec = ns.exec();
            // The peer end has no address, so nothing answers for the portal itself.
            exec.check(List.of("ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"));
            for (String a : List.of("10.99.0.2/24", "10.99.0.3/24", "10.99.0.4/24")) {
                exec.check(List.of("ip", "addr", "add", a, "dev", "v0"));
            }
            exec.check(List.of("ip", "link", "set", "v1", "up"));
            exec.check(List.of("ip", "link", "set", "v0", "up"));
            IptablesKernel kernel = new IptablesKernel(exec, Family.V4);
            kernel.apply(Rulesets.web(false));

            int connections = 5;
            for (int i = 0; i < connections; i++) {
                // Nothing listens on the backends: "refused" (exit 7) proves DNAT sent the SYN to a local
                // address; without DNAT the portal 10.99.0.1 does not answer and curl times out (exit 28).
                Exec.Result r = exec.run(List.of("curl", "-s", "-o", "/dev/null", "--max-time", "3", "http://10.99.0.1:80/"));
                assertThat(r.exitCode()).as("curl exit code").isEqualTo(7);
            }
            List<RuleCounters> counters = kernel.counters();

            assertThat(counters).filteredOn(c -> c.comment().equals(java.util.Optional.of("web portal")))
                    .singleElement().satisfies(c -> {
                        assertThat(c.chain()).isEqualTo("NFLB-SERVICES");
                        assertThat(c.packets()).isEqualTo(connections);
                        assertThat(c.bytes()).isPositive();
                    });
            long dnatted = counters.stream().filter(c -> c.chain().startsWith("NFLB-SEP-web-")).mapToLong(RuleCounters::packets).sum();
            assertThat(dnatted).isEqualTo(connections);
            assertThat(counters).filteredOn(c -> c.chain().equals("OUTPUT")).singleElement()
                    .satisfies(c -> assertThat(c.packets()).isGreaterThanOrEqualTo(connections));
            assertThat(counters).filteredOn(c -> c.chain().equals("PREROUTING")).singleElement()
                    .satisfies(c -> assertThat(c.packets()).isZero());
        }
    }

    @Test
    void ipv6UsesIp6tables() {
        KernelTests.require("ip6tables-restore", "ip6tables-save");
        try (Netns ns = Netns.create("ipt-six")) {
            IptablesRuleset v6 = new IptablesRuleset(Family.V6, List.of(new IptablesRuleset.Table("nat",
                    List.of("NFLB-SERVICES", "NFLB-SEP-web-0"),
                    List.of(new Jump("PREROUTING", Rulesets.PORTALS)),
                    List.of("-A NFLB-SERVICES -d fd00::1/128 -p tcp -m tcp --dport 80 -j NFLB-SEP-web-0",
                            "-A NFLB-SEP-web-0 -p tcp -m tcp -j DNAT --to-destination [fd00::2]:8080"))));
            IptablesKernel kernel = new IptablesKernel(ns.exec(), Family.V6);

            assertThat(kernel.apply(v6).isEmpty()).isFalse();
            assertThat(kernel.apply(v6).isEmpty()).isTrue();
            assertThat(kernel.save()).contains("-A NFLB-SEP-web-0 -p tcp -m tcp -j DNAT --to-destination [fd00::2]:8080");
            assertThat(ns.exec().check(List.of("iptables-save")).stdout()).doesNotContain("NFLB-");
            assertThat(kernel.flush().chainsRemoved()).isEqualTo(2);
            assertThat(kernel.save()).doesNotContain("NFLB-");
        }
    }
}
