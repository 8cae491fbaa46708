package io.nflb.cli;

import io.nflb.config.ConfigSchema;
import io.nflb.config.JsonSchema;
import io.nflb.config.Schema;
import io.nflb.dataplane.Dataplanes;
import io.nflb.state.Generations;
import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

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

    private static final String NOTHING = "# nothing would change\n";

    @Test
    void nftApplyTrustsTheTokenItLeftAndReadsBackOnRequest() throws Exception {
        KernelTests.require("ip", "nft", "sysctl");
        String yaml = GOOD.replace("backend: iptables", "backend: nftables");
        Path cfg = write("nft.yaml", yaml);
        String state = dir.resolve("state").toString();
        try (Netns ns = Netns.create("mark")) {
            Cli.Ran first = nflb("apply", "-c", cfg.toString(), "--netns", ns.name(), "--state-dir", state);
            assertThat(first.out()).as(first.err()).contains("table replaced (table missing)", "generation 1 recorded");
            assertThat(new Generations(dir.resolve("state")).mark(1)).isPresent();

            Cli.Ran same = nflb("apply", "-c", cfg.toString(), "--netns", ns.name(), "--state-dir", state);
            assertThat(same.out()).contains("already up to date (the table holds the last apply's generation token)",
                    "nothing changed: generation 1");

            // A change goes as the difference from the recorded rules, guarded by the token.
            Files.writeString(cfg, yaml.replace("weight: 2", "weight: 3"));
            Cli.Ran changed = nflb("apply", "-c", cfg.toString(), "--netns", ns.name(), "--state-dir", state);
            assertThat(changed.out()).contains("changed by difference (the table holds the last apply's generation token)", "generation 2 recorded");
            assertThat(nflb("diff", "-c", cfg.toString(), "--netns", ns.name()).out()).as("the kernel holds the config's rules").isEqualTo(NOTHING);

            // An edit that leaves the token alone is not seen by the token, but a read-back on request sees it.
            ns.exec().check(List.of("nft", "flush", "chain", "inet", "nflb", "prerouting"));
            assertThat(nflb("apply", "-c", cfg.toString(), "--netns", ns.name(), "--state-dir", state).out()).contains("already up to date");
            Cli.Ran verified = nflb("apply", "--verify", "-c", cfg.toString(), "--netns", ns.name(), "--state-dir", state);
            assertThat(verified.out()).contains("changed by difference");
            assertThat(nflb("diff", "-c", cfg.toString(), "--netns", ns.name()).out()).isEqualTo(NOTHING);

            // Someone else's write replaces the token: the table is read back in full and put right.
            ns.exec().check(List.of("nft", "delete", "table", "inet", "nflb"));
            assertThat(nflb("apply", "-c", cfg.toString(), "--netns", ns.name(), "--state-dir", state).out()).contains("table replaced (table missing)");
            ns.exec().check(List.of("nft", "flush", "set", "inet", "nflb", "gen"));
            ns.exec().check(List.of("nft", "add", "element", "inet", "nflb", "gen", "{ 0x00000001 }"));
            ns.exec().check(List.of("nft", "flush", "chain", "inet", "nflb", "prerouting"));
            assertThat(nflb("apply", "-c", cfg.toString(), "--netns", ns.name(), "--state-dir", state).out())
                    .contains("changed by difference").doesNotContain("generation token");
            assertThat(nflb("diff", "-c", cfg.toString(), "--netns", ns.name()).out()).isEqualTo(NOTHING);
        }
    }

    @Test
    void fastpathOnThisKernelIsRefusedWithTheMissingSupportNamed() throws Exception {
        KernelTests.require("ip", "nft");
        Path cfg = write("fast.yaml", "fastpath: true\n" + GOOD.replace("backend: iptables", "backend: nftables"));
        try (Netns ns = Netns.create("fastpath")) {
            String before = ns.exec().check(List.of("nft", "list", "ruleset")).stdout();
            Cli.Ran r = nflb("apply", "-c", cfg.toString(), "--netns", ns.name(), "--state-dir", dir.resolve("state").toString());
            assertThat(r.code()).isEqualTo(Main.FAILURE);
            assertThat(r.err()).contains("fastpath: true", "nothing was applied");
            // Either way it is refused: without flowtables (this machine kind) it says which kernel support is missing.
            if (!io.nflb.dataplane.Dataplanes.flowtablesWork(ns.exec())) assertThat(r.err()).contains("CONFIG_NF_FLOW_TABLE");
            assertThat(ns.exec().check(List.of("nft", "list", "ruleset")).stdout()).isEqualTo(before);
        }
    }

    /** Every visible command below {@code cl}, as the words that run it ("backend drain"). */
    private static List<String> commandPaths(CommandLine cl, String prefix) {
        List<String> paths = new ArrayList<>();
        for (CommandLine sub : ManPages.visibleSubcommands(cl.getCommandSpec())) {
            String path = (prefix + " " + sub.getCommandName()).strip();
            paths.add(path);
            paths.addAll(commandPaths(sub, path));
        }
        return paths;
    }

    @Test
    void everyCommandHasHelpAndItsSummaryIsOneWholeSentenceInTheList() {
        List<String> paths = commandPaths(Main.commandLine(), "");
        assertThat(paths).contains("validate", "apply", "restore", "backend drain", "lab down").doesNotContain("__complete");
        String list = nflb("--help").out().replaceAll("\\s+", " ");
        for (String path : paths) {
            Cli.Ran help = nflb((path + " --help").split(" "));
            assertThat(help.code()).as(path).isZero();
            assertThat(help.out()).as(path).startsWith("Usage: nflb " + path).contains("-h, --help");
            CommandLine cl = Main.commandLine();
            for (String word : path.split(" ")) cl = cl.getSubcommands().get(word);
            String summary = ManPages.summary(cl.getCommandSpec());
            assertThat(summary).as(path).matches("[A-Z][^`]*(`[^`]*`[^`]*)*\\.").doesNotContain(". ");
            if (!path.contains(" ")) assertThat(list).as(path).contains(path + " " + summary);
        }
    }

    @Test
    void descriptionsAreWholeParagraphsThatWrapAtTheWidthNotInTheSource() {
        CommandLine cl = Main.commandLine();
        cl.setUsageHelpAutoWidth(false);
        cl.setUsageHelpWidth(1000);
        for (String path : commandPaths(cl, "")) {
            CommandLine sub = cl;
            for (String word : path.split(" ")) sub = sub.getSubcommands().get(word);
            List<String> lines = sub.getUsageMessage().lines().map(String::strip).toList();
            for (String paragraph : sub.getCommandSpec().usageMessage().description()) {
                assertThat(lines).as(path).contains(paragraph);
                assertThat(paragraph).as(path).matches(".*[.)]");
            }
        }
    }

    @Test
    void schemaPrintsTheJsonSchemaOfTheConfig() {
        Cli.Ran r = nflb("schema");
        assertThat(r.code()).isZero();
        assertThat(r.out()).isEqualTo(JsonSchema.render(ConfigSchema.ROOT))
                .startsWith("{\n  \"$schema\": \"http://json-schema.org/draft-07/schema#\",");
    }

    @Test
    void validateHelpEndsWithTheKeysOfEachMappingAndKeysListsEveryKey() {
        String help = nflb("validate", "--help").out();
        assertThat(help).contains("`nflb validate --keys`", "(top level): backend services firewall daemon ha fastpath\n",
                "  services[].backends[]: address port weight health\n", "  firewall.forward[]: as firewall.allow[]\n");
        for (Schema.Section s : Schema.sections(ConfigSchema.ROOT)) {
            for (String key : s.spec().keyNames()) assertThat(help.replaceAll("\\s+", " ")).as(s.path()).contains(" " + key + " ");
        }
        Cli.Ran keys = nflb("validate", "--keys", "-c", "/nonexistent.yaml");
        assertThat(keys.code()).isZero();
        assertThat(keys.out()).contains("services[].health.expect_status  integer 100..599; default: 200\n"
                        + "    The status an http check's answer must have.\n",
                "services[].backends[].port  integer 1..65535; default: listen.port\n",
                "services[].backends[].health  as services[].health; default: the service's",
                "firewall.log_drops.prefix  ");
        long distinctKeys = Schema.sections(ConfigSchema.ROOT).stream().filter(s -> s.sameAs().isEmpty())
                .mapToLong(s -> s.spec().keys().size()).sum();
        assertThat(keys.out().lines().filter(l -> !l.startsWith(" ")).count()).as("one line per key and its type")
                .isEqualTo(distinctKeys);
    }

    @Test
    void versionNamesTheBuildAndItsCommit() throws Exception {
        Properties built = new Properties();
        try (var in = BuildInfo.class.getResourceAsStream(BuildInfo.RESOURCE)) {
            assertThat(in).as("the build writes " + BuildInfo.RESOURCE).isNotNull();
            built.load(in);
        }
        Cli.Ran r = nflb("--version");
        assertThat(r.code()).isZero();
        assertThat(r.out()).startsWith("nflb " + built.getProperty("version") + " (commit " + built.getProperty("commit") + ")\n");
        assertThat(built.getProperty("commit")).matches("[0-9a-f]{12}(-dirty)?|unknown");
        assertThat(nflb("apply", "--version").out()).isEqualTo(r.out());
    }

    @Test
    void completionNamesComeFromTheConfigAndAnInvalidOneGivesNone() throws Exception {
        Path cfg = write("c.yaml", """
                services:
                  - name: web
                    listen: {port: 80}
                    backends: [{address: 10.1.0.2}, {address: 10.1.0.3, port: 80}, {address: 10.1.0.3, port: 8080}]
                  - name: dns6
                    protocol: udp
                    listen: {port: 53}
                    backends: [{address: "2001:db8::53"}]
                """);
        assertThat(nflb("__complete", "services", "-c", cfg.toString()).out()).isEqualTo("web\ndns6\n");
        assertThat(nflb("__complete", "backends", "web", "-c", cfg.toString()).out()).isEqualTo("10.1.0.2\n10.1.0.3:80\n10.1.0.3:8080\n");
        assertThat(nflb("__complete", "backends", "dns6", "-c", cfg.toString()).out()).isEqualTo("2001:db8::53\n");
        Cli.Ran broken = nflb("__complete", "services", "-c", write("bad.yaml", "services: [{name: web}]").toString());
        assertThat(broken.code()).isEqualTo(1);
        assertThat(broken.out() + broken.err()).isEmpty();
    }

    @Test
    void restoreWithNothingRecordedChangesNothing() {
        Path state = dir.resolve("empty-state");
        Cli.Ran r = nflb("restore", "--state-dir", state.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("nothing to restore");
        assertThat(state).doesNotExist();
    }

    @Test
    void restorePutsTheLastConfirmedGenerationBackAsAtBoot() throws Exception {
        KernelTests.require("ip", "iptables-restore", "iptables-save", "sysctl");
        Path state = dir.resolve("state");
        Path first = write("first.yaml", GOOD);
        Path second = write("second.yaml", GOOD.replace("10.99.1.3", "10.99.1.4"));
        try (Netns ns = Netns.create("restore")) {
            assertThat(nflb("apply", "-c", first.toString(), "--netns", ns.name(), "--state-dir", state.toString()).code()).isZero();
            assertThat(nflb("flush", "--netns", ns.name()).code()).isZero();
            ns.exec().check(List.of("sysctl", "-w", "net.ipv4.ip_forward=0"));

            Cli.Ran restored = nflb("restore", "--netns", ns.name(), "--state-dir", state.toString());
            assertThat(restored.code()).as(restored.err()).isZero();
            assertThat(restored.out()).contains("restored generation 1 (iptables)", "net.ipv4.ip_forward was 0; set to 1");
            assertThat(ns.exec().check(List.of("iptables-save", "-t", "nat")).stdout()).contains("--to-destination 10.99.1.3:80");

            // Generation 2 waits for a confirmation when the machine goes down: at boot the one before it comes back.
            assertThat(nflb("apply", "-c", second.toString(), "--netns", ns.name(), "--state-dir", state.toString()).code()).isZero();
            Generations g = new Generations(state);
            g.setPending(new Generations.Pending("0123456789abcdef", 2, 1));
            assertThat(nflb("flush", "--netns", ns.name()).code()).isZero();
            Cli.Ran unconfirmed = nflb("restore", "--netns", ns.name(), "--state-dir", state.toString());
            assertThat(unconfirmed.out()).contains("generation 2 was never confirmed", "restored generation 1");
            String nat = ns.exec().check(List.of("iptables-save", "-t", "nat")).stdout();
            assertThat(nat).contains("--to-destination 10.99.1.3:80").doesNotContain("10.99.1.4");
            assertThat(g.current()).isEqualTo(1);
            assertThat(g.pending()).isEmpty();
        }
    }

    private static String withoutComments(String save) {
        return save.lines().filter(l -> !l.startsWith("#")).reduce("", (a, b) -> a + b + "\n");
    }

}
