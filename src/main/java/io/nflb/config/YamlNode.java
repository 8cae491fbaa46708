package io.nflb.config;

import io.nflb.model.IpAddress;
import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.Tag;

/**
 * A YAML node with typed getters. A getter that cannot deliver records an error at this node's position and
 * returns empty, so binding goes on and later mistakes are reported too.
 */
final class YamlNode {

    /** The YAML 1.2 core schema's integer forms; the composer has already tagged these as !!int. */
    private static final Pattern DECIMAL = Pattern.compile("[-+]?[0-9]+");
    private static final Pattern DURATION_PART = Pattern.compile("([0-9]{1,9})(ms|s|m|h|d)");
    /** Largest first: a combined duration must name each unit at most once, in this order (1h30m, not 30m1h). */
    private static final List<String> DURATION_UNITS = List.of("d", "h", "m", "s", "ms");
    /** The same syntax as one regular expression, for editors (the JSON Schema); the binder also refuses zero. */
    static final String DURATION_SYNTAX = DURATION_UNITS.stream().map(u -> "([0-9]{1,9}" + u + ")?")
            .collect(Collectors.joining("", "(?=[0-9])", ""));
    private static final List<Duration> UNIT_LENGTHS = List.of(
            Duration.ofDays(1), Duration.ofHours(1), Duration.ofMinutes(1), Duration.ofSeconds(1), Duration.ofMillis(1));

    /** No duration in nflb.yaml needs more; longer ones overflow the timers that use them. */
    static final Duration MAX_DURATION = Duration.ofDays(365);
    /** No name, path or argument in nflb.yaml is longer. */
    static final int MAX_SCALAR = 4096;

    private final Tree node;
    private final Problems problems;
    /** The key whose value this is, when it is one: its type in the schema gives ranges. */
    private final Schema.Key key;

    YamlNode(Tree node, Problems problems) {
        this(node, problems, null);
    }

    YamlNode(Tree node, Problems problems, Schema.Key key) {
        this.node = node;
        this.problems = problems;
        this.key = key;
    }

    /** A node SnakeYAML composed. */
    YamlNode(Node node, Problems problems) {
        this(Tree.of(node), problems, null);
    }

    /** 1-based, for messages that point back at an earlier node ("first defined at line 3"). */
    int line() {
        return node.line + 1;
    }

    void error(String message) {
        problems.add(node.line + 1, node.column + 1, message);
    }

    /** The composed node itself. */
    Tree tree() {
        return node;
    }

    /** A mapping with the keys of {@code spec}, whose name heads its "missing key" errors. */
    Optional<YamlMap> mapping(Schema.MapSpec spec) {
        return mapping(spec.name(), spec);
    }

    /** A mapping with the keys of {@code spec}; {@code label} names it in "missing key" errors. */
    Optional<YamlMap> mapping(String label, Schema.MapSpec spec) {
        if (node.kind != Tree.Kind.MAPPING) return expected("a mapping");
        return Optional.of(new YamlMap(this, label, spec, problems));
    }

    Optional<List<YamlNode>> sequence() {
        if (node.kind != Tree.Kind.SEQUENCE) return expected("a sequence");
        Tree[] items = node.items;
        List<YamlNode> out = new ArrayList<>(items.length);
        for (Tree item : items) out.add(new YamlNode(item, problems));
        return Optional.of(out);
    }

    /** Plain integers are taken as written too: a service or interface may be named 80 or 1. */
    Optional<String> string() {
        if (!isScalar(Tag.STR) && !isScalar(Tag.INT)) return expected("a string");
        String value = node.value;
        if (value.length() > MAX_SCALAR) {
            error("a value of " + value.length() + " characters; at most " + MAX_SCALAR);
            return Optional.empty();
        }
        return Optional.of(value);
    }

    Optional<Boolean> bool() {
        if (!isScalar(Tag.BOOL)) return expected("true or false");
        return Optional.of(Boolean.parseBoolean(node.value.toLowerCase(java.util.Locale.ROOT)));
    }

    /** An integer in the range the schema gives this node's key, which heads the out-of-range message. */
    Optional<Integer> integer() {
        if (key == null || !(key.type() instanceof Schema.Int range)) {
            throw new IllegalStateException("no integer range in the schema for " + (key == null ? "this node" : "'" + key.name() + "'"));
        }
        return integer(key.name(), range.min(), range.max());
    }

    /** An integer in {@code min..max}; {@code name} (the key) heads the out-of-range message. */
    Optional<Integer> integer(String name, int min, int max) {
        if (!isScalar(Tag.INT)) return expected("an integer");
        String text = node.value;
        int small = smallDecimal(text);
        if (small >= 0 && small >= min && small <= max) return Optional.of(small);
        Optional<BigInteger> value = parseInteger(text);
        if (value.isEmpty()) return expected("an integer");
        BigInteger v = value.get();
        if (v.compareTo(BigInteger.valueOf(min)) < 0 || v.compareTo(BigInteger.valueOf(max)) > 0) {
            error(name + " " + text + " is out of range; expected " + min + ".." + max);
            return Optional.empty();
        }
        return Optional.of(v.intValueExact());
    }

