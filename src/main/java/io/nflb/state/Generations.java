package io.nflb.state;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What nflb applied, kept on disk: one directory per generation (gen-000001, ...) holding the config that
 * produced it ({@value #CONFIG}) and the rules it rendered ({@value #RULES}), plus a {@value #CURRENT} file
 * naming the generation in the kernel. Generation 0 is "nothing of nflb's". Every file is written to a temp
 * name and renamed, so a crash never leaves a half-written generation or pointer.
 */
public final class Generations {

    public static final String CONFIG = "config.yaml";
    public static final String RULES = "rules.txt";
    public static final String BACKEND = "backend";
    /** What the dataplane that applied it could tell the kernel by later (Dataplane.mark), when it had one. */
    public static final String MARK = "mark";
    static final String CURRENT = "current";
    static final String PENDING = "pending-confirm";
    /** The last few are enough to step back; older ones go. */
    public static final int KEEP = 5;

    private static final Pattern NAME = Pattern.compile("gen-(\\d{6})");

    private final Path dir;

    public Generations(Path dir) {
        this.dir = dir;
    }

    public Path dir() {
        return dir;
    }

    /**
     * A confirmation being waited for: generation {@code applied} replaced {@code previous} (0: none); the timer
     * that rolls it back is process {@code timerPid} (0: not known yet) and fires at {@code deadlineMillis} (0: not known).
     */
    public record Pending(String token, int applied, int previous, long timerPid, long deadlineMillis) {
        public Pending {
            if (!token.matches("[0-9a-f]{16}")) throw new IllegalArgumentException("bad token " + token);
        }

        public Pending(String token, int applied, int previous) {
            this(token, applied, previous, 0, 0);
        }

        public Pending withTimer(long pid) {
            return new Pending(token, applied, previous, pid, deadlineMillis);
        }

        String line() {
            return token + " " + applied + " " + previous + " " + timerPid + " " + deadlineMillis + "\n";
        }

        static Pending parse(String text) {
            String[] w = text.strip().split(" ");
            return new Pending(w[0], Integer.parseInt(w[1]), Integer.parseInt(w[2]),
                    w.length > 3 ? Long.parseLong(w[3]) : 0, w.length > 4 ? Long.parseLong(w[4]) : 0);
        }
    }

    /** Numbers of the generations on disk, oldest first. */
    public List<Integer> list() {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> NAME.matcher(p.getFileName().toString())).filter(Matcher::matches)
                    .map(m -> Integer.parseInt(m.group(1))).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The generation in the kernel, 0 when nothing was applied (or the last one was rolled back to nothing). */
    public int current() {
        Path p = dir.resolve(CURRENT);
        try {
            if (!Files.exists(p)) return 0;
            return Integer.parseInt(Files.readString(p).strip());
        } catch (IOException | NumberFormatException e) {
            throw new IllegalStateException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    /** The newest generation on disk before {@code n}; 0 when there is none (nothing of nflb's). */
    public int before(int n) {
        int best = 0;
        for (int g : list()) if (g < n) best = g;
        return best;
    }

    public Path path(int generation) {
        if (generation < 1 || generation > 999_999) throw new IllegalArgumentException("no generation " + generation);
        return dir.resolve(String.format("gen-%06d", generation));
    }

    /**
     * Whether applying {@code rules} with {@code backend} would make a generation the same as the current one:
     * an apply that changed nothing records none, so it never pushes a real one out of the {@value #KEEP} kept.
     */
    public boolean sameAsCurrent(String backend, String rules) {
        int n = current();
        if (n == 0 || !Files.isDirectory(path(n))) return false;
        try {
            return backend(n).equals(backend) && Files.readString(path(n).resolve(RULES)).equals(rules);
        } catch (IOException e) {
            return false;
        }
    }

    /** The rules generation {@code generation} recorded, if it is on disk. */
    public Optional<String> rules(int generation) {
        try {
            Path p = path(generation).resolve(RULES);
            return Files.isRegularFile(p) ? Optional.of(Files.readString(p)) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The kernel's mark recorded with {@code generation}'s rules, if any. */
    public Optional<String> mark(int generation) {
        try {
            Path p = path(generation).resolve(MARK);
            return Files.isRegularFile(p) ? Optional.of(Files.readString(p).strip()).filter(m -> !m.isEmpty()) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * Records the kernel's mark after {@code generation}'s rules were applied (or found in place). Best effort: a
     * generation without a mark only makes the next apply read the rules back in full.
     */
    public void setMark(int generation, String mark) {
        if (!Files.isDirectory(path(generation))) return;
        try {
            Path tmp = Files.createTempFile(path(generation), "." + MARK + "-", ".tmp");
            Files.writeString(tmp, mark + "\n");
            Files.move(tmp, path(generation).resolve(MARK), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            // the next apply verifies in full
        }
    }

    /** Stores a new generation and makes it current; keeps the newest {@value #KEEP}. */
    public int record(String configText, String backend, String rules) {
        return commit(stage(configText, backend, rules));
    }

    /** A generation written to disk but not yet in place: {@link #commit} renames it in, {@link #discard} drops it. */
    public record Staged(int number, Path directory, Path current) {
    }

    /**
     * Writes the next generation and its "current" pointer under temporary names, so that a full or read-only
     * state directory fails here, before the kernel is touched; committing is then two renames.
     */
    public Staged stage(String configText, String backend, String rules) {
        return stage(configText.getBytes(java.nio.charset.StandardCharsets.UTF_8), backend, rules);
    }

    /** {@link #stage(String, String, String)} with the config as the bytes that were read. */
    public Staged stage(byte[] configText, String backend, String rules) {
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            List<Integer> all = list();
            int n = (all.isEmpty() ? 0 : all.get(all.size() - 1)) + 1;
            tmp = Files.createTempDirectory(dir, ".new-");
            Files.write(tmp.resolve(CONFIG), configText);
            Files.writeString(tmp.resolve(BACKEND), backend + "\n");
            Files.writeString(tmp.resolve(RULES), rules);
            Path current = Files.createTempFile(dir, "." + CURRENT + "-", ".tmp");
            Files.writeString(current, n + "\n");
            return new Staged(n, tmp, current);
        } catch (IOException e) {
            if (tmp != null) {
                try {
                    deleteTree(tmp);
                } catch (IOException ignored) {
                    // the error below says what went wrong
                }
            }
            throw new UncheckedIOException("cannot write the generation in " + dir + ": " + e.getMessage(), e);
        }
    }

    public int commit(Staged s) {
        try {
            Files.move(s.directory(), path(s.number()), StandardCopyOption.ATOMIC_MOVE);
            Files.move(s.current(), dir.resolve(CURRENT), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            prune(s.number());
            return s.number();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot record the generation in " + dir + ": " + e.getMessage(), e);
        }
    }

    public void discard(Staged s) {
        try {
            deleteTree(s.directory());
            Files.deleteIfExists(s.current());
        } catch (IOException e) {
            // left-over temp names are ignored by list()
        }
    }

    public void setCurrent(int n) {
        write(CURRENT, n + "\n");
    }

    public String config(int generation) throws IOException {
        return Files.readString(path(generation).resolve(CONFIG));
    }

    public String backend(int generation) throws IOException {
        return Files.readString(path(generation).resolve(BACKEND)).strip();
    }

    public void setPending(Pending p) {
        write(PENDING, p.line());
    }

    public Optional<Pending> pending() {
        Path p = dir.resolve(PENDING);
        try {
            if (!Files.exists(p)) return Optional.empty();
            return Optional.of(Pending.parse(Files.readString(p)));
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    /**
     * Takes the pending confirmation if it is still {@code token}'s: the rename makes the confirm command and
     * the timer race safely, exactly one of them wins.
     */
    public Optional<Pending> claimPending(Optional<String> token) {
        Path p = dir.resolve(PENDING);
        Path claimed = dir.resolve(PENDING + ".claimed-" + ProcessHandle.current().pid());
        try {
            Optional<Pending> now = pending();
            if (now.isEmpty() || (token.isPresent() && !now.get().token().equals(token.get()))) return Optional.empty();
            Files.move(p, claimed, StandardCopyOption.ATOMIC_MOVE);
            Pending got = Pending.parse(Files.readString(claimed));
            Files.delete(claimed);
            if (token.isPresent() && !got.token().equals(token.get())) {
                setPending(got); // replaced between the read and the move: not ours, put it back
                return Optional.empty();
            }
            return Optional.of(got);
        } catch (java.nio.file.NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void prune(int current) throws IOException {
        List<Integer> all = new ArrayList<>(list());
        while (all.size() > KEEP) {
            int oldest = all.remove(0);
            if (oldest == current) continue;
            deleteTree(path(oldest));
        }
    }

    private static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(x);
        }
    }

    private void write(String name, String text) {
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, "." + name + "-", ".tmp");
            Files.writeString(tmp, text);
            try {
                Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve(name) + ": " + e.getMessage(), e);
        }
    }
}
