package io.nflb.cli;

import io.nflb.config.ConfigSchema;
import io.nflb.config.JsonSchema;
import io.nflb.host.Exec;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Run by the build (exec-maven-plugin, process-classes) to write what is made from the code rather than kept in
 * the repository: the version and commit {@code nflb --version} prints, and the Debian package's man pages,
 * the config's JSON Schema, bash completion and changelog.
 * <p>
 * Usage: {@code PackageFiles CLASSES_DIR PACKAGE_DIR VERSION BASEDIR}
 */
public final class PackageFiles {

    private PackageFiles() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 4) throw new IllegalArgumentException("usage: PackageFiles CLASSES_DIR PACKAGE_DIR VERSION BASEDIR");
        Path classes = Path.of(args[0]);
        Path out = Path.of(args[1]);
        String version = args[2];
        Path basedir = Path.of(args[3]);
        String commit = gitCommit(basedir);
        ZonedDateTime date = commitDate(basedir);

        Path info = classes.resolve(BuildInfo.class.getPackageName().replace('.', '/')).resolve(BuildInfo.RESOURCE);
        Files.createDirectories(info.getParent());
        Files.writeString(info, "version=" + version + "\ncommit=" + commit + "\n");

        Path man = out.resolve("man/man1");
        Files.createDirectories(man);
        Map<String, String> pages = ManPages.render(Main.commandLine(), version, date.toLocalDate().toString());
        for (Map.Entry<String, String> page : pages.entrySet()) {
            writeGzip(man.resolve(page.getKey() + ".1.gz"), page.getValue());
        }

        Path man5 = out.resolve("man/man5");
        Files.createDirectories(man5);
        writeGzip(man5.resolve("nflb.yaml.5.gz"), ManPages.configFile(version, date.toLocalDate().toString()));
        Files.writeString(out.resolve("nflb.schema.json"), JsonSchema.render(ConfigSchema.ROOT));

        Path completion = out.resolve("bash-completion/nflb");
        Files.createDirectories(completion.getParent());
        Files.writeString(completion, Completion.bash(Main.commandLine()));

        String changelog = Files.readString(basedir.resolve("packaging/changelog.in"))
                .replace("@VERSION@", debianVersion(version))
                .replace("@DATE@", date.format(DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss Z", Locale.ROOT)));
        Files.createDirectories(out.resolve("doc"));
        writeGzip(out.resolve("doc/changelog.gz"), changelog);
        System.out.println("PackageFiles: nflb " + version + " (commit " + commit + "): " + pages.size()
                + " man pages and nflb.yaml(5), the config's JSON Schema, bash completion, changelog in " + out);
    }

    /** The version as jdeb writes it in the package: Debian sorts 1.0~SNAPSHOT before 1.0. */
    static String debianVersion(String mavenVersion) {
        return mavenVersion.replaceFirst("[-+]SNAPSHOT$", "~SNAPSHOT").replaceAll("[^.+~A-Za-z0-9]", "+");
    }

    /** HEAD's commit, "-dirty" when tracked files differ from it; "unknown" outside a git work tree. */
    static String gitCommit(Path basedir) {
        Exec.Result head = git(basedir, "rev-parse", "--short=12", "HEAD");
        if (head == null || !head.ok()) return "unknown";
        Exec.Result status = git(basedir, "status", "--porcelain", "--untracked-files=no");
        boolean dirty = status != null && status.ok() && !status.stdout().isBlank();
        return head.stdout().strip() + (dirty ? "-dirty" : "");
    }

    /** The commit's date, so that the same commit builds the same pages; now outside git. */
    private static ZonedDateTime commitDate(Path basedir) {
        Exec.Result r = git(basedir, "log", "-1", "--format=%cI");
        if (r == null || !r.ok() || r.stdout().isBlank()) return ZonedDateTime.now();
        return ZonedDateTime.parse(r.stdout().strip());
    }

    private static Exec.Result git(Path basedir, String... args) {
        try {
            List<String> argv = new java.util.ArrayList<>(List.of("git", "-C", basedir.toString()));
            argv.addAll(List.of(args));
            return Exec.host().run(argv, null, Duration.ofSeconds(30));
        } catch (Exec.ExecException e) {
            return null; // no git here
        }
    }

    /**
     * gzip at the highest level, written by hand because java.util.zip's header says neither "maximum
     * compression" nor "Unix", which lintian checks man pages for; no name and no time stamp, as gzip -9n.
     */
    static void writeGzip(Path file, String text) throws IOException {
        byte[] data = text.getBytes(StandardCharsets.UTF_8);
        Deflater deflater = new Deflater(Deflater.BEST_COMPRESSION, true);
        deflater.setInput(data);
        deflater.finish();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        while (!deflater.finished()) body.write(buf, 0, deflater.deflate(buf));
        deflater.end();
        CRC32 crc = new CRC32();
        crc.update(data);
        try (OutputStream o = Files.newOutputStream(file)) {
            // magic, deflate, no flags, mtime 0, XFL 2 (maximum compression), OS 3 (Unix)
            o.write(new byte[] {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 2, 3});
            body.writeTo(o);
            o.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt((int) crc.getValue()).putInt(data.length).array());
        }
    }
}
