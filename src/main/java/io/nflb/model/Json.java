package io.nflb.model;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The little JSON nflb writes (explain, plan, status, the config's JSON Schema): known shapes need no library. */
public final class Json {

    private Json() {
    }

    /** A JSON string literal for {@code s}. */
    public static String str(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        return sb.append('"').toString();
    }

    /**
     * {@code value} as indented JSON: maps (in their own order, keys as strings), lists, strings, numbers,
     * booleans and null.
     */
    public static String pretty(Object value) {
        StringBuilder sb = new StringBuilder();
        pretty(value, "", sb);
        return sb.append('\n').toString();
    }

    private static void pretty(Object value, String indent, StringBuilder sb) {
        String inner = indent + "  ";
        if (value instanceof Map<?, ?> map) {
            if (map.isEmpty()) {
                sb.append("{}");
                return;
            }
            sb.append("{\n");
            int i = 0;
            for (Map.Entry<?, ?> e : map.entrySet()) {
                sb.append(inner).append(str(String.valueOf(e.getKey()))).append(": ");
                pretty(e.getValue(), inner, sb);
                sb.append(++i < map.size() ? ",\n" : "\n");
            }
            sb.append(indent).append('}');
        } else if (value instanceof List<?> list) {
            if (list.isEmpty()) {
                sb.append("[]");
                return;
            }
            // Short lists of scalars (enums, required keys) on one line.
            if (list.stream().allMatch(v -> !(v instanceof Map || v instanceof List))) {
                sb.append('[');
                for (int i = 0; i < list.size(); i++) {
                    if (i > 0) sb.append(", ");
                    pretty(list.get(i), inner, sb);
                }
                sb.append(']');
                return;
            }
            sb.append("[\n");
            for (int i = 0; i < list.size(); i++) {
                sb.append(inner);
                pretty(list.get(i), inner, sb);
                sb.append(i + 1 < list.size() ? ",\n" : "\n");
            }
            sb.append(indent).append(']');
        } else if (value instanceof String s) {
            sb.append(str(s));
        } else if (value instanceof Double d && !Double.isFinite(d)) {
            sb.append(str(d.toString())); // JSON has no infinity; YAML's .inf becomes a string

        } else if (value == null || value instanceof Number || value instanceof Boolean) {
            sb.append(value);
        } else {
            throw new IllegalArgumentException("not a JSON value: " + value.getClass().getName());
        }
    }
}
