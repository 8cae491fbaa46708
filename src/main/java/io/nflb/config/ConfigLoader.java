package io.nflb.config;

import io.nflb.model.Config;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;
import io.nflb.model.Refusal;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.ReaderException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.schema.CoreSchema;

/**
 * Reads nflb.yaml. SnakeYAML Engine only composes the document into nodes, which keep their positions; our
 * binder turns them into model records and reports every problem at FILE:LINE:COLUMN.
 */
public final class ConfigLoader {

    private ConfigLoader() {
    }

    /** {@code file} appears in errors as given. */
    public static Config load(Path file) throws ConfigException {
        return load(file, c -> List.of());
    }

    /**
     * Loads {@code file} and asks {@code refusals} (the rule languages' own limits, e.g. names that would
     * collide once shortened) about the bound config; each refusal is reported at the service or backend it
     * names, like any other mistake.
     */
    public static Config load(Path file, Function<Config, List<Refusal>> refusals) throws ConfigException {
        return read(file, refusals).config();
    }

    /** A config and the very bytes it was bound from (what a generation records). */
    public record Read(Config config, byte[] bytes) {
    }

    /** {@link #load(Path, Function)}, keeping the file's bytes. */
    public static Read read(Path file, Function<Config, List<Refusal>> refusals) throws ConfigException {
        String name = file.toString();
        byte[] bytes;
        try {
            if (Files.isDirectory(file)) throw wholeFile(name, "cannot read file: it is a directory");
            if (Files.size(file) > MAX_BYTES) throw wholeFile(name, "file is larger than " + MAX_BYTES / (1024 * 1024) + " MiB");
            // Bounded before reading: a config replaced by something huge must not fill the daemon's memory.
            try (java.io.InputStream in = Files.newInputStream(file)) {
                bytes = in.readNBytes(MAX_BYTES + 1);
            }
        } catch (NoSuchFileException e) {
            throw wholeFile(name, "cannot read file: no such file");
        } catch (AccessDeniedException e) {
            throw wholeFile(name, "cannot read file: permission denied");
        } catch (IOException e) {
            throw wholeFile(name, "cannot read file: " + e.getMessage());
        }
        if (bytes.length > MAX_BYTES) throw wholeFile(name, "file is larger than " + MAX_BYTES / (1024 * 1024) + " MiB");
        // An ASCII file is its own text: no decoding, no String and char[] copies of megabytes. Anything else is
        // decoded strictly: a replacement character would otherwise end up in a name or address message.
        String text = null;
        if (!ascii(bytes)) {
            try {
                text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                throw wholeFile(name, "file is not valid UTF-8");
            }
        }
        return new Read(parse(name, bytes, text, refusals), bytes);
    }

    /** Anchors used as collections: enough to share a health check among services, too few to bomb. */
    static final int MAX_ALIASES = 50;

    /** The largest config accepted: 64 Mi code points, room for 100,000 services of 10 backends. */
    static final int MAX_CODE_POINTS = 64 * 1024 * 1024;

    /** The largest file read at all, in bytes. */
    static final int MAX_BYTES = MAX_CODE_POINTS;
    /** A longer line is no config: scalars and flow collections stay far below this. */
    static final int MAX_LINE = 64 * 1024;
    /** Nodes after aliases are expanded: a few aliases to aliases must not make binding take minutes. */
    static final long MAX_EXPANDED_NODES = 4_000_000;

    public static Config parse(String fileName, String yamlText) throws ConfigException {
        return parse(fileName, yamlText, c -> List.of());
    }

    public static Config parse(String fileName, String yamlText, Function<Config, List<Refusal>> refusals) throws ConfigException {
        return parse(fileName, FastYaml.utf8(yamlText), yamlText, refusals);
    }

