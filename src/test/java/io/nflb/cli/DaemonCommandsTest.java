package io.nflb.cli;

import io.nflb.config.ConfigLoader;
import io.nflb.daemon.ControlSocket;
import io.nflb.daemon.Daemon;
import io.nflb.dataplane.iptables.IptablesNames;
import io.nflb.host.Exec;
import io.nflb.state.Generations;
import io.nflb.testing.FakeKernel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The daemon's commands against an in-process daemon and an in-memory kernel: reload, validate's refusals, generations. */
class DaemonCommandsTest {

    @TempDir
    Path dir;

    private static final String CONFIG = """
            backend: iptables
            services:
              - name: web
                listen: {address: 10.99.0.1, port: 80}
                backends: [{address: 10.99.1.2}, {address: 10.99.1.3}]
            """;

    @Test
    void reloadGoesOverTheSocketAndSaysWhatTheDaemonDid() throws Exception {
        FakeKernel kernel = new FakeKernel(FakeKernel.Language.IPTABLES);
        Path cfg = dir.resolve("nflb.yaml");
        Files.writeString(cfg, CONFIG);
        Path socket = dir.resolve("nflb.sock");
        try (Daemon d = new Daemon(kernel.dataplane(), ConfigLoader.parse(cfg.toString(), CONFIG), p -> true, Exec.host(), Duration.ofSeconds(5));
             ControlSocket control = ControlSocket.bind(socket)) {
            d.start();
            control.serve(d, () -> "reloaded " + cfg + " (generation " + d.reload(ConfigOption.load(cfg)).summary() + ")");
            Files.writeString(cfg, CONFIG.replace("10.99.1.3", "10.99.1.4"));
            Cli.Ran ok = Cli.run(kernel.dataplanes(), "reload", "-c", cfg.toString(), "--socket", socket.toString(),
                    "--pid-file", dir.resolve("none.pid").toString());
            assertThat(ok.code()).as(ok.err()).isZero();
            assertThat(ok.out()).contains("reloaded " + cfg, "chains written");
            assertThat(kernel.rules()).contains("10.99.1.4:80").doesNotContain("10.99.1.3:80");

            // Refused by the kernel: the daemon's reason, exit 1, and the rules stay.
            kernel.refuseLinesContaining("10.99.1.5");
            Files.writeString(cfg, CONFIG.replace("10.99.1.3", "10.99.1.5"));
            Cli.Ran refused = Cli.run(kernel.dataplanes(), "reload", "-c", cfg.toString(), "--socket", socket.toString());
            assertThat(refused.code()).isEqualTo(Main.FAILURE);
            assertThat(refused.err()).contains("refused");
            assertThat(kernel.rules()).contains("10.99.1.4:80");

            // Invalid: refused before the daemon hears of it, with positions.
            Files.writeString(cfg, CONFIG.replace("port: 80", "port: 0"));
            Cli.Ran invalid = Cli.run(kernel.dataplanes(), "reload", "-c", cfg.toString(), "--socket", socket.toString());
            assertThat(invalid.code()).isEqualTo(Main.USAGE);
            assertThat(invalid.err()).contains(cfg + ":4:40: port 0 is out of range");
        }
    }

