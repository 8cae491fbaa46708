package io.nflb.config;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * The words nflb.yaml's schema is written in: immutable specs of mappings, their keys and the values those
 * take, made with a small builder. {@link ConfigSchema} is the description itself. The binder opens every
 * mapping with its spec and takes defaults and integer ranges from it; the man page nflb.yaml(5),
 * {@code nflb validate --keys} and the JSON Schema {@code nflb schema} prints are rendered from the same specs.
 */
public final class Schema {

    private Schema() {
    }

    /** What a value may be. */
    public sealed interface Type permits MapSpec, Int, Keyword, Bool, Text, ListOf, AnyOf {
        /** For people: "integer 1..65535", "tcp | udp". */
        String describe();
    }

    public record Int(int min, int max) implements Type {
        public Int {
            if (min > max) throw new IllegalArgumentException("empty range " + min + ".." + max);
        }

        @Override
        public String describe() {
            return "integer " + min + ".." + max;
        }
    }

    /** One word of a fixed list, as the binder's keyword() takes it. */
    public record Keyword(List<String> words) implements Type {
        public Keyword {
            words = List.copyOf(words);
        }

        @Override
        public String describe() {
            return String.join(" | ", words);
        }
    }

    public record Bool() implements Type {
        @Override
        public String describe() {
            return "true | false";
        }
    }

    /**
     * A string the binder parses or checks. {@code what} says what it is, for people; {@code pattern} (whole
     * value, in the syntax Java's and JSON Schema's regular expressions share) is what an editor can check of
     * it, never stricter than the binder; {@code numbers}: a plain integer is read as its digits too, as
     * {@code YamlNode.string()} reads it (a service may be named 80).
     */
    public record Text(String what, String pattern, int maxLength, boolean numbers) implements Type {
        @Override
        public String describe() {
            return what;
        }
    }

    public record ListOf(Type item, int minItems, int maxItems) implements Type {
        @Override
        public String describe() {
            String items = item instanceof MapSpec m ? m.name() + " mappings" : item.describe();
            return "list of " + items + (minItems > 0 ? ", at least " + minItems : "")
                    + (maxItems < Integer.MAX_VALUE ? ", at most " + maxItems : "");
        }
    }

    /** A value of any of several forms: a port, a range, or a list of them. */
    public record AnyOf(String what, List<Type> forms) implements Type {
        public AnyOf {
            forms = List.copyOf(forms);
        }

        @Override
        public String describe() {
            return what;
        }
    }

    /**
     * A mapping with a fixed set of keys, in the order they are documented and suggested. {@code name} is the
     * mapping's name in error messages ("listen is missing required key 'port'").
     */
    public record MapSpec(String name, String doc, List<Key> keys) implements Type {
        public MapSpec {
            keys = List.copyOf(keys);
            Set<String> seen = new HashSet<>();
            for (Key k : keys) {
                if (!seen.add(k.name())) throw new IllegalArgumentException(name + ": key '" + k.name() + "' twice");
            }
        }

        @Override
        public String describe() {
            return "mapping";
        }

        /** The key named {@code key}; a binder asking for any other has a bug, not the user's file. */
        public Key key(String key) {
            for (int i = 0; i < keys.size(); i++) {
                Key k = keys.get(i);
                if (k.name().equals(key)) return k;
            }
            throw new IllegalArgumentException("the schema of '" + name + "' has no key '" + key + "'");
        }

        public List<String> keyNames() {
            return keys.stream().map(Key::name).toList();
        }
    }

    public record Key(String name, Type type, Presence presence, String doc) {
        public Key {
            if (presence instanceof Presence.DefaultValue d && !fits(type, d.value())) {
                throw new IllegalArgumentException("default " + d.value() + " of '" + name + "' is not a " + type.describe());
            }
        }

        public boolean required() {
            return presence instanceof Presence.Required;
        }

        private static boolean fits(Type type, Object value) {
            if (type instanceof Int i) return value instanceof Integer n && n >= i.min() && n <= i.max();
            if (type instanceof Keyword k) return k.words().contains(value);
            if (type instanceof Bool) return value instanceof Boolean;
            if (type instanceof Text) return value instanceof String;
            if (type instanceof AnyOf a) return a.forms().stream().anyMatch(f -> fits(f, value));
            return false; // a default is one scalar; anything larger is a derived default
        }
    }

