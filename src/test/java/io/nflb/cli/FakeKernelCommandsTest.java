package io.nflb.cli;

import io.nflb.testing.FakeKernel;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The commands that read or write rules, against an in-memory kernel of each language: no root, no namespace. */
class FakeKernelCommandsTest {

    @TempDir
    Path dir;

    private static Cli.Ran nflb(FakeKernel kernel, String... args) {
        return Cli.run(kernel.dataplanes(), args);
    }

    private static final String CONFIG = """
            services:
              - name: web
                listen: {address: 10.99.0.1, port: 80}
                scheduler: round-robin
                backends:
                  - {address: 10.99.1.2, weight: 1}
                  - {address: 10.99.1.3, weight: 2}
            """;

    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void planDiffApplyStatusExplainFlush(FakeKernel.Language language) throws Exception {
        FakeKernel kernel = new FakeKernel(language);
        boolean ipt = language == FakeKernel.Language.IPTABLES;
        Path cfg = dir.resolve("nflb.yaml");
        Files.writeString(cfg, CONFIG);
        String c = cfg.toString();
        String state = dir.resolve("state").toString();
        String socket = dir.resolve("no-daemon.sock").toString();

        Cli.Ran plan = nflb(kernel, "plan", "-c", c);
        assertThat(plan.code()).as(plan.err()).isZero();
        assertThat(plan.out()).contains(ipt ? "-j DNAT --to-destination 10.99.1.3:80" : "10.99.1.3 . 80");

        Cli.Ran diff = nflb(kernel, "diff", "-c", c);
        assertThat(diff.out()).contains("+++ " + (ipt ? "iptables" : "table inet nflb") + " (" + c + ")")
                .contains(ipt ? "+-A NFLB-SERVICES" : "+\t\ttype nat hook prerouting");

        Cli.Ran apply = nflb(kernel, "apply", "-c", c, "--state-dir", state);
        assertThat(apply.code()).as(apply.err()).isZero();
        assertThat(apply.out()).contains(ipt ? "chains written" : "table replaced (table missing)", "generation 1 recorded");
        assertThat(kernel.rules()).contains(kernel.endpoint("10.99.1.2:80"), kernel.endpoint("10.99.1.3:80"));
        assertThat(nflb(kernel, "apply", "-c", c, "--state-dir", state).out()).contains("already up to date");
        assertThat(nflb(kernel, "diff", "-c", c).out()).isEqualTo("# nothing would change\n");
        assertThat(nflb(kernel, "plan", "--live", "-c", c).out()).isEqualTo(ipt ? "# nothing to change\n" : plan.out());

        Cli.Ran status = nflb(kernel, "status", "--json", "--socket", socket, "--state-dir", state);
        assertThat(status.out()).contains("\"installed\":[\"" + (ipt ? "iptables" : "nftables") + "\"]",
                "{\"name\":\"web\",\"connections\":0", "\"endpoint\":\"10.99.1.2:80\"", "\"endpoint\":\"10.99.1.3:80\"");

        Cli.Ran explain = nflb(kernel, "explain", "--json", "-c", c);
        assertThat(explain.out()).contains("\"endpoint\":\"10.99.1.3:80\",\"weight\":2,\"expected\":\"2/3\",\"actual\":\"2/3\"");

        Cli.Ran flush = nflb(kernel, "flush");
        assertThat(flush.out()).contains(ipt ? "iptables: 3 chains and 3 jumps removed" : "nftables: table inet nflb deleted");
        assertThat(kernel.rules()).doesNotContain("10.99.1.2");
        assertThat(nflb(kernel, "status", "--socket", socket, "--state-dir", state).out()).contains("no rules installed");
    }

    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void aRefusedApplyChangesNothingAndRecordsNoGeneration(FakeKernel.Language language) throws Exception {
        FakeKernel kernel = new FakeKernel(language);
        Path cfg = dir.resolve("nflb.yaml");
        Files.writeString(cfg, CONFIG);
        String state = dir.resolve("state").toString();
        kernel.refuseLinesContaining("10.99.1.3");
        Cli.Ran apply = nflb(kernel, "apply", "-c", cfg.toString(), "--state-dir", state);
        assertThat(apply.code()).isEqualTo(1);
        assertThat(apply.err()).contains("refused");
        assertThat(kernel.rules()).doesNotContain("10.99.1.2");
        assertThat(kernel.committed()).isEmpty();
        assertThat(dir.resolve("state").resolve("gen-000001")).doesNotExist();
    }

    @ParameterizedTest
    @EnumSource(FakeKernel.Language.class)
    void fastpathIsRefusedBeforeAnythingIsAppliedAndSaysWhy(FakeKernel.Language language) throws Exception {
        FakeKernel kernel = new FakeKernel(language);
        Path cfg = dir.resolve("nflb.yaml");
        Files.writeString(cfg, "fastpath: true\n" + CONFIG);
        String state = dir.resolve("state").toString();
        assertThat(nflb(kernel, "validate", "-c", cfg.toString()).code()).as("a valid config").isZero();
        String before = kernel.rules();
        Cli.Ran apply = nflb(kernel, "apply", "-c", cfg.toString(), "--state-dir", state);
        assertThat(apply.code()).isEqualTo(Main.FAILURE);
        assertThat(apply.err()).contains("fastpath: true needs flowtables, and this kernel has none (nf_flow_table: CONFIG_NF_FLOW_TABLE",
                "nothing was applied");
        assertThat(kernel.rules()).isEqualTo(before);
        assertThat(Files.exists(dir.resolve("state").resolve("current"))).as("no generation").isFalse();
        Cli.Ran run = nflb(kernel, "run", "-c", cfg.toString(), "--listen", "off", "--socket", dir.resolve("s.sock").toString(),
                "--pid-file", dir.resolve("pid").toString());
        assertThat(run.code()).isEqualTo(Main.FAILURE);
        assertThat(run.err()).contains("needs flowtables");
        assertThat(kernel.rules()).isEqualTo(before);

        // A kernel with flowtables: still refused, nflb renders none yet.
        Cli.Ran capable = Cli.run(new io.nflb.dataplane.Dataplanes(e -> kernel.dataplane(), e -> kernel.dataplane(), e -> true, e -> true),
                "apply", "-c", cfg.toString(), "--state-dir", state);
        assertThat(capable.code()).isEqualTo(Main.FAILURE);
        assertThat(capable.err()).contains("this kernel has flowtables, but nflb does not render them yet");
        assertThat(kernel.rules()).isEqualTo(before);
    }
}
