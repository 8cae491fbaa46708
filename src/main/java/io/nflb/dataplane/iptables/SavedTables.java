package io.nflb.dataplane.iptables;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one reader of the iptables-save dialect (with or without -c, and iptables-restore input): tables,
 * chains with their policy, and rules with their exact text ("-A CHAIN ...", which nflb compares as text),
 * line numbers and counters. {@link #parse} is strict, for what the tools print: anything unexpected is an
 * error. {@link #read} is tolerant, for dumps from anywhere (lint, explain): what it cannot place becomes a
 * problem with its line, and the rest is kept; {@link RuleParser} then reads each rule's matches and target.
 */
record SavedTables(Map<String, Table> tables, List<Problem> problems) {

    private static final Pattern CHAIN_LINE = Pattern.compile(":(\\S+) (\\S+) \\[(\\d+):(\\d+)\\]");
    private static final Pattern COUNTED_RULE = Pattern.compile("\\[(\\d+):(\\d+)\\] (-A .*)");

    public SavedTables {
        tables = Collections.unmodifiableMap(new LinkedHashMap<>(tables));
        problems = List.copyOf(problems);
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

    /**
     * {@code text} is the whole rule line as printed, e.g. "-A NFLB-SVC-web -j NFLB-SEP-web-0"; {@code line} its
     * 1-based line in the text read (0 for a rule that was never read from text).
     */
    public record Rule(String text, long packets, long bytes, int line) {

        public Rule(String text, long packets, long bytes) {
            this(text, packets, bytes, 0);
        }

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

    /** A line the tolerant reader could not use, and why. */
    public record Problem(int line, String message) {
    }

    /** What iptables-save printed; throws {@link IllegalArgumentException} naming the line on anything unexpected. */
    public static SavedTables parse(String text) {
        return new Reader(true).read(text);
    }

    /**
     * Any dump, as iptables 1.4 to 1.8 print it or as a person wrote it for iptables-restore: "-I" and "--append"
     * are accepted, a rule's chain need not be declared, a missing COMMIT is tolerated. What cannot be read is
     * listed in {@link #problems()} in line order, and left out.
     */
    public static SavedTables read(String text) {
        return new Reader(false).read(text);
    }

    private static final class Reader {
        private final boolean strict;
        private final Map<String, Map<String, String>> policies = new LinkedHashMap<>();
        private final Map<String, Map<String, List<Rule>>> rules = new LinkedHashMap<>();
        private final List<Problem> problems = new ArrayList<>();

        Reader(boolean strict) {
            this.strict = strict;
        }

        SavedTables read(String text) {
            String table = null;
            String[] lines = text.split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                int no = i + 1;
                String line = lines[i].strip();
                if (line.isEmpty() || line.startsWith("#")) continue;
                try {
                    if (line.startsWith("*")) {
                        if (table != null && strict) throw bad(no, line, "table " + table + " has no COMMIT");
                        table = line.substring(1).strip();
                        policies.computeIfAbsent(table, t -> new LinkedHashMap<>());
                        rules.computeIfAbsent(table, t -> new LinkedHashMap<>());
                    } else if (table == null) {
                        problem(no, line, "outside a table");
                    } else if (line.equals("COMMIT")) {
                        table = null;
                    } else if (line.startsWith(":")) {
                        chain(no, table, line);
                    } else {
                        rule(no, table, line);
                    }
                } catch (RuntimeException e) {
                    if (strict) throw e;
                    problems.add(new Problem(no, e.getMessage() + ", ignored: " + line));
                }
            }
            if (table != null && strict) throw new IllegalArgumentException("iptables-save output ends inside table " + table);
            Map<String, Table> tables = new LinkedHashMap<>();
            policies.forEach((name, chains) -> {
                Map<String, Chain> out = new LinkedHashMap<>();
                chains.forEach((c, policy) -> out.put(c, new Chain(c, policy, rules.get(name).getOrDefault(c, List.of()))));
                tables.put(name, new Table(name, out));
            });
            problems.sort(Comparator.comparingInt(Problem::line));
            return new SavedTables(tables, problems);
        }

        private void chain(int no, String table, String line) {
            Matcher m = CHAIN_LINE.matcher(line);
            if (m.matches()) {
                policies.get(table).put(m.group(1), m.group(2));
                return;
            }
            if (strict) throw bad(no, line, "not a chain line");
            // Hand-written restore input may leave out the counters.
            String[] parts = line.substring(1).split("\\s+");
            policies.get(table).put(parts[0], parts.length > 1 ? parts[1] : "-");
        }

        private void rule(int no, String table, String line) {
            Matcher counted = COUNTED_RULE.matcher(line);
            long packets = 0;
            long bytes = 0;
            String text = line;
            if (counted.matches()) {
                packets = Long.parseLong(counted.group(1));
                bytes = Long.parseLong(counted.group(2));
                text = counted.group(3);
            } else if (!strict && line.startsWith("[") && line.indexOf(']') > 0) {
                text = line.substring(line.indexOf(']') + 1).strip();
            }
            if (text.startsWith("--append ")) text = "-A " + text.substring("--append ".length());
            boolean insert = !strict && text.startsWith("-I ");
            if (!text.startsWith("-A ") && !insert) {
                if (strict) throw bad(no, line, "not a rule");
                problem(no, line, "not understood");
                return;
            }
            Rule rule = new Rule(text, packets, bytes, no);
            String chain = rule.chain();
            if (chain.isEmpty()) throw new IllegalArgumentException("rule without a chain");
            Map<String, String> declared = policies.get(table);
            if (!declared.containsKey(chain)) {
                if (strict) throw bad(no, line, "rule in an undeclared chain");
                declared.put(chain, IptablesDialect.isBuiltinName(chain) ? "ACCEPT" : "-");
            }
            List<Rule> into = rules.get(table).computeIfAbsent(chain, c -> new ArrayList<>());
            if (!insert) {
                into.add(rule);
                return;
            }
            // "-I CHAIN [N] ...": kept as written, placed where it would be inserted.
            String[] w = text.split("\\s+", 4);
            int position = w.length > 2 && w[2].matches("[0-9]{1,9}") ? Math.max(0, Integer.parseInt(w[2]) - 1) : 0;
            into.add(Math.min(position, into.size()), rule);
        }

        private void problem(int no, String line, String why) {
            if (strict) throw bad(no, line, why);
            problems.add(new Problem(no, why + ", ignored: " + line));
        }
    }

    private static IllegalArgumentException bad(int no, String line, String why) {
        return new IllegalArgumentException("iptables-save line " + no + " (" + why + "): " + line);
    }
}