    /** One of {@code values}, as spelled by {@code keyword}; {@code name} (the key) heads the message. */
    <E> Optional<E> keyword(String name, List<E> values, Function<E, String> keyword) {
        Optional<String> text = string();
        if (text.isEmpty()) return Optional.empty();
        for (int i = 0; i < values.size(); i++) {
            if (keyword.apply(values.get(i)).equals(text.get())) return Optional.of(values.get(i));
        }
        List<String> spellings = values.stream().map(keyword).toList();
        String allowed = "expected one of: " + Suggest.list(spellings);
        error("unknown " + name + " '" + text.get() + "'; " + Suggest.closest(text.get(), spellings)
                .map(s -> "did you mean '" + s + "'? (" + allowed + ")")
                .orElse(allowed));
        return Optional.empty();
    }

    /** A literal IPv4 or IPv6 address; names are refused, nothing is ever resolved. */
    Optional<IpAddress> address() {
        Optional<String> text = string();
        if (text.isEmpty()) return Optional.empty();
        Optional<IpAddress> address = IpAddress.parse(text.get());
        if (address.isEmpty()) {
            boolean looksLikeHostName = text.get().indexOf(':') < 0 && text.get().chars().anyMatch(Character::isLetter);
            error("'" + text.get() + "' is not an IPv4 or IPv6 address"
                    + (looksLikeHostName ? "; host names are not allowed" : ""));
        }
        return address;
    }

    /** A positive duration such as 500ms, 2s, 3h or 1h30m. */
    Optional<Duration> duration() {
        Optional<String> text = string();
        if (text.isEmpty()) return Optional.empty();
        Optional<Duration> duration = parseDuration(text.get());
        if (duration.isEmpty()) {
            error("'" + text.get() + "' is not a duration; expected a number and a unit (ms, s, m, h, d)"
                    + " such as 500ms, 2s or 1h30m");
        } else if (duration.get().isZero()) {
            error("duration '" + text.get() + "' must be positive");
            return Optional.empty();
        } else if (duration.get().compareTo(MAX_DURATION) > 0) {
            error("duration '" + text.get() + "' is too long; at most " + text(MAX_DURATION));
            return Optional.empty();
        }
        return duration;
    }

    /** A duration in {@code min..max}; {@code name} (the key) heads the out-of-range message. */
    Optional<Duration> duration(String name, Duration min, Duration max) {
        return duration().filter(d -> {
            if (d.compareTo(min) >= 0 && d.compareTo(max) <= 0) return true;
            error(name + " " + node.value + " is out of range; expected " + text(min) + ".." + text(max));
            return false;
        });
    }

    /** 100ms, 2s, 1h, 30d: the largest unit that divides it. */
    static String text(Duration d) {
        long ms = d.toMillis();
        if (ms % 86_400_000 == 0) return ms / 86_400_000 + "d";
        if (ms % 3_600_000 == 0) return ms / 3_600_000 + "h";
        if (ms % 60_000 == 0) return ms / 60_000 + "m";
        if (ms % 1000 == 0) return ms / 1000 + "s";
        return ms + "ms";
    }

    static Optional<Duration> parseDuration(String text) {
        Matcher part = DURATION_PART.matcher(text);
        Duration total = Duration.ZERO;
        int lastUnit = -1;
        for (int at = 0; at < text.length(); at = part.end()) {
            if (!part.region(at, text.length()).lookingAt()) return Optional.empty();
            int unit = DURATION_UNITS.indexOf(part.group(2));
            if (unit <= lastUnit) return Optional.empty();
            lastUnit = unit;
            total = total.plus(UNIT_LENGTHS.get(unit).multipliedBy(Long.parseLong(part.group(1))));
        }
        return lastUnit < 0 ? Optional.empty() : Optional.of(total);
    }

    /** The value of up to 9 decimal digits, as nearly every integer in a config is written; else -1. */
    private static int smallDecimal(String text) {
        int len = text.length();
        if (len == 0 || len > 9) return -1;
        int v = 0;
        for (int i = 0; i < len; i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') return -1;
            v = v * 10 + (c - '0');
        }
        return v;
    }

    private static Optional<BigInteger> parseInteger(String text) {
        if (DECIMAL.matcher(text).matches()) return Optional.of(new BigInteger(text.startsWith("+") ? text.substring(1) : text));
        try {
            if (text.startsWith("0x")) return Optional.of(new BigInteger(text.substring(2), 16));
            if (text.startsWith("0o")) return Optional.of(new BigInteger(text.substring(2), 8));
        } catch (NumberFormatException e) {
            // an explicit !!int tag on something that is not a number
        }
        return Optional.empty();
    }

    private boolean isScalar(Tag tag) {
        return node.kind == Tree.Kind.SCALAR && node.tag.equals(tag);
    }

    private <T> Optional<T> expected(String what) {
        error("expected " + what + ", found " + found());
        return Optional.empty();
    }

    /** What the user wrote, in the words of the error messages. */
    String found() {
        if (node.kind == Tree.Kind.MAPPING) return "a mapping";
        if (node.kind == Tree.Kind.SEQUENCE) return "a sequence";
        Tag tag = node.tag;
        if (tag.equals(Tag.STR)) return "a string";
        if (tag.equals(Tag.INT)) return "an integer";
        if (tag.equals(Tag.FLOAT)) return "a float";
        if (tag.equals(Tag.BOOL)) return "a boolean";
        if (tag.equals(Tag.NULL)) return "null";
        return "a value tagged " + tag.getValue();
    }
}
