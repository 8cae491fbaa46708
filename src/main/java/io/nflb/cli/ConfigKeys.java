package io.nflb.cli;

import io.nflb.config.ConfigSchema;
import io.nflb.config.Schema;
import io.nflb.config.Schema.Key;
import io.nflb.config.Schema.Section;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** nflb.yaml's keys for a terminal, from the config schema: the overview `nflb validate --help` ends with, and `--keys`. */
final class ConfigKeys {

    private ConfigKeys() {
    }

    /** One line per mapping with its keys, wrapped at {@code width}. */
    static String overview(int width) {
        StringBuilder sb = new StringBuilder();
        for (String line : wrap("The keys of nflb.yaml, by mapping (`nflb validate --keys` says what each takes, "
                + "`man nflb.yaml` what each does; `nflb schema` is the file's JSON Schema, for editors):", width, "")) {
            sb.append(line).append('\n');
        }
        for (Section s : Schema.sections(ConfigSchema.ROOT)) {
            String head = "  " + (s.path().isEmpty() ? "(top level)" : s.path()) + ": ";
            String keys = s.sameAs().map(first -> "as " + first).orElse(String.join(" ", s.spec().keyNames()));
            for (String line : wrap(head + keys, width, " ".repeat(head.length()))) sb.append(line).append('\n');
        }
        return sb.toString();
    }

    /** Every key by its path, each followed by the keys inside it, with what it takes, its default and what it does. */
    static String listing(int width) {
        StringBuilder sb = new StringBuilder();
        list("", ConfigSchema.ROOT, new HashMap<>(), width, sb);
        return sb.toString();
    }

    private static void list(String path, Schema.MapSpec spec, Map<Schema.MapSpec, String> seen, int width, StringBuilder sb) {
        seen.put(spec, path);
        for (Key k : spec.keys()) {
            String at = path.isEmpty() ? k.name() : path + "." + k.name();
            Schema.Type type = k.type();
            String inner = at;
            while (type instanceof Schema.ListOf l) {
                type = l.item();
                inner += "[]";
            }
            // A word or a mapping (firewall.neighbours.*): the mapping's keys are listed under it.
            if (type instanceof Schema.AnyOf a) {
                type = a.forms().stream().filter(f -> f instanceof Schema.MapSpec).findFirst().orElse(type);
            }
            String what = type instanceof Schema.MapSpec m && seen.containsKey(m) && !(k.type() instanceof Schema.AnyOf)
                    ? "as " + seen.get(m) : k.type().describe();
            for (String line : wrap(at + "  " + what + "; " + k.presence().describe(), width, "        ")) sb.append(line).append('\n');
            for (String line : wrap("    " + k.doc(), width, "    ")) sb.append(line).append('\n');
            if (type instanceof Schema.MapSpec m && !seen.containsKey(m)) list(inner, m, seen, width, sb);
        }
    }

    /** {@code text} in lines of at most {@code width} where it has spaces; lines after the first start with {@code indent}. */
    static List<String> wrap(String text, int width, String indent) {
        List<String> lines = new ArrayList<>();
        String rest = text;
        String prefix = "";
        while ((prefix + rest).length() > width) {
            int room = width - prefix.length();
            int cut = rest.lastIndexOf(' ', room);
            if (cut <= 0) cut = rest.indexOf(' ', room);
            if (cut <= 0) break;
            lines.add(prefix + rest.substring(0, cut).stripTrailing());
            rest = rest.substring(cut + 1).stripLeading();
            prefix = indent;
        }
        lines.add(prefix + rest);
        return lines;
    }
}