    /** The same without the fast path: SnakeYAML composes, the tree is bound whole (tests compare the two). */
    static Config parseWithSnakeYaml(String fileName, String yamlText, Function<Config, List<Refusal>> refusals) throws ConfigException {
        return parse(fileName, null, yamlText, refusals);
    }

    /**
     * {@code bytes}: the text as UTF-8 for the fast path, or null; {@code text}: the same as a String, or null
     * when {@code bytes} are ASCII (made only if SnakeYAML must read them).
     */
    private static Config parse(String fileName, byte[] bytes, String text, Function<Config, List<Refusal>> refusals)
            throws ConfigException {
        Problems problems = new Problems(fileName);
        if (text != null) checkLines(text, problems);
        else checkLines(bytes, problems);
        problems.throwIfAny();
        // The fast path binds services as it composes them; when it declines, whatever it bound is dropped.
        ConfigBinder binder = new ConfigBinder(problems);
        Tree root = bytes == null ? null : FastYaml.compose(bytes, bytes.length, binder.stream());
        Supplier<Tree> whole = () -> FastYaml.compose(bytes, bytes.length);
        if (root == null) {
            problems = new Problems(fileName);
            binder = new ConfigBinder(problems);
            root = compose(fileName, text != null ? text : new String(bytes, StandardCharsets.ISO_8859_1), problems);
            problems.throwIfAny();
            Tree composed = root;
            whole = () -> composed;
        }
        Optional<Config> config = bind(binder, root, problems);
        if (binder.mustRebind()) {
            problems = new Problems(fileName);
            binder = new ConfigBinder(problems);
            config = bind(binder, whole.get(), problems);
        }
        problems.throwIfAny();
        Config bound = config.orElseThrow(() -> new IllegalStateException("config not bound, yet no error reported"));
        List<Refusal> refused = refusals.apply(bound);
        if (!refused.isEmpty()) {
            Tree document = whole.get();
            for (Refusal r : refused) binder.place(r, document);
        }
        problems.throwIfAny();
        return bound;
    }

    private static Optional<Config> bind(ConfigBinder binder, Tree root, Problems problems) throws ConfigException {
        try {
            return binder.config(new YamlNode(root, problems));
        } catch (StackOverflowError e) {
            problems.add(1, 1, "invalid yaml: nested too deeply");
            throw problems.exception();
        }
    }

    private static boolean ascii(byte[] bytes) {
        for (byte b : bytes) if (b < 0) return false;
        return true;
    }

    /** Line lengths, before the parser sees anything: a scalar of megabytes is refused at its line. */
    private static void checkLines(String text, Problems problems) {
        int line = 1;
        int start = 0;
        for (int i = 0; i <= text.length(); i++) {
            if (i == text.length() || text.charAt(i) == '\n') {
                if (i - start > MAX_LINE) {
                    problems.add(line, MAX_LINE + 1, "line is " + (i - start) + " characters long; at most " + MAX_LINE);
                    return;
                }
                line++;
                start = i + 1;
            }
        }
    }

    /** The same for ASCII bytes, where a byte is a character. */
    private static void checkLines(byte[] text, Problems problems) {
        int line = 1;
        int start = 0;
        for (int i = 0; i <= text.length; i++) {
            if (i == text.length || text[i] == '\n') {
                if (i - start > MAX_LINE) {
                    problems.add(line, MAX_LINE + 1, "line is " + (i - start) + " characters long; at most " + MAX_LINE);
                    return;
                }
                line++;
                start = i + 1;
            }
        }
    }

