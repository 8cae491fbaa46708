package io.nflb.neighbours;

import io.nflb.cli.Cli;
import io.nflb.dataplane.Dataplanes;
import io.nflb.host.Exec;
import io.nflb.model.NeighbourKind;
import io.nflb.testing.KernelTests;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 15 end to end, per neighbour and backend, in namespaces with real traffic: the neighbour's rules as its
 * tool wrote them (the fixtures), its flows before nflb; {@code nflb apply} of a default-drop firewall (the
 * in-process command line, over the real tools); the neighbour's flows still pass with the default setting,
 * its rules stay byte-identical; {@code ignore} is refused without --force, naming the neighbour, the
 * interface or chain and the config key, and {@code diff} shows the same; {@code restrict} filters published
 * ports and node ports by the allow list (one documented nflb jump in DOCKER-USER); the neighbour reloads its
 * rules the way it does when it restarts, and the next apply (the daemon's resync runs the same) puts nflb's
 * back where they belong. Every outcome is written to target/neighbours-connectivity.txt.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NeighboursNetnsTest {

    private static final Path RESULTS = Path.of("target/neighbours-connectivity.txt");
    private static final List<String> ALWAYS = List.of("ssh_in", "nflb_service");

    private NeighbourLab lab;

    @TempDir
    Path dir;

    @BeforeAll
    void up() throws Exception {
        KernelTests.require("ip", "iptables-restore", "ip6tables-restore", "nft", "conntrack");
        lab = NeighbourLab.up();
        Files.deleteIfExists(RESULTS);
    }

    @AfterAll
    void down() {
        if (lab != null) lab.close();
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        String only = System.getProperty("nflb.neighbours.only", "");
        for (String n : List.of("docker", "docker-legacy", "docker-nft", "libvirt", "libvirt-nft", "kube-proxy", "kube-proxy-nft", "ufw", "firewalld", "fail2ban")) {
            for (String backend : List.of("iptables", "nftables")) {
                if (only.isEmpty() || only.equals(n) || only.equals(n + "/" + backend)) out.add(Arguments.of(n, backend));
            }
        }
        return out.stream();
    }

    /** What the neighbour manages, as flows of the lab. */
    private static List<String> flows(String fixture) {
        return switch (kind(fixture)) {
            case DOCKER -> List.of("container_out", "published_in", "published_in_other");
            case LIBVIRT -> List.of("vm_out", "vm_dns_to_host");
            case KUBE_PROXY -> List.of("nodeport_in", "nodeport_in_other", "clusterip_from_pod");
            case UFW, FIREWALLD -> List.of("hostfw_only_port", "nflb_only_port");
            default -> List.of("ssh_in_banned");
        };
    }

    private static NeighbourKind kind(String fixture) {
        return NeighbourKind.byKeyword(fixture.replace("-nft", "").replace("-legacy", "")).orElseThrow();
    }

    /** The flows' outcomes, a second chance given to those {@code expected} to pass. */
    private Map<String, Boolean> probe(List<String> flows, Map<String, Boolean> expected) throws Exception {
        return lab.probe(flows, expected.entrySet().stream().filter(e -> !e.getValue()).map(Map.Entry::getKey).toList());
    }

    /** Every flow passes, but those listed. */
    private static Map<String, Boolean> expect(List<String> flows, String... dropped) {
        Map<String, Boolean> out = new LinkedHashMap<>();
        for (String f : flows) out.put(f, !List.of(dropped).contains(f));
        return out;
    }

    private static String config(String backend, String neighbours) {
        return NeighbourFixtures.config(backend, neighbours);
    }

    @ParameterizedTest(name = "{0} with nflb on {1}")
    @MethodSource("cases")
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void neighbourKeepsWorkingOrNflbSaysWhy(String fixture, String backend) throws Exception {
        NeighbourKind kind = kind(fixture);
        String key = kind.keyword();
        List<String> flows = new ArrayList<>(flows(fixture));
        flows.addAll(ALWAYS);
        Path state = dir.resolve("state");
        Path defaults = write("default.yaml", config(backend, ""));
        Path restrict = write("restrict.yaml", config(backend, key + ": restrict"));
        Path ignore = write("ignore.yaml", config(backend, key + ": ignore"));

        lab.reset();
        lab.load(fixture);
        // The neighbour alone: its flows pass (a host firewall refuses 2222, fail2ban's ban holds), nflb's service is not there yet.
        Map<String, Boolean> aloneExpected = switch (kind) {
            case UFW, FIREWALLD -> expect(flows, "nflb_service", "nflb_only_port");
            case FAIL2BAN -> expect(flows, "nflb_service", "ssh_in_banned");
            default -> expect(flows, "nflb_service");
        };
        Map<String, Boolean> alone = probe(flows, aloneExpected);
        assertThat(alone).as("the neighbour alone").isEqualTo(aloneExpected);
        String rules = lab.neighbourRules();

        // The default: the neighbour's traffic is the neighbour's business.
        Cli.Ran applied = nflb("apply", "-c", defaults.toString(), "--state-dir", state.toString());
        assertThat(applied.code()).as(applied.out() + applied.err()).isZero();
        assertThat(applied.out()).contains("neighbours:\n  " + key + " (");
        Map<String, Boolean> wanted = switch (kind) {
            case UFW, FIREWALLD -> expect(flows, "nflb_only_port"); // the host firewall is the authority for input
            case FAIL2BAN -> expect(flows, "ssh_in_banned"); // the ban holds
            default -> expect(flows);
        };
        Map<String, Boolean> byDefault = probe(flows, wanted);
        assertThat(byDefault).as("with the default setting").isEqualTo(wanted);
        assertThat(lab.neighbourRules()).as("the neighbour's rules, byte for byte").isEqualTo(rules);
        if (kind.hostFirewall()) {
            assertThat(applied.err()).contains(key + " does not allow tcp/2222 (firewall.allow 1)", "firewall.neighbours." + key + ": allow (default)");
        }
        if (kind == NeighbourKind.FAIL2BAN && backend.equals("iptables")) {
            assertThat(lab.chain("filter", "INPUT")).as("fail2ban's jump first, nflb's below it").first().asString().contains("-j f2b-sshd");
        }

        // ignore would drop what passes now: refused without --force, and diff says the same.
        Map<String, Boolean> restricted = null;
        Map<String, Boolean> ignored = null;
        Map<String, Boolean> expected = wanted;
        if (kind.hasMode()) {
            String before = everything();
            Cli.Ran refused = nflb("apply", "-c", ignore.toString(), "--state-dir", state.toString());
            assertThat(refused.code()).as(refused.out() + refused.err()).isEqualTo(1);
            String where = switch (kind) {
                case DOCKER -> "docker0";
                case LIBVIRT -> "virbr0";
                case KUBE_PROXY -> "node port";
                default -> "INPUT";
            };
            assertThat(refused.err()).contains("refusing to apply: the new firewall would drop traffic that " + key + " manages",
                    where, "firewall.neighbours." + key + ": ignore", "Nothing was applied; use --force");
            assertThat(everything()).as("nothing applied").isEqualTo(before);
            Cli.Ran diff = nflb("diff", "-c", ignore.toString(), "--state-dir", state.toString());
            assertThat(diff.code()).isZero();
            assertThat(diff.out()).contains("# neighbour traffic apply would DROP (apply refuses without --force):", where,
                    "firewall.neighbours." + key + ": ignore");
            // Forced, what the guard said is what happens: nflb's policy (as before issue 15) drops the neighbour's flows.
            Cli.Ran forced = nflb("apply", "-c", ignore.toString(), "--state-dir", state.toString(), "--force");
            assertThat(forced.code()).as(forced.out() + forced.err()).isZero();
            assertThat(forced.err()).contains("applied with --force: the new firewall drops traffic neighbours manage");
            Map<String, Boolean> ignoredExpected = switch (kind) {
                case DOCKER -> expect(flows, "container_out", "published_in", "published_in_other");
                case LIBVIRT -> expect(flows, "vm_out", "vm_dns_to_host");
                case KUBE_PROXY -> expect(flows, "nodeport_in", "nodeport_in_other", "clusterip_from_pod");
                // ufw in iptables: nflb's accept comes first and bypasses ufw, as it did before; elsewhere both refuse 2222.
                default -> fixture.equals("ufw") && backend.equals("iptables") ? expect(flows, "hostfw_only_port")
                        : expect(flows, "hostfw_only_port", "nflb_only_port");
            };
            ignored = probe(flows, ignoredExpected);
            assertThat(ignored).as("ignore").isEqualTo(ignoredExpected);
            // Back to the default: everything passes again, which apply says without refusing.
            Cli.Ran back = nflb("apply", "-c", defaults.toString(), "--state-dir", state.toString());
            assertThat(back.code()).as(back.out() + back.err()).isZero();
            assertThat(back.out()).contains("neighbour traffic let through now:");

            // restrict: published ports and node ports through the allow list; host firewalls: both apply.
            // libvirt: a VM's way out now needs a firewall.forward entry; a host firewall's own allows need nflb's too.
            boolean force = kind == NeighbourKind.LIBVIRT || kind.hostFirewall();
            List<String> args = new ArrayList<>(List.of("apply", "-c", restrict.toString(), "--state-dir", state.toString()));
            if (force) {
                Cli.Ran refusedToo = nflb(args.toArray(String[]::new));
                assertThat(refusedToo.code()).isEqualTo(1);
                assertThat(refusedToo.err()).contains(kind == NeighbourKind.LIBVIRT
                        ? List.of("forward out", "virbr0", "firewall.neighbours.libvirt: restrict, no firewall.forward entry covers it")
                        : List.of("input", "tcp/8443 (" + key + " allows it)", "firewall.neighbours." + key + ": restrict, no firewall.allow entry covers tcp/8443"));
                args.add("--force");
            }
            Cli.Ran r = nflb(args.toArray(String[]::new));
            assertThat(r.code()).as(r.out() + r.err()).isZero();
            expected = switch (kind) {
                case DOCKER -> expect(flows, "published_in_other");
                case KUBE_PROXY -> expect(flows, "nodeport_in_other");
                case LIBVIRT -> expect(flows, "vm_out");
                default -> expect(flows, "hostfw_only_port", "nflb_only_port");
            };
            restricted = probe(flows, expected);
            assertThat(restricted).as("restrict").isEqualTo(expected);
            String dockerUser = "-A DOCKER-USER -m comment --comment \"nflb neighbours\" -j NFLB-DOCKER-USER\n";
            if ((fixture.equals("docker") || fixture.equals("docker-legacy")) && backend.equals("iptables")) {
                // The one documented exception: nflb's jump, first in DOCKER-USER (IPv4 and IPv6).
                assertThat(lab.neighbourRules()).contains(dockerUser);
                assertThat(lab.neighbourRules().replace(dockerUser, "")).isEqualTo(rules);
            } else {
                assertThat(lab.neighbourRules()).isEqualTo(rules);
            }
        }
        Path current = kind.hasMode() ? restrict : defaults;

        // The neighbour reloads its rules the way it does on a restart; the next apply repairs what it moved.
        restart(fixture);
        if (backend.equals("iptables") && List.of("docker", "docker-legacy", "libvirt", "kube-proxy", "firewalld").contains(fixture)) {
            // Moved down by the neighbour's own jumps, or gone with firewalld's flush: there is something to repair.
            List<String> forward = lab.chain("filter", "FORWARD");
            assertThat(forward.isEmpty() || !forward.get(0).contains("NFLB-")).as(forward.toString()).isTrue();
        }
        if (backend.equals("nftables") && fixture.startsWith("docker") && !fixture.equals("docker-nft")) {
            assertThat(lab.chain("filter", "FORWARD")).first().asString().doesNotContain("NFLB-PASS");
        }
        Cli.Ran repaired = nflb("apply", "-c", current.toString(), "--state-dir", state.toString(), "--force");
        assertThat(repaired.code()).as(repaired.out() + repaired.err()).isZero();
        Map<String, Boolean> afterRestart = probe(flows, expected);
        assertThat(afterRestart).as("after the neighbour reloaded and nflb applied again").isEqualTo(expected);
        placed(fixture, backend);
        Cli.Ran again = nflb("apply", "-c", current.toString(), "--state-dir", state.toString(), "--force");
        assertThat(again.out()).as("a second apply finds nothing to change: " + again.err()).contains("already up to date");

        Files.writeString(RESULTS, fixture + " " + backend + " alone=" + alone + " ignore=" + ignored + " default=" + byDefault
                + " restrict=" + restricted + " after-restart=" + afterRestart + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    /**
     * Without a firewall: section nflb writes no policy, but Docker's FORWARD policy DROP (and ufw's) would still
     * drop its balanced service: NFLB-PASS accepts exactly that, in both backends, and goes when the policy does.
     */
    @ParameterizedTest(name = "nflb on {0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"iptables", "nftables"})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void nflbsServicePassesADockerForwardDropWithoutAFirewall(String backend) throws Exception {
        String config = config(backend, "");
        Path services = write("services.yaml", config.substring(0, config.indexOf("firewall:")));
        List<String> flows = List.of("container_out", "published_in", "nflb_service");
        lab.reset();
        lab.load("docker");
        Cli.Ran applied = nflb("apply", "-c", services.toString(), "--state-dir", dir.resolve("state").toString());
        assertThat(applied.code()).as(applied.out() + applied.err()).isZero();
        assertThat(probe(flows, expect(flows))).isEqualTo(expect(flows));
        assertThat(lab.chain("filter", "FORWARD")).first().isEqualTo("-A FORWARD -m comment --comment \"nflb pass\" -j NFLB-PASS");
        lab.rt().check(List.of("iptables", "-P", "FORWARD", "ACCEPT"));
        assertThat(nflb("apply", "-c", services.toString(), "--state-dir", dir.resolve("state").toString()).code()).isZero();
        assertThat(lab.chain("filter", "FORWARD")).noneMatch(l -> l.contains("NFLB-PASS"));
        Files.writeString(RESULTS, "docker " + backend + " without a firewall: " + probe(flows, expect(flows)) + "\n",
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    /** nflb's jumps where they belong: first in INPUT and FORWARD, below fail2ban's; nft's pass first in FORWARD. */
    private void placed(String fixture, String backend) {
        List<String> forward = lab.chain("filter", "FORWARD");
        List<String> input = lab.chain("filter", "INPUT");
        if (backend.equals("iptables")) {
            assertThat(forward).first().asString().contains("-j NFLB-FORWARD");
            assertThat(input).element(fixture.equals("fail2ban") ? 1 : 0).asString().contains("-j NFLB-INPUT");
        } else if (fixture.equals("docker") || fixture.equals("docker-legacy") || fixture.equals("ufw")) {
            assertThat(forward).first().asString().contains("-j NFLB-PASS");
        }
    }

    /** What each neighbour does to its rules when it restarts (issue 15's research, section 4.5). */
    private void restart(String fixture) {
        Exec r = lab.rt();
        switch (fixture) {
            case "docker", "docker-legacy" -> { // moby EnsureJumpRule: its jumps deleted and inserted at the top of FORWARD
                for (String chain : List.of(fixture.equals("docker") ? "DOCKER-FORWARD" : "DOCKER-ISOLATION-STAGE-1", "DOCKER-USER")) {
                    r.check(List.of("iptables", "-D", "FORWARD", "-j", chain));
                    r.check(List.of("iptables", "-I", "FORWARD", "1", "-j", chain));
                }
                assertThat(lab.chain("filter", "FORWARD")).first().asString().contains("-j DOCKER-USER");
            }
            case "libvirt" -> { // libvirt's network restart: its chains' jumps inserted at the top again
                for (String[] j : List.of(new String[] {"INPUT", "LIBVIRT_INP"}, new String[] {"FORWARD", "LIBVIRT_FWO"},
                        new String[] {"FORWARD", "LIBVIRT_FWI"}, new String[] {"FORWARD", "LIBVIRT_FWX"})) {
                    r.check(List.of("iptables", "-D", j[0], "-j", j[1]));
                    r.check(List.of("iptables", "-I", j[0], "1", "-j", j[1]));
                }
            }
            case "kube-proxy" -> { // a fresh kube-proxy finds none of its jumps and inserts them at the top
                for (String chain : List.of("INPUT", "FORWARD")) {
                    List<String> kube = lab.chain("filter", chain).stream().filter(l -> l.contains("-j KUBE-")).toList();
                    for (String l : kube) r.check(delete(l));
                    for (int i = kube.size() - 1; i >= 0; i--) r.check(insert(kube.get(i)));
                }
            }
            case "ufw" -> { // ufw disable and enable: its jumps removed and appended again
                for (String chain : List.of("INPUT", "FORWARD")) {
                    List<String> ufw = lab.chain("filter", chain).stream().filter(l -> l.contains("-j ufw-")).toList();
                    for (String l : ufw) r.check(delete(l));
                    for (String l : ufw) r.check(words("iptables", l));
                }
            }
            case "firewalld" -> { // firewalld's start: every iptables chain flushed and deleted, its own table anew
                for (String tool : List.of("iptables", "ip6tables")) {
                    for (String t : List.of("filter", "nat", "mangle", "raw")) {
                        r.check(List.of(tool, "-t", t, "-F"));
                        r.check(List.of(tool, "-t", t, "-X"));
                    }
                }
                r.check(List.of("nft", "delete", "table", "inet", "firewalld"));
                lab.load(fixture);
            }
            case "fail2ban" -> { // actionstop, then actionstart and the ban again (action.d/iptables.conf)
                r.check(List.of("iptables", "-D", "INPUT", "-p", "tcp", "-m", "multiport", "--dports", "22", "-j", "f2b-sshd"));
                r.check(List.of("iptables", "-F", "f2b-sshd"));
                r.check(List.of("iptables", "-X", "f2b-sshd"));
                r.check(List.of("iptables", "-N", "f2b-sshd"));
                r.check(List.of("iptables", "-A", "f2b-sshd", "-j", "RETURN"));
                r.check(List.of("iptables", "-I", "INPUT", "-p", "tcp", "-m", "multiport", "--dports", "22", "-j", "f2b-sshd"));
                r.check(List.of("iptables", "-I", "f2b-sshd", "1", "-s", "203.0.113.66", "-j", "REJECT", "--reject-with", "icmp-port-unreachable"));
            }
            default -> { // the nftables neighbours: their tables deleted and written anew
                for (String table : List.of("ip docker-bridges", "ip6 docker-bridges", "ip libvirt_network", "ip6 libvirt_network", "ip kube-proxy")) {
                    String[] t = table.split(" ");
                    r.run(List.of("nft", "delete", "table", t[0], t[1]));
                }
                lab.load(fixture);
            }
        }
        r.run(List.of("conntrack", "-F"));
    }

    private static List<String> delete(String rule) {
        return words("iptables", "-D" + rule.substring(2));
    }

    private static List<String> insert(String rule) {
        List<String> w = words("iptables", "-I" + rule.substring(2));
        w.add(3, "1");
        return w;
    }

    /** iptables-save's rule line as arguments (the fixtures' rules quote only comments without spaces in them). */
    private static List<String> words(String tool, String rule) {
        List<String> out = new ArrayList<>(List.of(tool));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"([^\"]*)\"|(\\S+)").matcher(rule);
        while (m.find()) out.add(m.group(1) != null ? m.group(1) : m.group(2));
        return out;
    }

    /** Everything in the router's tables, nflb's too (counters zeroed, the generation token masked). */
    private String everything() {
        Exec r = lab.rt();
        String save = r.check(List.of("iptables-save")).stdout() + r.check(List.of("ip6tables-save")).stdout();
        return save.replaceAll("(?m)^#.*\n", "").replaceAll("\\[\\d+:\\d+\\]", "[0:0]")
                + r.check(List.of("nft", "-s", "list", "ruleset")).stdout().replaceAll("(set gen \\{[^}]*elements = \\{ )0x[0-9a-f]+", "$1TOKEN");
    }

    private Path write(String name, String text) throws Exception {
        return Files.writeString(dir.resolve(name), text);
    }

    private Cli.Ran nflb(String... args) {
        List<String> a = new ArrayList<>(List.of(args));
        a.addAll(List.of("--netns", lab.router().name()));
        return Cli.run(Dataplanes.REAL, a.toArray(String[]::new));
    }
}
