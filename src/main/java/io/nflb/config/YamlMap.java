package io.nflb.config;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.snakeyaml.engine.v2.common.ScalarStyle;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.Tag;

/**
 * A YAML mapping with the keys its {@link Schema.MapSpec} names. Unknown and repeated keys are reported when it
 * is opened; the composer keeps duplicates, so this is where they are caught. A binder that asks for a key the
 * spec does not name, or binds it against its spec (a required key as optional), fails at once: it has a bug.
 */
final class YamlMap {

    private final YamlNode self;
    private final String label;
    private final Schema.MapSpec spec;
    private final Problems problems;
    private final Map<String, YamlNode> values = new LinkedHashMap<>();

    YamlMap(YamlNode self, MappingNode mapping, String label, Schema.MapSpec spec, Problems problems) {
        this.self = self;
        this.label = label;
        this.spec = spec;
        this.problems = problems;
        List<String> keys = spec.keyNames();
        Map<String, Integer> keyLines = new HashMap<>();
        for (NodeTuple tuple : mapping.getValue()) {
            YamlNode keyNode = new YamlNode(tuple.getKeyNode(), problems);
            if (!(tuple.getKeyNode() instanceof ScalarNode scalar)) {
                keyNode.error("expected a key name, found " + keyNode.found());
                continue;
            }
            String key = scalar.getValue();
            if (!keys.contains(key)) {
                keyNode.error("unknown key '" + key + "'; " + Suggest.closest(key, keys)
                        .map(s -> "did you mean '" + s + "'?")
                        .orElse("expected one of: " + Suggest.list(keys)));
            } else if (keyLines.containsKey(key)) {
                keyNode.error("duplicate key '" + key + "'; first at line " + keyLines.get(key));
            } else {
                keyLines.put(key, keyNode.line());
                values.put(key, new YamlNode(tuple.getValueNode(), problems, spec.key(key)));
            }
        }
    }

    /** The mapping itself, for errors about it as a whole. */
    YamlNode node() {
        return self;
    }

    Optional<YamlNode> get(String key) {
        spec.key(key);
        return Optional.ofNullable(values.get(key));
    }

    /** Binds a key that must be present; its absence is reported at this mapping's position. */
    <T> Optional<T> require(String key, Function<YamlNode, Optional<T>> bind) {
        if (!spec.key(key).required()) throw new IllegalArgumentException("'" + key + "' is optional in the schema of " + spec.name());
        YamlNode value = values.get(key);
        if (value == null) {
            self.error(label + " is missing required key '" + key + "'");
            return Optional.empty();
        }
        return bind.apply(value);
    }

    /**
     * Binds a key, or when it is absent the default the schema documents, as if it were written: the applied
     * default is the documented one. Empty only when the value was wrong (and reported).
     */
    <T> Optional<T> orDefault(String key, Function<YamlNode, Optional<T>> bind) {
        Schema.Key k = spec.key(key);
        if (!(k.presence() instanceof Schema.Presence.DefaultValue d)) {
            throw new IllegalArgumentException("'" + key + "' has no default value in the schema of " + spec.name());
        }
        YamlNode value = values.get(key);
        if (value != null) return bind.apply(value);
        int mark = problems.mark();
        Tag tag = d.value() instanceof Integer ? Tag.INT : d.value() instanceof Boolean ? Tag.BOOL : Tag.STR;
        Optional<T> bound = bind.apply(new YamlNode(new ScalarNode(tag, String.valueOf(d.value()), ScalarStyle.PLAIN), problems, k));
        if (problems.mark() != mark || bound.isEmpty()) {
            throw new IllegalStateException("the default of '" + key + "' in the schema of " + spec.name() + " does not bind");
        }
        return bound;
    }

    /**
     * Binds a key that may be absent: {@code fallback} when absent, empty when wrong (and reported). For
     * defaults the binder computes (a backend's health keys fall back to its service's); a test checks that the
     * fallback of a key with a documented default is that default.
     */
    <T> Optional<T> optional(String key, T fallback, Function<YamlNode, Optional<T>> bind) {
        YamlNode value = values.get(optionalKey(key));
        return value == null ? Optional.of(fallback) : bind.apply(value);
    }

    /** Binds a key that may be absent: empty when absent or wrong, and only the latter is an error. */
    <T> Optional<T> optional(String key, Function<YamlNode, Optional<T>> bind) {
        YamlNode value = values.get(optionalKey(key));
        return value == null ? Optional.empty() : bind.apply(value);
    }

    private String optionalKey(String key) {
        if (spec.key(key).required()) throw new IllegalArgumentException("'" + key + "' is required in the schema of " + spec.name());
        return key;
    }
}
