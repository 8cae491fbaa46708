package io.nflb.config;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;

/**
 * A YAML mapping with a fixed set of keys. Unknown and repeated keys are reported when it is opened; the
 * composer keeps duplicates, so this is where they are caught.
 */
final class YamlMap {

    private final YamlNode self;
    private final String label;
    private final Map<String, YamlNode> values = new LinkedHashMap<>();

    YamlMap(YamlNode self, MappingNode mapping, String label, List<String> keys, Problems problems) {
        this.self = self;
        this.label = label;
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
                values.put(key, new YamlNode(tuple.getValueNode(), problems));
            }
        }
    }

    /** The mapping itself, for errors about it as a whole. */
    YamlNode node() {
        return self;
    }

    Optional<YamlNode> get(String key) {
        return Optional.ofNullable(values.get(key));
    }

    /** Binds a key that must be present; its absence is reported at this mapping's position. */
    <T> Optional<T> require(String key, Function<YamlNode, Optional<T>> bind) {
        YamlNode value = values.get(key);
        if (value == null) {
            self.error(label + " is missing required key '" + key + "'");
            return Optional.empty();
        }
        return bind.apply(value);
    }

    /** Binds a key that may be absent: {@code fallback} when absent, empty when wrong (and reported). */
    <T> Optional<T> optional(String key, T fallback, Function<YamlNode, Optional<T>> bind) {
        YamlNode value = values.get(key);
        return value == null ? Optional.of(fallback) : bind.apply(value);
    }

    /** Binds a key that may be absent: empty when absent or wrong, and only the latter is an error. */
    <T> Optional<T> optional(String key, Function<YamlNode, Optional<T>> bind) {
        YamlNode value = values.get(key);
        return value == null ? Optional.empty() : bind.apply(value);
    }
}
