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
        String name = file.toString();
        String text;
        try {
            // Strict decoding: a replacement character would otherwise end up in a name or address message.
            text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(Files.readAllBytes(file))).toString();
        } catch (CharacterCodingException e) {
            throw wholeFile(name, "file is not valid UTF-8");
        } catch (NoSuchFileException e) {
            throw wholeFile(name, "cannot read file: no such file");
        } catch (AccessDeniedException e) {
            throw wholeFile(name, "cannot read file: permission denied");
        } catch (IOException e) {
            throw wholeFile(name, "cannot read file: " + e.getMessage());
        }
        return parse(name, text);
    }

    /** The largest config accepted: 64 Mi code points, room for 100,000 services of 10 backends. */
    static final int MAX_CODE_POINTS = 64 * 1024 * 1024;

    public static Config parse(String fileName, String yamlText) throws ConfigException {
        Problems problems = new Problems(fileName);
        Optional<Node> root = compose(fileName, yamlText, problems);
        problems.throwIfAny();
        if (root.isEmpty()) {
            problems.add(1, 1, "file is empty; expected a mapping with key 'services'");
            problems.throwIfAny();
        }
        Optional<Config> config = new ConfigBinder(problems).config(new YamlNode(root.get(), problems));
        problems.throwIfAny();
        return config.orElseThrow(() -> new IllegalStateException("config not bound, yet no error reported"));
    }

    /** Syntax errors stop the YAML parser, so there is at most one of them. */
    private static Optional<Node> compose(String fileName, String text, Problems problems) {
        // The core schema makes ~, null and an empty value nulls and true/false booleans, so they are
        // reported as such; yes/no/on/off stay strings (YAML 1.2).
        // 10,000 services of 10 backends is about 4 MB of YAML, past the library's default limit of 3 MB.
        LoadSettings settings = LoadSettings.builder().setLabel(fileName).setSchema(new CoreSchema())
                .setCodePointLimit(MAX_CODE_POINTS).build();
        try {
            return new Compose(settings).composeString(text);
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
        return Optional.empty();
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
