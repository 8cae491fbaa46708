package io.nflb.firewall;

import io.nflb.host.Exec;
import io.nflb.lab.Servers;
import io.nflb.state.Generations;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The nflb command line as a separate process (so SSH_CONNECTION can be faked), in a namespace holding
 * other tools' rules: the lockout guard refuses, diff shows the change, an unconfirmed apply is rolled back by
 * its detached timer, a confirmed one stays, and rollback steps back; other tools' rules never change.
 */
class SafeApplyNetnsTest {

    private static final String FOREIGN_IPTABLES = """
            *filter
            :FOREIGN - [0:0]
            -A INPUT -s 198.51.100.7/32 -j DROP
            -A FORWARD -p tcp -m tcp --dport 9999 -j FOREIGN
            -A FOREIGN -j REJECT --reject-with icmp-port-unreachable
            COMMIT
            *nat
            -A POSTROUTING -s 10.9.0.0/16 -j MASQUERADE
            COMMIT
            """;
    private static final String FOREIGN_NFT = """
            table inet foreign {
            	chain input {
            		type filter hook input priority filter + 10; policy accept;
            		tcp dport 9999 drop
            	}
            }
            """;
    private static final String SERVICES = """
            backend: %s
            services:
              - name: web
                listen: {address: 192.168.1.1, port: 80}
                backends: [{address: 192.168.2.2}]
              - name: web6
                listen: {address: "fd00:1::1", port: 80}
                backends: [{address: "fd00:2::2"}]
            """;
    private static final String FIREWALL = """
            firewall:
              allow:
                - {protocol: tcp, ports: [22], from: [10.0.0.0/8]}
            """;
    private static final String SSH = "192.168.1.2 50000 192.168.1.1 22";

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"iptables", "nftables"})
    void guardDiffConfirmAndRollbackTouchOnlyNflbsRules(String backend) throws Exception {
        KernelTests.require("ip", "iptables-restore", "ip6tables-restore", "nft", "setsid");
        Path state = dir.resolve("state");
        Path services = dir.resolve("services.yaml"), firewall = dir.resolve("firewall.yaml");
        Files.writeString(services, SERVICES.formatted(backend));
        Files.writeString(firewall, SERVICES.formatted(backend) + FIREWALL);
        List<Long> timers = new ArrayList<>();
        try (Netns ns = Netns.create("safe")) {
            Exec k = ns.exec();
            k.check(List.of("iptables-restore", "--noflush"), FOREIGN_IPTABLES);
            k.check(List.of("ip6tables-restore", "--noflush"), FOREIGN_IPTABLES.replace("198.51.100.7/32", "2001:db8::7/128")
                    .replace("10.9.0.0/16", "fd09::/64").replace("icmp-port-unreachable", "icmp6-port-unreachable"));
            k.check(List.of("nft", "-f", "/dev/stdin"), FOREIGN_NFT);

            var ok = nflb(ns, Map.of(), "apply", "-c", services.toString());
            assertThat(ok.exitCode()).as(ok.command() + "\n" + ok.stdout() + ok.stderr()).isZero();
            Snapshot gen1 = Snapshot.of(k);
            assertThat(gen1.nflb()).contains("web");

            // The guard: ssh from 192.168.1.2 is not in the allow list.
            var refused = nflb(ns, Map.of("SSH_CONNECTION", SSH), "apply", "-c", firewall.toString());
            assertThat(refused.exitCode()).isEqualTo(1);
            assertThat(refused.stderr()).contains("refusing to apply", "tcp 192.168.1.2 port 50000 -> 192.168.1.1 port 22",
                    "\"nflb policy input drop\"", "allow 1: from [10.0.0.0/8] excludes 192.168.1.2", "--force");
            assertThat(Snapshot.of(k)).as("nothing applied").isEqualTo(gen1);
            assertThat(new Generations(state).current()).isEqualTo(1);

            var diff = nflb(ns, Map.of(), "diff", "-c", firewall.toString());
            assertThat(diff.exitCode()).as(diff.stderr()).isZero();
            assertThat(diff.stdout()).contains(backend.equals("iptables") ? "+-A NFLB-INPUT -m conntrack --ctstate INVALID -j DROP"
                    : "+\t\tct state invalid drop").contains("--- ", "+++ ").doesNotContain("FOREIGN", "foreign");
            assertThat(nflb(ns, Map.of(), "diff", "-c", services.toString()).stdout()).isEqualTo("# nothing would change\n");

            // Applied with --force and --confirm, not confirmed: the timer puts generation 1 back.
            var pending = nflb(ns, Map.of("SSH_CONNECTION", SSH), "apply", "--force", "--confirm", "2s", "-c", firewall.toString());
            assertThat(pending.exitCode()).as(pending.stderr()).isZero();
            timers.add(timerPid(pending.stdout()));
            assertThat(Snapshot.of(k).nflb()).contains(backend.equals("iptables") ? "NFLB-INPUT" : "fw_input");
            // Another tool changes its rules meanwhile; the rollback must keep that too.
            k.check(List.of("iptables", "-A", "FORWARD", "-s", "203.0.113.9/32", "-j", "DROP"));
            String foreignMeanwhile = Snapshot.of(k).foreign();
            awaitExit(timers.get(0));
            assertThat(Files.readString(state.resolve("confirm-timer.log"))).contains("not confirmed within 2000ms",
                    "rolled back from generation 2 to generation 1");
            Snapshot rolledBack = Snapshot.of(k);
            assertThat(rolledBack.nflb()).as("nflb's rules as in generation 1").isEqualTo(gen1.nflb());
            assertThat(rolledBack.foreign()).as("other tools' rules byte-identical").isEqualTo(foreignMeanwhile);
            assertThat(new Generations(state).current()).isEqualTo(1);

            // Confirmed in time: it stays.
            var kept = nflb(ns, Map.of(), "apply", "--confirm", "2s", "-c", firewall.toString());
            timers.add(timerPid(kept.stdout()));
            var confirmed = nflb(ns, Map.of(), "confirm");
            assertThat(confirmed.stdout()).contains("generation 3 confirmed");
            awaitExit(timers.get(1));
            Snapshot gen3 = Snapshot.of(k);
            assertThat(gen3.nflb()).contains(backend.equals("iptables") ? "NFLB-INPUT" : "fw_input");
            assertThat(new Generations(state).current()).isEqualTo(3);
            assertThat(nflb(ns, Map.of(), "confirm").exitCode()).as("nothing left to confirm").isEqualTo(1);

            // By hand: back to the generation before, then to nothing of nflb's at all.
            assertThat(nflb(ns, Map.of(), "rollback").stdout()).contains("rolled back from generation 3 to generation 2");
            assertThat(Snapshot.of(k).nflb()).isEqualTo(gen3.nflb()); // 2 had the same config as 3
            nflb(ns, Map.of(), "rollback");
            assertThat(Snapshot.of(k).nflb()).isEqualTo(gen1.nflb());
            assertThat(nflb(ns, Map.of(), "rollback").stdout()).contains("to 0 (nothing of nflb's)");
            Snapshot none = Snapshot.of(k);
            assertThat(none.nflb()).isEmpty();
            assertThat(none.foreign()).isEqualTo(foreignMeanwhile);

            // Two unconfirmed applies in a row: the second's timer goes back to before the first, not to it.
            var first = nflb(ns, Map.of(), "apply", "--confirm", "60s", "-c", services.toString());
            timers.add(timerPid(first.stdout()));
            var second = nflb(ns, Map.of(), "apply", "--confirm", "2s", "-c", firewall.toString());
            assertThat(second.stdout()).contains("or nflb's rules go back to none (generation 0)");
            timers.add(timerPid(second.stdout()));
            awaitExit(timers.get(timers.size() - 1));
            assertThat(Snapshot.of(k)).isEqualTo(none);
            assertThat(new Generations(state).current()).isZero();
        } finally {
            for (long pid : timers) ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    /** Runs the nflb CLI in its own JVM, as an operator would. */
    private Exec.Result nflb(Netns ns, Map<String, String> env, String... args) {
        List<String> argv = new ArrayList<>(List.of(args));
        // confirm has no --netns: it only touches the state directory.
        if (!args[0].equals("confirm")) argv.addAll(List.of("--netns", ns.name()));
        if (!args[0].equals("diff")) argv.addAll(List.of("--state-dir", dir.resolve("state").toString()));
        return Exec.host().run(Servers.java("io.nflb.cli.Main", argv.toArray(String[]::new)), env, null, Duration.ofSeconds(60));
    }

    private static long timerPid(String stdout) {
        Matcher m = Pattern.compile("timer pid (\\d+)").matcher(stdout);
        assertThat(m.find()).as(stdout).isTrue();
        return Long.parseLong(m.group(1));
    }

    private static void awaitExit(long pid) throws Exception {
        Optional<ProcessHandle> p = ProcessHandle.of(pid);
        if (p.isPresent()) p.get().onExit().get(60, java.util.concurrent.TimeUnit.SECONDS);
    }

    /** nflb's rules (its iptables lines, its nft table) and everyone else's, as the kernel prints them. */
    record Snapshot(String nflb, String foreign) {
        static Snapshot of(Exec k) {
            StringBuilder nflb = new StringBuilder(), foreign = new StringBuilder();
            for (String tool : List.of("iptables-save", "ip6tables-save")) {
                for (String line : k.check(List.of(tool)).stdout().split("\n")) {
                    if (line.startsWith("#")) continue;
                    (line.contains("NFLB") ? nflb : foreign).append(line).append('\n');
                }
            }
            Exec.Result table = k.run(List.of("nft", "-s", "list", "table", "inet", "nflb"));
            // The generation token in set gen is new with every full write of the table; it says nothing about the rules.
            if (table.ok()) nflb.append(table.stdout().replaceAll("(set gen \\{[^}]*elements = \\{ )0x[0-9a-f]+", "$1TOKEN"));
            foreign.append(k.check(List.of("nft", "-s", "list", "table", "inet", "foreign")).stdout());
            return new Snapshot(nflb.toString(), foreign.toString());
        }
    }
}