    /** Whether a key must be written, and what leaving it out means. */
    public sealed interface Presence {
        /** "required", "optional", "default: tcp". */
        String describe();

        record Required() implements Presence {
            @Override
            public String describe() {
                return "required";
            }
        }

        /** Leaving the key out means what its doc says (no address: any address). */
        record NoDefault() implements Presence {
            @Override
            public String describe() {
                return "optional";
            }
        }

        /** A scalar the binder binds, as if written, when the key is left out. */
        record DefaultValue(Object value) implements Presence {
            @Override
            public String describe() {
                return "default: " + yaml(value);
            }
        }

        /** A default the binder computes from other keys, described in words ("the listen port"). */
        record Derived(String text) implements Presence {
            @Override
            public String describe() {
                return "default: " + text;
            }
        }
    }

    public static final Presence REQUIRED = new Presence.Required();
    public static final Presence OPTIONAL = new Presence.NoDefault();

    public static Presence byDefault(Object value) {
        return new Presence.DefaultValue(value);
    }

    public static Presence derived(String text) {
        return new Presence.Derived(text);
    }

    public static MapBuilder map(String name, String doc) {
        return new MapBuilder(name, doc);
    }

    public static final class MapBuilder {
        private final String name;
        private final String doc;
        private final List<Key> keys = new ArrayList<>();

        private MapBuilder(String name, String doc) {
            this.name = name;
            this.doc = doc;
        }

        public MapBuilder key(String key, Type type, Presence presence, String doc) {
            keys.add(new Key(key, type, presence, doc));
            return this;
        }

        public MapSpec build() {
            return new MapSpec(name, doc, keys);
        }
    }

    public static Int integer(int min, int max) {
        return new Int(min, max);
    }

    public static <E> Keyword keyword(E[] values, Function<E, String> word) {
        return new Keyword(Stream.of(values).map(word).toList());
    }

    public static Keyword keyword(List<String> words) {
        return new Keyword(words);
    }

    public static final Bool BOOL = new Bool();

    public static Text text(String what, String pattern, int maxLength) {
        return new Text(what, pattern, maxLength, false);
    }

    /** A name, which may be written as a plain integer too. */
    public static Text name(String what, String pattern, int maxLength) {
        return new Text(what, pattern, maxLength, true);
    }

    public static ListOf listOf(Type item, int minItems, int maxItems) {
        return new ListOf(item, minItems, maxItems);
    }

    public static AnyOf anyOf(String what, Type... forms) {
        return new AnyOf(what, List.of(forms));
    }

    /**
     * A mapping and where it is in the file: "services[].listen" (items of a list get "[]"); the root's path is
     * "". {@code sameAs}: the path where the same mapping was met first (a backend's health is a service's).
     */
    public record Section(String path, MapSpec spec, Optional<String> sameAs) {
    }

    /**
     * Every mapping under {@code root}, root first, each before the mappings inside it, in key order; a mapping
     * met again is listed with {@code sameAs} and not entered again.
     */
    public static List<Section> sections(MapSpec root) {
        List<Section> out = new ArrayList<>();
        collect("", root, out);
        return out;
    }

    private static void collect(String path, MapSpec spec, List<Section> out) {
        Optional<String> first = out.stream().filter(s -> s.spec() == spec).map(Section::path).findFirst();
        out.add(new Section(path, spec, first));
        if (first.isPresent()) return;
        for (Key k : spec.keys()) {
            String at = path.isEmpty() ? k.name() : path + "." + k.name();
            collectType(at, k.type(), out);
        }
    }

    private static void collectType(String path, Type type, List<Section> out) {
        if (type instanceof MapSpec m) collect(path, m, out);
        else if (type instanceof ListOf l) collectType(path + "[]", l.item(), out);
        else if (type instanceof AnyOf a) a.forms().forEach(f -> collectType(path, f, out));
    }

    /** A default as YAML writes it: 1, true, tcp, 2s, "nflb-drop " (quoted where plain would read otherwise). */
    public static String yaml(Object value) {
        if (!(value instanceof String s)) return String.valueOf(value);
        boolean plain = s.matches("[A-Za-z0-9/_.+-]+") && !s.matches("(?i)true|false|null|[-+.]?[0-9][0-9._]*(e[-+]?[0-9]+)?|0x.*|0o.*");
        return plain ? s : '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }
}
