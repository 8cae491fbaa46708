package io.nflb.cli;

import io.nflb.dataplane.Dataplanes;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class MainTest {

    @TempDir
    Path dir;

    private static Cli.Ran nflb(String... args) {
        return Cli.run(Dataplanes.REAL, args);
    }

    private Path write(String name, String yaml) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, yaml);
        return p;
    }

    private static final String GOOD = """
            backend: iptables
            services:
              - name: web
                listen: {address: 10.99.0.1, port: 80}
                scheduler: round-robin
                backends:
                  - {address: 10.99.1.2, weight: 1}
                  - {address: 10.99.1.3, weight: 2}
            """;

    @Test
    void badConfigExitsTwoWithEveryErrorAndItsPosition() throws Exception {
        Path bad = write("bad.yaml", """
                services:
                  - name: web
                    listen: {port: 70000}
                    schedular: random
                    backends: []
                """);
        Cli.Ran r = nflb("apply", "-c", bad.toString(), "--state-dir", dir.resolve("state").toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains(bad + ":3:20: port 70000 is out of range", bad + ":4:5: unknown key 'schedular'; did you mean 'scheduler'?",
                bad + ":5:15:", "nothing applied");
    }

    @Test
    void unknownOptionIsAUsageError() {
        assertThat(nflb("plan", "--frobnicate").code()).isEqualTo(2);
    }

    @Test
    void planPrintsTheRestoreInputWithoutRoot() throws Exception {
        Cli.Ran r = nflb("plan", "-c", write("good.yaml", GOOD).toString());
        assertThat(r.code()).isZero();
        assertThat(r.out()).startsWith("*nat\n").contains("-I PREROUTING 1 -m comment --comment \"nflb service portals\" -j NFLB-SERVICES",
                "--mode nth --every 3 --packet 0", "-j DNAT --to-destination 10.99.1.3:80").endsWith("COMMIT\n");
    }

    @Test
    void explainShowsTheExactSharesFromTheRules() throws Exception {
        Cli.Ran r = nflb("explain", "--json", "-c", write("good.yaml", GOOD).toString());
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("\"endpoint\":\"10.99.1.2:80\",\"weight\":1,\"expected\":\"1/3\",\"actual\":\"1/3\"",
                "\"endpoint\":\"10.99.1.3:80\",\"weight\":2,\"expected\":\"2/3\",\"actual\":\"2/3\"", "\"unbalanced\":\"0\"");
    }

    @Test
    void applyStatusFlushInANamespace() throws Exception {
        KernelTests.require("ip", "iptables-restore", "iptables-save", "sysctl");
        Path cfg = write("good.yaml", GOOD);
        try (Netns ns = Netns.create("cli")) {
            Cli.Ran first = nflb("apply", "-c", cfg.toString(), "--netns", ns.name(), "--state-dir", dir.resolve("state").toString());
            assertThat(first.code()).as(first.err()).isZero();
            assertThat(first.out()).contains("chains written", "net.ipv4.ip_forward was 0; set to 1");
            String saved = ns.exec().check(List.of("iptables-save", "-t", "nat")).stdout();

            Cli.Ran second = nflb("apply", "-c", cfg.toString(), "--netns", ns.name(), "--state-dir", dir.resolve("state").toString());
            assertThat(second.out()).contains("already up to date");
            assertThat(withoutComments(ns.exec().check(List.of("iptables-save", "-t", "nat")).stdout())).isEqualTo(withoutComments(saved));

            Cli.Ran status = nflb("status", "--json", "--netns", ns.name(), "--socket", dir.resolve("no-daemon.sock").toString(), "--state-dir", dir.resolve("state").toString());
            assertThat(status.out()).contains("\"installed\":[\"iptables\"]", "\"endpoint\":\"10.99.1.2:80\"");

            assertThat(nflb("flush", "--netns", ns.name()).out()).contains("chains and 3 jumps removed");
            assertThat(ns.exec().check(List.of("iptables-save", "-t", "nat")).stdout()).doesNotContain("NFLB");
            assertThat(nflb("status", "--netns", ns.name(), "--socket", dir.resolve("no-daemon.sock").toString(), "--state-dir", dir.resolve("state").toString()).out()).contains("no rules installed");
        }
    }

    private static String withoutComments(String save) {
        return save.lines().filter(l -> !l.startsWith("#")).reduce("", (a, b) -> a + b + "\n");
    }

}
