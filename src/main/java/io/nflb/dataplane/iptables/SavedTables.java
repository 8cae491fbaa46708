package io.nflb.dataplane.iptables;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one reader of the iptables-save dialect (with or without -c, and iptables-restore input): tables,
 * chains with their policy, and rules with their exact text ("-A CHAIN ...", which nflb compares as text),
 * line numbers and counters. {@link #parse} is strict, for what the tools print: anything unexpected is an
 * error. {@link #read} is tolerant, for dumps from anywhere (lint, explain): every line it does not take is a
 * {@link Problem} with its line, column and kind, and the rest is kept; a text that is not a dump at all (no
 * "*table" first, no COMMIT at the end) gets one {@link Problem.Kind#STRUCTURE} problem and nothing more is read.
 * {@link RuleParser} then reads each rule's matches and target.
 */
record SavedTables(Map<String, Table> tables, List<Problem> problems) {

    private static final Pattern CHAIN_LINE = Pattern.compile(":(\\S+) (\\S+) \\[(\\d+):(\\d+)\\]");
    private static final Pattern COUNTED_RULE = Pattern.compile("\\[(\\d+):(\\d+)\\] (-A .*)");
    private static final Pattern ANY_COUNTERS = Pattern.compile("\\[\\d+:\\d+\\]\\s+");
    private static final Set<String> KNOWN_TABLES = Set.of("raw", "mangle", "filter", "nat", "security");
    /** iptables' limit on a chain name (XT_EXTENSION_MAXNAMELEN - 1). */
    private static final int MAX_CHAIN_NAME = 28;

    public SavedTables {
        tables = Collections.unmodifiableMap(new LinkedHashMap<>(tables));
        problems = List.copyOf(problems);
    }

    public record Table(String name, Map<String, Chain> chains) {
        public Table {
            chains = Collections.unmodifiableMap(new LinkedHashMap<>(chains));
        }
    }

    /** {@code policy} is "-" for a user chain, ACCEPT/DROP for a built-in one; {@code line} declares it (0: none). */
    public record Chain(String name, String policy, List<Rule> rules, int line) {
        public Chain {
            rules = List.copyOf(rules);
        }

        public Chain(String name, String policy, List<Rule> rules) {
            this(name, policy, rules, 0);
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
     * 1-based line in the text read (0 for a rule that was never read from text), {@code column} where the text
     * starts in that line (after the counters of iptables-save -c).
     */
    public record Rule(String text, long packets, long bytes, int line, int column) {

        public Rule(String text, long packets, long bytes) {
            this(text, packets, bytes, 0, 1);
        }

        public Rule(String text, long packets, long bytes, int line) {
            this(text, packets, bytes, line, 1);
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

    /**
     * A line the tolerant reader could not use, and why. {@link Kind#STRUCTURE}: the text is not a whole dump
     * (reading stopped there); {@link Kind#REFUSED}: iptables-restore would refuse the file for this line;
     * {@link Kind#NOT_UNDERSTOOD}: a line this reader does not apply.
     */
    public record Problem(int line, int column, Kind kind, String message) {
        public enum Kind { STRUCTURE, REFUSED, NOT_UNDERSTOOD }

        public Problem(int line, String message) {
            this(line, 1, Kind.NOT_UNDERSTOOD, message);
        }
    }

    /** What iptables-save printed; throws {@link IllegalArgumentException} naming the line on anything unexpected. */
    public static SavedTables parse(String text) {
        return new Reader(true).read(text);
    }

    /**
     * Any dump, as iptables 1.4 to 1.8 print it or as a person wrote it for iptables-restore: counters, "-I",
     * "--append", "-N" and "-P" are accepted; a rule's chain need not be declared (a refused line, the chain is
     * made). What cannot be read is listed in {@link #problems()} in line order, and left out.
     */
    public static SavedTables read(String text) {
        return new Reader(false).read(text);
    }

    private static final class Reader {
        private final boolean strict;
        private final Map<String, Map<String, String>> policies = new LinkedHashMap<>();
        private final Map<String, Map<String, Integer>> declaredAt = new LinkedHashMap<>();
        private final Map<String, Map<String, List<Rule>>> rules = new LinkedHashMap<>();
        private final Set<String> undeclared = new HashSet<>();
        private final List<Problem> problems = new ArrayList<>();

        Reader(boolean strict) {
            this.strict = strict;
        }

        SavedTables read(String text) {
            String table = null;
            int tableLine = 0;
            int last = 0;
            String lastText = "";
            boolean seenTable = false;
            String[] lines = text.split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                int no = i + 1;
                String line = lines[i].strip();
                if (line.isEmpty() || line.startsWith("#")) continue;
                last = no;
                lastText = line;
                try {
                    if (!strict && !seenTable && !line.startsWith("*")) {
                        structure(no, notADump(line));
                        break;
                    }
                    if (line.startsWith("*")) {
                        if (table != null) {
                            if (strict) throw bad(no, line, "table " + table + " has no COMMIT");
                            structure(no, "table " + table + " (line " + tableLine + ") has no COMMIT before '" + shorten(line)
                                    + "': iptables-restore refuses this");
                            break;
                        }
                        seenTable = true;
                        table = line.substring(1).strip();
                        tableLine = no;
                        policies.computeIfAbsent(table, t -> new LinkedHashMap<>());
                        declaredAt.computeIfAbsent(table, t -> new LinkedHashMap<>());
                        rules.computeIfAbsent(table, t -> new LinkedHashMap<>());
                        if (!strict && !KNOWN_TABLES.contains(table)) {
                            problems.add(new Problem(no, 2, Problem.Kind.NOT_UNDERSTOOD, "unknown table '" + table
                                    + "' (iptables has raw, mangle, filter, nat, security): its rules are read but not analysed"));
                        }
                    } else if (table == null) {
                        if (strict) throw bad(no, line, "outside a table");
                        structure(no, "'" + shorten(line) + "' is outside a table (after COMMIT, before the next '*table')");
                        break;
                    } else if (line.equals("COMMIT")) {
                        table = null;
                    } else if (line.startsWith(":")) {
                        chain(no, table, line);
                    } else {
                        rule(no, table, line);
                    }
                } catch (RuntimeException e) {
                    if (strict) throw e;
                    problems.add(new Problem(no, 1, Problem.Kind.NOT_UNDERSTOOD, e.getMessage() + ": " + shorten(line)));
                }
            }
            if (table != null && strict) throw new IllegalArgumentException("iptables-save output ends inside table " + table);
            if (!strict && structuralProblem() == null) {
                if (table != null) {
                    structure(last, "the dump ends inside table " + table + " at line " + last + " without COMMIT"
                            + (lastText.startsWith("-") || lastText.startsWith("[") ? " (a rule cut short?)" : "")
                            + ": it is truncated, and iptables-restore would refuse it");
                } else if (!seenTable) {
                    structure(Math.max(last, 1), last == 0 ? "empty input: not an iptables-save dump" : "no '*table' line: not an iptables-save dump");
                }
            }
            Map<String, Table> tables = new LinkedHashMap<>();
            policies.forEach((name, chains) -> {
                Map<String, Chain> out = new LinkedHashMap<>();
                chains.forEach((c, policy) -> out.put(c, new Chain(c, policy, rules.get(name).getOrDefault(c, List.of()),
                        declaredAt.get(name).getOrDefault(c, 0))));
                tables.put(name, new Table(name, out));
            });
            problems.sort(Comparator.comparingInt(Problem::line));
            return new SavedTables(tables, problems);
        }

        private Problem structuralProblem() {
            return problems.stream().filter(p -> p.kind() == Problem.Kind.STRUCTURE).findFirst().orElse(null);
        }

        private void structure(int no, String message) {
            problems.add(new Problem(no, 1, Problem.Kind.STRUCTURE, message));
        }

        /** Why a text whose first line is {@code line} is no iptables-save dump, with a guess at what it is. */
        private static String notADump(String line) {
            String start = "'" + shorten(line) + "' is not iptables-save output (no '*table' line before it)";
            if (line.matches("(-[PNAIX]|--(append|insert|new-chain|policy)) .*")) {
                return start + "; this looks like 'iptables -S': use iptables-save";
            }
            if (line.matches("(table|flush|add|define|include)\\b.*")) return start + "; this looks like 'nft list ruleset'";
            if (line.matches("Chain \\S+ \\((policy|\\d+ references).*")) return start + "; this looks like 'iptables -L': use iptables-save";
            return start;
        }

        private void chain(int no, String table, String line) {
            Matcher m = CHAIN_LINE.matcher(line);
            if (m.matches()) {
                declare(no, table, m.group(1), m.group(2));
                return;
            }
            if (strict) throw bad(no, line, "not a chain line");
            // Hand-written restore input may leave out the counters.
            String[] parts = line.substring(1).split("\\s+");
            declare(no, table, parts[0], parts.length > 1 ? parts[1] : "-");
        }

        private void declare(int no, String table, String name, String policy) {
            if (!strict && (name.isEmpty() || name.length() > MAX_CHAIN_NAME)) {
                problems.add(new Problem(no, 2, Problem.Kind.REFUSED, "chain name '" + name + "' "
                        + (name.isEmpty() ? "is empty" : "is longer than " + MAX_CHAIN_NAME + " characters")
                        + ": iptables-restore refuses it"));
            }
            policies.get(table).put(name, policy);
            declaredAt.get(table).putIfAbsent(name, no);
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
            } else if (!strict && line.startsWith("[")) {
                Matcher any = ANY_COUNTERS.matcher(line);
                if (!any.lookingAt()) throw new IllegalArgumentException("counters not understood");
                text = line.substring(any.end());
            }
            int column = line.length() - text.length() + 1;
            if (text.startsWith("--append ")) text = "-A " + text.substring("--append ".length());
            if (text.startsWith("--insert ")) text = "-I " + text.substring("--insert ".length());
            if (!strict && command(no, column, table, text)) return;
            boolean insert = !strict && text.startsWith("-I ");
            if (!text.startsWith("-A ") && !insert) {
                if (strict) throw bad(no, line, "not a rule");
                problems.add(new Problem(no, column, Problem.Kind.REFUSED, "'" + shorten(text)
                        + "' is neither a rule (-A) nor a chain line (:NAME): iptables-restore refuses it"));
                return;
            }
            Rule rule = new Rule(text, packets, bytes, no, column);
            String chain = rule.chain();
            if (chain.isEmpty()) throw new IllegalArgumentException("rule without a chain");
            Map<String, String> declared = policies.get(table);
            if (!declared.containsKey(chain)) {
                if (strict) throw bad(no, line, "rule in an undeclared chain");
                boolean builtin = IptablesDialect.isBuiltin(table, chain);
                declared.put(chain, builtin ? "ACCEPT" : "-");
                if (!builtin && undeclared.add(table + " " + chain)) {
                    problems.add(new Problem(no, column + 3, Problem.Kind.REFUSED, "chain " + chain + " is not declared in table "
                            + table + " (no ':" + chain + " - [0:0]' line): iptables-restore refuses the file"
                            + " (\"Chain '" + chain + "' does not exist\"); read as if it were"));
                }
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

        /** iptables-restore commands other than -A/-I: -N and -P are applied, the others reported. */
        private boolean command(int no, int column, String table, String text) {
            String[] w = text.split("\\s+");
            switch (w[0]) {
                case "-N", "--new-chain" -> {
                    if (w.length != 2) throw new IllegalArgumentException("'-N' takes one chain name");
                    declare(no, table, w[1], "-");
                    return true;
                }
                case "-P", "--policy" -> {
                    if (w.length != 3) throw new IllegalArgumentException("'-P' takes a chain and a policy");
                    if (!IptablesDialect.isBuiltin(table, w[1])) {
                        problems.add(new Problem(no, column, Problem.Kind.REFUSED, "'-P " + w[1] + "': only a built-in chain of table "
                                + table + " has a policy; iptables-restore refuses this"));
                        return true;
                    }
                    policies.get(table).put(w[1], w[2]);
                    declaredAt.get(table).put(w[1], no);
                    return true;
                }
                case "-X", "--delete-chain", "-F", "--flush", "-Z", "--zero", "-D", "--delete", "-R", "--replace",
                     "-E", "--rename-chain" -> {
                    problems.add(new Problem(no, column, Problem.Kind.NOT_UNDERSTOOD, "'" + w[0] + "' is an iptables command lint"
                            + " does not apply (it reads rules as iptables-save prints them); this line is ignored"));
                    return true;
                }
                default -> {
                    return false;
                }
            }
        }
    }

    static String shorten(String line) {
        return line.length() <= 60 ? line : line.substring(0, 57) + "...";
    }

    private static IllegalArgumentException bad(int no, String line, String why) {
        return new IllegalArgumentException("iptables-save line " + no + " (" + why + "): " + line);
    }
}
