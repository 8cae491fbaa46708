package io.nflb.kernel;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * iptables-save text (with or without -c) read into tables, chains and rules. Rules keep their exact text
 * ("-A CHAIN ...") because nflb compares rules by text; counters are split off.
 */
public record SavedTables(Map<String, Table> tables) {

    private static final Pattern CHAIN_LINE = Pattern.compile(":(\\S+) (\\S+) \\[(\\d+):(\\d+)\\]");
    private static final Pattern COUNTED_RULE = Pattern.compile("\\[(\\d+):(\\d+)\\] (-A .*)");

    public SavedTables {
        tables = Collections.unmodifiableMap(new LinkedHashMap<>(tables));
    }

    public record Table(String name, Map<String, Chain> chains) {
        public Table {
            chains = Collections.unmodifiableMap(new LinkedHashMap<>(chains));
        }
    }

    /** {@code policy} is "-" for a user chain, ACCEPT/DROP for a built-in one. */
    public record Chain(String name, String policy, List<Rule> rules) {
        public Chain {
            rules = List.copyOf(rules);
        }

        public boolean builtin() {
            return !policy.equals("-");
        }

        public List<String> ruleTexts() {
            return rules.stream().map(Rule::text).toList();
        }
    }

    /** {@code text} is the whole rule line as printed, e.g. "-A NFLB-SVC-web -j NFLB-SEP-web-0". */
    public record Rule(String text, long packets, long bytes) {
        public String chain() {
            int end = text.indexOf(' ', 3);
            return end < 0 ? text.substring(3) : text.substring(3, end);
        }

        /** The rule without "-A CHAIN ", as a jump spec is written. */
        public String spec() {
            int end = text.indexOf(' ', 3);
            return end < 0 ? "" : text.substring(end + 1);
        }
    }

    public static SavedTables parse(String text) {
        Map<String, Table> tables = new LinkedHashMap<>();
        String table = null;
        Map<String, String> policies = new LinkedHashMap<>();
        Map<String, List<Rule>> rules = new LinkedHashMap<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            if (line.startsWith("*")) {
                if (table != null) throw bad(i, line, "table " + table + " has no COMMIT");
                table = line.substring(1);
                policies.clear();
                rules.clear();
            } else if (table == null) {
                throw bad(i, line, "outside a table");
            } else if (line.equals("COMMIT")) {
                Map<String, Chain> chains = new LinkedHashMap<>();
                for (var e : policies.entrySet()) {
                    chains.put(e.getKey(), new Chain(e.getKey(), e.getValue(), rules.getOrDefault(e.getKey(), List.of())));
                }
                tables.put(table, new Table(table, chains));
                table = null;
            } else if (line.startsWith(":")) {
                Matcher m = CHAIN_LINE.matcher(line);
                if (!m.matches()) throw bad(i, line, "not a chain line");
                policies.put(m.group(1), m.group(2));
            } else {
                Rule rule = rule(i, line);
                if (!policies.containsKey(rule.chain())) throw bad(i, line, "rule in an undeclared chain");
                rules.computeIfAbsent(rule.chain(), c -> new ArrayList<>()).add(rule);
            }
        }
        if (table != null) throw new IllegalArgumentException("iptables-save output ends inside table " + table);
        return new SavedTables(tables);
    }

    private static Rule rule(int index, String line) {
        Matcher m = COUNTED_RULE.matcher(line);
        if (m.matches()) return new Rule(m.group(3), Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
        if (line.startsWith("-A ")) return new Rule(line, 0, 0);
        throw bad(index, line, "not a rule");
    }

    private static IllegalArgumentException bad(int index, String line, String why) {
        return new IllegalArgumentException("iptables-save line " + (index + 1) + " (" + why + "): " + line);
    }
}