    @Test
    void aDaemonThatIgnoresSighupDoesNotMakeReloadReportSuccess() throws Exception {
        Path cfg = dir.resolve("nflb.yaml");
        Files.writeString(cfg, CONFIG);
        Path pid = dir.resolve("nflb.pid");
        // Something that looks like nflb, ignores SIGHUP (as under nohup) and has no control socket.
        Process deaf = new ProcessBuilder("sh", "-c", "trap '' HUP; while :; do sleep 1; done", "nflb-deaf").start();
        try {
            Files.writeString(pid, deaf.pid() + "\n");
            Cli.Ran r = Cli.run(new FakeKernel(FakeKernel.Language.IPTABLES).dataplanes(), "reload", "-c", cfg.toString(),
                    "--socket", dir.resolve("nflb.sock").toString(), "--pid-file", pid.toString());
            assertThat(r.code()).isEqualTo(Main.FAILURE);
            assertThat(r.err()).contains("sent SIGHUP to pid " + deaf.pid(), "is not known here");
            assertThat(r.out()).doesNotContain("reloaded");
            assertThat(deaf.isAlive()).isTrue();
        } finally {
            deaf.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void validateRefusesNamesIptablesWouldShortenIntoOne() throws Exception {
        String longName = "abcdefghij-service-long";
        String chain = IptablesNames.service(longName);
        String shortName = chain.substring("NFLB-SVC-".length()); // 19 characters: kept whole, and equal
        assertThat(IptablesNames.service(shortName)).isEqualTo(chain);
        Path cfg = dir.resolve("collide.yaml");
        Files.writeString(cfg, """
                backend: auto
                services:
                  - name: %s
                    listen: {address: 10.99.0.1, port: 80}
                    backends: [{address: 10.99.1.2}]
                  - name: %s
                    listen: {address: 10.99.0.2, port: 80}
                    backends: [{address: 10.99.1.2}]
                """.formatted(longName, shortName));
        Cli.Ran r = Cli.run(new FakeKernel(FakeKernel.Language.IPTABLES).dataplanes(), "validate", "-c", cfg.toString());
        assertThat(r.code()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains(cfg + ":6:11: iptables would name service '" + shortName + "' and service '" + longName
                + "' the same (" + chain + ", shortened to fit iptables' limit)");
        Files.writeString(cfg, Files.readString(cfg).replace("backend: auto", "backend: nftables"));
        assertThat(Cli.run(new FakeKernel(FakeKernel.Language.NFTABLES).dataplanes(), "validate", "-c", cfg.toString()).code())
                .as("nftables names are not shortened").isZero();
    }

    @Test
    void anApplyThatChangesNothingRecordsNoGeneration() throws Exception {
        FakeKernel kernel = new FakeKernel(FakeKernel.Language.NFTABLES);
        Path cfg = dir.resolve("nflb.yaml");
        Files.writeString(cfg, CONFIG.replace("iptables", "nftables"));
        String state = dir.resolve("state").toString();
        assertThat(Cli.run(kernel.dataplanes(), "apply", "-c", cfg.toString(), "--state-dir", state).out()).contains("generation 1 recorded");
        for (int i = 0; i < 7; i++) {
            Cli.Ran again = Cli.run(kernel.dataplanes(), "apply", "-c", cfg.toString(), "--state-dir", state);
            assertThat(again.out()).contains("nothing changed: generation 1").doesNotContain("recorded");
        }
        Files.writeString(cfg, CONFIG.replace("iptables", "nftables").replace("10.99.1.3", "10.99.1.4"));
        assertThat(Cli.run(kernel.dataplanes(), "apply", "-c", cfg.toString(), "--state-dir", state).out()).contains("generation 2 recorded");
        assertThat(new Generations(dir.resolve("state")).list()).containsExactly(1, 2);
    }

    @Test
    void aDeadConfirmTimerIsSaidLoudlyByStatusAndConfirm() throws Exception {
        Generations g = new Generations(dir.resolve("state"));
        g.record("services: []\n", "nftables", "");
        g.record("services: []\n", "nftables", "x");
        Process timer = new ProcessBuilder("sleep", "60").start();
        long pid = timer.pid();
        g.setPending(new Generations.Pending("0123456789abcdef", 2, 1, pid, System.currentTimeMillis() + 60_000));
        assertThat(SafeApply.deadTimer(g)).as("a timer that lives but is not ours by its command line").isPresent();
        timer.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        Optional<String> dead = SafeApply.deadTimer(g);
        assertThat(dead).get().asString().contains("generation 2 waits for `nflb confirm`", "(pid " + pid + ") is gone",
                "nothing will roll it back", "generation 1");
        FakeKernel kernel = new FakeKernel(FakeKernel.Language.NFTABLES);
        Cli.Ran status = Cli.run(kernel.dataplanes(), "status", "--socket", dir.resolve("none.sock").toString(),
                "--state-dir", dir.resolve("state").toString());
        assertThat(status.out()).contains("WARNING: generation 2 waits for `nflb confirm`");
        assertThat(status.err()).contains("is gone");
        Cli.Ran confirm = Cli.run(kernel.dataplanes(), "confirm", "--state-dir", dir.resolve("state").toString());
        assertThat(confirm.err()).contains("is gone");
        assertThat(confirm.out()).contains("generation 2 confirmed");
        assertThat(SafeApply.deadTimer(g)).isEmpty();
        assertThat(List.of(g.current())).containsExactly(2);
    }

    @Test
    void runRefusesATakenPortBeforeItTouchesTheKernel() throws Exception {
        FakeKernel kernel = new FakeKernel(FakeKernel.Language.NFTABLES);
        Path cfg = dir.resolve("nflb.yaml");
        Files.writeString(cfg, CONFIG.replace("iptables", "nftables"));
        Path pid = dir.resolve("nflb.pid");
        Path socket = dir.resolve("run/nflb.sock");
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Cli.Ran r = Cli.run(kernel.dataplanes(), "run", "-c", cfg.toString(), "--listen", "127.0.0.1:" + taken.getLocalPort(),
                    "--socket", socket.toString(), "--pid-file", pid.toString(), "--state-dir", dir.resolve("state").toString());
            assertThat(r.code()).isEqualTo(Main.FAILURE);
            assertThat(r.err()).contains("cannot listen on 127.0.0.1:" + taken.getLocalPort());
        }
        assertThat(kernel.committed()).as("nothing applied").isEmpty();
        assertThat(pid).as("pid file removed").doesNotExist();
        assertThat(socket).as("socket removed").doesNotExist();
    }
}
