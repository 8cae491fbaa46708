package io.nflb.cli;

import io.nflb.host.Exec;
import io.nflb.testing.Netns;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The .deb that `mvn package` built, as an administrator meets it: lintian, its file list, `dpkg -i` on this
 * machine, the installed command, man pages, completion and units, the boot-time restore inside a namespace,
 * an upgrade that keeps a changed config and the generations, and `dpkg -P` leaving nothing behind.
 * <p>
 * This installs into the machine's own /usr, /etc and /var, as the issue asks; it never starts a unit, and every
 * rule it loads goes into its own namespace nflb-t-pkg-*. An nflb installed by anything but this test is left
 * alone: the test then fails instead of replacing it.
 */
@Tag("package")
class DebPackageIT {

    private static final Duration DPKG_TIMEOUT = Duration.ofMinutes(5);
    /** Written into /etc/nflb by this test, so that a run killed halfway is cleaned up by the next one. */
    private static final Path MARKER = Path.of("/etc/nflb/.installed-by-nflb-package-test");
    private static final List<Path> SEARCHED = List.of(Path.of("/etc"), Path.of("/usr"), Path.of("/var"), Path.of("/lib"), Path.of("/opt"));
    /**
     * Not the package's: man-db's cache of formatted pages (its daily job expires them), and temporary files,
     * where other builds on this shared machine may create nflb-* while this test runs.
     */
    private static final List<Path> NOT_SEARCHED = List.of(Path.of("/var/cache/man"), Path.of("/var/tmp"));

    @TempDir
    Path tmp;

    private Path deb;
    private String debVersion;