    /** The number of nodes with every alias expanded, counting each shared node once per use; stops past the bound. */
    private static long expandedSize(Node node, java.util.IdentityHashMap<Node, Long> memo, int depth) {
        Long known = memo.get(node);
        if (known != null) return known;
        if (depth > 10_000) return MAX_EXPANDED_NODES + 1;
        memo.put(node, MAX_EXPANDED_NODES + 1); // a node reached again while counting it: a cycle
        long n = 1;
        if (node instanceof org.snakeyaml.engine.v2.nodes.SequenceNode seq) {
            for (Node c : seq.getValue()) {
                n += expandedSize(c, memo, depth + 1);
                if (n > MAX_EXPANDED_NODES) break;
            }
        } else if (node instanceof org.snakeyaml.engine.v2.nodes.MappingNode map) {
            for (org.snakeyaml.engine.v2.nodes.NodeTuple t : map.getValue()) {
                n += expandedSize(t.getKeyNode(), memo, depth + 1) + expandedSize(t.getValueNode(), memo, depth + 1);
                if (n > MAX_EXPANDED_NODES) break;
            }
        }
        memo.put(node, n);
        return n;
    }

    /**
     * SnakeYAML's composition, for whatever the fast path declines; null with the error in {@code problems}.
     * Syntax errors stop the YAML parser, so there is at most one of them.
     */
    private static Tree compose(String fileName, String text, Problems problems) {
        try {
            Optional<Node> root = snakeYaml(fileName, text);
            if (root.isEmpty()) {
                problems.add(1, 1, "file is empty; expected a mapping with key 'services'");
                return null;
            }
            if (expandedSize(root.get(), new java.util.IdentityHashMap<>(), 0) > MAX_EXPANDED_NODES) {
                problems.add(1, 1, "invalid yaml: the document expands to more than " + MAX_EXPANDED_NODES + " nodes through its aliases");
                return null;
            }
            return Tree.of(root.get());
        } catch (StackOverflowError e) {
            problems.add(1, 1, "invalid yaml: nested too deeply");
        } catch (MarkedYamlEngineException e) {
            String context = e.getContext() == null || e.getContext().isBlank() ? "" : " (" + oneLine(e.getContext())
                    + e.getContextMark().map(m -> " at line " + (m.getLine() + 1)).orElse("") + ")";
            problems.add(e.getProblemMark().or(e::getContextMark), "invalid yaml: " + oneLine(e.getProblem()) + context);
        } catch (ReaderException e) {
            int[] at = lineAndColumn(text, e.getPosition());
            problems.add(at[0], at[1], "invalid yaml: character U+" + String.format("%04X", e.getCodePoint())
                    + " is not allowed");
        } catch (YamlEngineException e) {
            // Unmarked: limits such as the alias count, which concern the document as a whole.
            String message = oneLine(String.valueOf(e.getMessage()));
            problems.add(1, 1, "invalid yaml: " + message.substring(0, 1).toLowerCase(Locale.ROOT) + message.substring(1));
        }
        return null;
    }

    /** SnakeYAML's composition of {@code text}, as the loader runs it; throws its errors. */
    static Optional<Node> snakeYaml(String fileName, String text) {
        // The core schema makes ~, null and an empty value nulls and true/false booleans, so they are
        // reported as such; yes/no/on/off stay strings (YAML 1.2).
        // 10,000 services of 10 backends is about 4 MB of YAML, past the library's default limit of 3 MB.
        LoadSettings settings = LoadSettings.builder().setLabel(fileName).setSchema(new CoreSchema())
                .setCodePointLimit(MAX_CODE_POINTS).setMaxAliasesForCollections(MAX_ALIASES).build();
        return new Compose(settings).composeString(text);
    }

    private static String oneLine(String message) {
        return message.strip().replaceAll("\\s+", " ");
    }

    /** 1-based line and column of the {@code codePoint}-th code point. */
    private static int[] lineAndColumn(String text, int codePoint) {
        int line = 1;
        int column = 1;
        int[] points = text.codePoints().limit(codePoint).toArray();
        for (int c : points) {
            if (c == '\n') {
                line++;
                column = 1;
            } else {
                column++;
            }
        }
        return new int[] {line, column};
    }

    private static ConfigException wholeFile(String name, String message) {
        return new ConfigException(List.of(new ConfigError(name, 0, 0, message)));
    }
}
