package io.nflb.config;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
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
    /** The value of each of the spec's keys, in the spec's order; null when absent. */
    private final Tree[] values;

    YamlMap(YamlNode self, String label, Schema.MapSpec spec, Problems problems) {
        this.self = self;
        this.label = label;
        this.spec = spec;
        this.problems = problems;
        List<Schema.Key> keys = spec.keys();
        this.values = new Tree[keys.size()];
        Tree[] items = self.tree().items;
        Tree[] keyNodes = null; // where each key was first written, for "duplicate key": only kept once one repeats
        for (int i = 0; i < items.length; i += 2) {
            Tree keyNode = items[i];
            if (keyNode.kind != Tree.Kind.SCALAR) {
                new YamlNode(keyNode, problems).error("expected a key name, found " + new YamlNode(keyNode, problems).found());
                continue;
            }
            String key = keyNode.value;
            int k = index(keys, key);
            if (k < 0) {
                List<String> names = spec.keyNames();
                new YamlNode(keyNode, problems).error("unknown key '" + key + "'; " + Suggest.closest(key, names)
                        .map(s -> "did you mean '" + s + "'?")
                        .orElse("expected one of: " + Suggest.list(names)));
            } else if (values[k] != null) {
                if (keyNodes == null) keyNodes = firstKeys(items, keys);
                new YamlNode(keyNode, problems).error("duplicate key '" + key + "'; first at line " + (keyNodes[k].line + 1));
            } else {
                values[k] = items[i + 1];
            }
        }
    }

    private static int index(List<Schema.Key> keys, String key) {
        for (int i = 0; i < keys.size(); i++) if (keys.get(i).name().equals(key)) return i;
        return -1;
    }

    /** The key node where each key of the spec is first written. */
    private static Tree[] firstKeys(Tree[] items, List<Schema.Key> keys) {
        Tree[] first = new Tree[keys.size()];
        for (int i = 0; i < items.length; i += 2) {
            if (items[i].kind != Tree.Kind.SCALAR) continue;
            int k = index(keys, items[i].value);
            if (k >= 0 && first[k] == null) first[k] = items[i];
        }
        return first;
    }

    /** The value of {@code key}, which the spec must name; null when absent. */
    private YamlNode value(String key) {
        List<Schema.Key> keys = spec.keys();
        int k = index(keys, key);
        if (k < 0) spec.key(key); // throws: a binder bug
        return values[k] == null ? null : new YamlNode(values[k], problems, keys.get(k));
    }

    /** The mapping itself, for errors about it as a whole. */
    YamlNode node() {
        return self;
    }

    Optional<YamlNode> get(String key) {
        return Optional.ofNullable(value(key));
    }

    /** Binds a key that must be present; its absence is reported at this mapping's position. */
    <T> Optional<T> require(String key, Function<YamlNode, Optional<T>> bind) {
        if (!spec.key(key).required()) throw new IllegalArgumentException("'" + key + "' is optional in the schema of " + spec.name());
        YamlNode value = value(key);
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
        YamlNode value = value(key);
        if (value != null) return bind.apply(value);
        int mark = problems.mark();
        Optional<T> bound = bind.apply(new YamlNode(defaultNode(k, d), problems, k));
        if (problems.mark() != mark || bound.isEmpty()) {
            throw new IllegalStateException("the default of '" + key + "' in the schema of " + spec.name() + " does not bind");
        }
        return bound;
    }

    /** The defaults as nodes, made once per key: most keys of most mappings are left to their default. */
    private static final Map<Schema.Key, Tree> DEFAULTS = Collections.synchronizedMap(new IdentityHashMap<>());

    private static Tree defaultNode(Schema.Key k, Schema.Presence.DefaultValue d) {
        return DEFAULTS.computeIfAbsent(k, key -> Tree.scalar(
                d.value() instanceof Integer ? Tag.INT : d.value() instanceof Boolean ? Tag.BOOL : Tag.STR,
                String.valueOf(d.value()), 0, 0));
    }

    /**
     * Binds a key that may be absent: {@code fallback} when absent, empty when wrong (and reported). For
     * defaults the binder computes (a backend's health keys fall back to its service's); a test checks that the
     * fallback of a key with a documented default is that default.
     */
    <T> Optional<T> optional(String key, T fallback, Function<YamlNode, Optional<T>> bind) {
        YamlNode value = value(optionalKey(key));
        return value == null ? Optional.of(fallback) : bind.apply(value);
    }

    /** Binds a key that may be absent: empty when absent or wrong, and only the latter is an error. */
    <T> Optional<T> optional(String key, Function<YamlNode, Optional<T>> bind) {
        YamlNode value = value(optionalKey(key));
        return value == null ? Optional.empty() : bind.apply(value);
    }

    private String optionalKey(String key) {
        if (spec.key(key).required()) throw new IllegalArgumentException("'" + key + "' is required in the schema of " + spec.name());
        return key;
    }
}