    @BeforeEach
    void requireRootDpkgAndAClearMachine() {
        String why = !"root".equals(System.getProperty("user.name")) ? "not running as root"
                : !onPath("dpkg") || !onPath("apt-get") ? "no dpkg/apt-get (not a Debian machine)" : null;
        if (why != null) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) Assertions.fail("package test cannot run in CI: " + why);
            Assumptions.abort("package test skipped: " + why);
        }
        debVersion = PackageFiles.debianVersion(System.getProperty("nflb.version"));
        deb = Path.of(System.getProperty("nflb.deb.dir"), "nflb_" + debVersion + "_all.deb");
        assertThat(deb).as("mvn package builds it").isRegularFile();
        if (known()) {
            if (!Files.exists(MARKER)) {
                Assertions.fail("nflb is installed on this machine and not by this test; it is left alone:"
                        + " remove it (dpkg -P nflb) to run the package test");
            }
            purge(); // a run of this test that was killed before its clean-up
        }
        installTools();
    }

    @AfterEach
    void purgeWhatThisTestInstalled() {
        if (known() && Files.exists(MARKER)) purge();
    }

    @Test
    void lintianCleanInstallsWorksAndPurgesWithoutATrace() throws Exception {
        Exec.Result lintian = run(List.of("lintian", "--pedantic", "--info", "--display-experimental", deb.toString()), Duration.ofMinutes(5));
        List<String> complaints = lintian.stdout().lines().filter(l -> l.matches("[EWX]: .*")).toList();
        assertThat(complaints).as("lintian errors and warnings (keep one only with an override that says why)").isEmpty();

        String contents = check("dpkg-deb", "--contents", deb.toString()).stdout();
        assertThat(contents).containsPattern("(?m)^-rwxr-xr-x root/root .* \\./usr/bin/nflb$");
        for (String path : List.of("/usr/share/nflb/nflb.jar", "/etc/nflb/nflb.yaml", "/lib/systemd/system/nflb.service",
                "/lib/systemd/system/nflb-firewall.service", "/usr/share/man/man1/nflb.1.gz", "/usr/share/man/man1/nflb-apply.1.gz",
                "/usr/share/man/man1/nflb-restore.1.gz", "/usr/share/man/man5/nflb.yaml.5.gz", "/usr/share/nflb/nflb.schema.json",
                "/usr/share/bash-completion/completions/nflb",
                "/usr/share/doc/nflb/copyright", "/usr/share/doc/nflb/changelog.gz")) {
            assertThat(contents).as(path).containsPattern("(?m)^-rw-r--r-- root/root .* \\." + Pattern.quote(path) + "$");
        }
        assertThat(check("dpkg-deb", "--info", deb.toString(), "conffiles").stdout()).isEqualTo("/etc/nflb/nflb.yaml\n");
        assertThat(check("dpkg-deb", "--field", deb.toString(), "Depends").stdout())
                .contains("java17-runtime-headless", "iptables", "nftables", "iproute2", "conntrack");

        Set<String> before = nflbPathsOnDisk();
        String rootRulesBefore = nflbRulesInTheRootNamespace();
        install(deb);

        Exec.Result version = check("/usr/bin/nflb", "--version");
        assertThat(version.stdout()).startsWith("nflb " + System.getProperty("nflb.version") + " (commit ")
                .containsPattern("\\(commit ([0-9a-f]{12}(-dirty)?|unknown)\\)");
        // postinst made the class-data archive for this JVM, and the JVM accepts it (-Xshare:on fails otherwise).
        Path archive = Path.of("/var/cache/nflb/nflb.jsa");
        assertThat(archive).isRegularFile();
        assertThat(run(List.of("/usr/bin/nflb", "--version"), Map.of("NFLB_JAVA_OPTS", "-Xshare:on"), Duration.ofMinutes(1)).ok()).isTrue();
        // An archive that no longer fits (here the jar changed under it) costs start time, never output or a failure.
        Files.setLastModifiedTime(Path.of("/usr/share/nflb/nflb.jar"), java.nio.file.attribute.FileTime.from(Instant.now()));
        assertThat(check("/usr/bin/nflb", "--version").stdout()).isEqualTo(version.stdout());
        assertThat(run(List.of("/usr/bin/nflb", "--version"), Map.of("NFLB_JAVA_OPTS", "-Xshare:on"), Duration.ofMinutes(1)).ok()).isFalse();
        // A JVM installed or upgraded under /usr/lib/jvm triggers the package, which makes the archive again.
        Files.delete(archive);
        assertThat(check("/usr/bin/nflb", "--version").stdout()).as("without an archive").isEqualTo(version.stdout());
        check("dpkg-trigger", "--no-await", "/usr/lib/jvm");
        check("dpkg", "--triggers-only", "nflb");
        assertThat(archive).isRegularFile();
        assertThat(run(List.of("/usr/bin/nflb", "--version"), Map.of("NFLB_JAVA_OPTS", "-Xshare:on"), Duration.ofMinutes(1)).ok()).isTrue();

        Exec.Result validate = check("/usr/bin/nflb", "validate", "-c", "/etc/nflb/nflb.yaml");
        assertThat(validate.stdout()).contains("/etc/nflb/nflb.yaml: ok");

        assertThat(check("man", "-w", "nflb", "nflb-apply", "nflb-restore", "nflb.yaml").stdout().lines().toList())
                .containsExactly("/usr/share/man/man1/nflb.1.gz", "/usr/share/man/man1/nflb-apply.1.gz", "/usr/share/man/man1/nflb-restore.1.gz",
                        "/usr/share/man/man5/nflb.yaml.5.gz");
        for (String page : List.of("/usr/share/man/man1/nflb-apply.1.gz", "/usr/share/man/man5/nflb.yaml.5.gz")) {
            Exec.Result rendered = run(List.of("man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", page),
                    Map.of("MANWIDTH", "80"), Duration.ofMinutes(1));
            assertThat(rendered.stderr()).as(page).isEmpty();
        }
        // The config's JSON Schema, where the installed config's first line tells editors to find it.
        assertThat(Files.readString(Path.of("/usr/share/nflb/nflb.schema.json"))).isEqualTo(check("/usr/bin/nflb", "schema").stdout());
        assertThat(Files.readString(Path.of("/etc/nflb/nflb.yaml")))
                .startsWith("# yaml-language-server: $schema=/usr/share/nflb/nflb.schema.json\n");

        Path config = tmp.resolve("completion.yaml");
        Files.writeString(config, """
                services:
                  - name: web
                    listen: {port: 80}
                    backends: [{address: 10.1.0.2}, {address: 10.1.0.3}]
                  - name: www
                    listen: {port: 81}
                    backends: [{address: 10.2.0.2}]
                """);
        assertThat(complete("nflb ap")).isEqualTo("apply");
        assertThat(complete("nflb backend drain -c " + config + " ")).isEqualTo("web www");
        assertThat(complete("nflb backend disable -c " + config + " web ")).isEqualTo("10.1.0.2 10.1.0.3");

        // Loads the units as systemd would, and fails on what it would refuse; starts nothing.
        Exec.Result verify = run(List.of("systemd-analyze", "verify", "/lib/systemd/system/nflb.service",
                "/lib/systemd/system/nflb-firewall.service"), Duration.ofMinutes(2));
        assertThat(verify.exitCode()).as(verify.stderr()).isZero();
        assertThat(verify.stderr().lines().filter(l -> l.contains("nflb"))).as(verify.stderr()).isEmpty();
        assertThat(Path.of("/etc/systemd/system/sysinit.target.wants/nflb-firewall.service")).as("enabled for boot").exists();
        assertThat(Path.of("/etc/systemd/system/multi-user.target.wants/nflb.service")).as("the daemon waits to be enabled").doesNotExist();

        bootTimeRestoreInANamespace();
        assertThat(nflbRulesInTheRootNamespace()).as("installing loads nothing here").isEqualTo(rootRulesBefore);

        check("dpkg", "--purge", "nflb");
        assertThat(installed()).isNull();
        Set<String> left = nflbPathsOnDisk();
        left.removeAll(before);
        assertThat(left).as("what dpkg -P left of nflb").isEmpty();
    }

    /** The command nflb-firewall.service runs at boot, run in a namespace against generations made by apply. */
    private void bootTimeRestoreInANamespace() throws IOException {
        List<String> execStart = execStart(Path.of("/lib/systemd/system/nflb-firewall.service"));
        assertThat(execStart).containsSubsequence("/usr/bin/nflb", "restore", "--state-dir", "/var/lib/nflb");
        Path state = tmp.resolve("state");
        List<String> restore = new ArrayList<>(execStart);
        restore.set(restore.indexOf("/var/lib/nflb"), state.toString());
        Path config = tmp.resolve("router.yaml");
        Files.writeString(config, """
                backend: nftables
                services:
                  - name: web
                    listen: {address: 10.99.0.1, port: 80}
                    backends: [{address: 10.99.1.2}, {address: 10.99.1.3}]
                """);
        try (Netns ns = Netns.create("pkg")) {
            List<String> inNs = List.of("ip", "netns", "exec", ns.name());
            assertThat(run(concat(inNs, restore), Duration.ofMinutes(1)).stdout()).contains("nothing to restore");
            check("/usr/bin/nflb", "apply", "-c", config.toString(), "--netns", ns.name(), "--state-dir", state.toString());
            // As after a reboot: the kernel has nothing of nflb's, the state directory has generation 1.
            check("/usr/bin/nflb", "flush", "--netns", ns.name());
            assertThat(ns.exec().check(List.of("nft", "list", "ruleset")).stdout()).doesNotContain("10.99.1.3");

            Exec.Result restored = run(concat(inNs, restore), Duration.ofMinutes(1));
            assertThat(restored.exitCode()).as(restored.stderr()).isZero();
            assertThat(restored.stdout()).contains("restored generation 1 (nftables)");
            assertThat(ns.exec().check(List.of("nft", "list", "ruleset")).stdout()).contains("10.99.0.1", "10.99.1.3");
        }
    }

    @Test
    void anUpgradeKeepsAChangedConfigAndTheGenerations() throws Exception {
        Path old = olderCopy(deb, "0.0.1");
        assertThat(run(List.of("dpkg", "--compare-versions", "0.0.1", "lt", debVersion), Duration.ofSeconds(30)).ok()).isTrue();
        install(old);
        assertThat(installed()).isEqualTo("0.0.1");

        String nonce = "changed by the package test " + Instant.now();
        Files.writeString(Path.of("/etc/nflb/nflb.yaml"), "# " + nonce + "\n", java.nio.file.StandardOpenOption.APPEND);
        String generation;
        String current;
        Path genDir;
        try (Netns ns = Netns.create("pkg")) {
            // A generation in the package's own state directory; its rules only ever in the test's namespace.
            Exec.Result applied = check("/usr/bin/nflb", "apply", "-c", "/etc/nflb/nflb.yaml", "--netns", ns.name(),
                    "--state-dir", "/var/lib/nflb");
            String said = applied.stdout() + applied.stderr() + "\n/var/lib/nflb: " + listing(Path.of("/var/lib/nflb"));
            assertThat(Path.of("/var/lib/nflb/current")).as(said).isRegularFile();
            current = Files.readString(Path.of("/var/lib/nflb/current")).strip();
            genDir = Path.of(String.format("/var/lib/nflb/gen-%06d", Integer.parseInt(current)));
            assertThat(genDir.resolve("config.yaml")).as(said).isRegularFile();
            generation = Files.readString(genDir.resolve("config.yaml"));
            assertThat(generation).contains(nonce);

            install(deb); // stdin is closed: a conffile question would fail the install rather than wait
            assertThat(installed()).isEqualTo(debVersion);
            assertThat(Files.readString(Path.of("/etc/nflb/nflb.yaml"))).contains(nonce);
            assertThat(Path.of("/etc/nflb/nflb.yaml.dpkg-dist")).doesNotExist();
            assertThat(Files.readString(genDir.resolve("config.yaml"))).isEqualTo(generation);
            assertThat(Files.readString(Path.of("/var/lib/nflb/current")).strip()).isEqualTo(current);
            // The new version reads what the old one recorded.
            Exec.Result restored = run(List.of("ip", "netns", "exec", ns.name(), "/usr/bin/nflb", "restore", "--state-dir", "/var/lib/nflb"),
                    Duration.ofMinutes(1));
            assertThat(restored.stdout()).as(restored.stderr()).contains("restored generation " + current);
        }

        check("dpkg", "--remove", "nflb");
        assertThat(Path.of("/usr/bin/nflb")).doesNotExist();
        assertThat(Path.of("/var/cache/nflb")).doesNotExist();
        assertThat(Files.readString(Path.of("/etc/nflb/nflb.yaml"))).as("remove keeps the config").contains(nonce);
        assertThat(genDir).as("remove keeps the generations").isDirectory();
        check("dpkg", "--purge", "nflb");
        assertThat(Path.of("/etc/nflb")).doesNotExist();
        assertThat(Path.of("/var/lib/nflb")).doesNotExist();
    }

    /** The same package with a lower version: what an administrator had installed before this one. */
    private Path olderCopy(Path deb, String version) throws IOException {
        Path tree = tmp.resolve("old-tree");
        check("dpkg-deb", "--raw-extract", deb.toString(), tree.toString());
        Path control = tree.resolve("DEBIAN/control");
        Files.writeString(control, Files.readString(control).replaceFirst("(?m)^Version: .*$", "Version: " + version));
        Path old = tmp.resolve("nflb_" + version + "_all.deb");
        check("dpkg-deb", "--root-owner-group", "--build", tree.toString(), old.toString());
        return old;
    }

    /** What bash completion offers for {@code line} with the cursor at its end, as the installed script computes it. */
    private String complete(String line) {
        String bash = """
                source /usr/share/bash-completion/completions/nflb
                COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}
                read -r -a COMP_WORDS <<< "$COMP_LINE"
                case $COMP_LINE in *' ') COMP_WORDS+=("") ;; esac
                COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
                _complete_nflb 2>/dev/null
                echo "${COMPREPLY[*]}"
                """;
        return check("bash", "-c", bash, "bash", line).stdout().strip();
    }

    private static List<String> execStart(Path unit) throws IOException {
        String line = Files.readString(unit).lines().filter(l -> l.startsWith("ExecStart=")).findFirst().orElseThrow();
        return Arrays.asList(line.substring("ExecStart=".length()).strip().split("\\s+"));
    }

    /** nflb's rules in this machine's own namespace (read only): what installing must leave as it was. */
    private static String nflbRulesInTheRootNamespace() {
        String nft = onPath("nft") ? Exec.host().run(List.of("nft", "list", "tables")).stdout() : "";
        String ipt = Exec.host().run(List.of("iptables-save")).stdout();
        return Stream.concat(nft.lines(), ipt.lines()).filter(l -> l.contains("nflb") || l.contains("NFLB"))
                .reduce("", (a, b) -> a + b + "\n");
    }

    /** Every path under the system's directories whose name mentions nflb. */
    private static Set<String> nflbPathsOnDisk() throws IOException {
        Set<String> found = new TreeSet<>();
        for (Path root : SEARCHED) {
            if (!Files.isDirectory(root)) continue;
            try (Stream<Path> s = Files.find(root, 12, (p, a) -> p.getFileName() != null && p.getFileName().toString().contains("nflb")
                    && NOT_SEARCHED.stream().noneMatch(p::startsWith))) {
                s.forEach(p -> found.add(p.toString()));
            } catch (java.io.UncheckedIOException e) {
                // a directory that vanished while walking (another build's temp files): not ours
            }
        }
        return found;
    }

    /** The version installed (unpacked or configured), or null. */
    private static String installed() {
        Matcher m = Pattern.compile("^[a-z][iUFHWt]\\S*\\s+(\\S+)").matcher(dpkgStatus());
        return m.find() ? m.group(1) : null;
    }

    /** Whether dpkg knows nflb in any state but "not installed" (removed with its config kept, half installed...). */
    private static boolean known() {
        String status = dpkgStatus();
        return !status.isEmpty() && !status.startsWith("un") && !status.startsWith("pn");
    }

    private static String dpkgStatus() {
        Exec.Result r = Exec.host().run(List.of("dpkg-query", "--show", "--showformat=${db:Status-Abbrev} ${Version}", "nflb"),
                null, Duration.ofSeconds(30));
        return r.ok() ? r.stdout() : "";
    }

    /** What a directory holds, for a failure's message. */
    private static String listing(Path dir) {
        try (java.util.stream.Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList().toString();
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static void install(Path deb) throws IOException {
        check("dpkg", "--install", deb.toString());
        Files.writeString(MARKER, "nflb's package test installed this at " + Instant.now() + "\n");
    }

    private static void purge() {
        check("dpkg", "--purge", "nflb");
    }

    /** The package's Depends and what the test reads with, from Debian, when missing (./run-tests does this too). */
    private static void installTools() {
        Map<String, String> packageOf = Map.of("java", "default-jre-headless", "iptables", "iptables", "nft", "nftables",
                "ip", "iproute2", "conntrack", "conntrack", "lintian", "lintian", "systemd-analyze", "systemd", "man", "man-db");
        List<String> missing = packageOf.entrySet().stream().filter(e -> !onPath(e.getKey())).map(Map.Entry::getValue).sorted().toList();
        if (missing.isEmpty()) return;
        check("apt-get", "update", "-qq");
        List<String> argv = new ArrayList<>(List.of("apt-get", "install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=120", "--no-install-recommends"));
        argv.addAll(missing);
        run(argv, Map.of("DEBIAN_FRONTEND", "noninteractive"), Duration.ofMinutes(10));
    }

    private static boolean onPath(String tool) {
        for (String dir : (System.getenv("PATH") + ":/usr/sbin:/sbin").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) return true;
        }
        return false;
    }

    private static Exec.Result check(String... argv) {
        Exec.Result r = run(List.of(argv), DPKG_TIMEOUT);
        assertThat(r.exitCode()).as(String.join(" ", argv) + "\n" + r.stdout() + r.stderr()).isZero();
        return r;
    }

    private static Exec.Result run(List<String> argv, Duration timeout) {
        return run(argv, Map.of(), timeout);
    }

    /**
     * dpkg and apt-get wait for the lock other installs on this shared machine hold (bounded, then fail); stdin is
     * closed, so nothing waits for an answer.
     */
    private static Exec.Result run(List<String> argv, Map<String, String> env, Duration timeout) {
        Instant until = Instant.now().plus(Duration.ofMinutes(3));
        while (true) {
            Exec.Result r = Exec.host().run(argv, env, null, timeout);
            boolean locked = !r.ok() && r.stderr().contains("dpkg frontend lock");
            if (!locked || Instant.now().isAfter(until)) return r;
            try {
                Thread.sleep(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return r;
            }
        }
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
