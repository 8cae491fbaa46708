package io.nflb.explain;

import io.nflb.plan.Rational;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A tolerant reading of iptables-save / iptables-restore text. It never rejects a real-world dump for what
 * it does not know: unknown matches are kept as {@link Match.Unknown}, odd lines as warnings.
 */
public record IptablesDump(Map<String, Table> tables, List<String> warnings) {

    public record Table(String name, Map<String, Chain> chains) {
    }

    /** {@code policy} is null for a user chain. */
    public record Chain(String name, String policy, List<Rule> rules) {
    }

    /** {@code line} is the 1-based line number in the text. */
    public record Rule(int line, String chain, String text, List<Match> matches, Target target) {
    }

    private static final Set<String> BUILT_IN = Set.of("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING");
    private static final Set<String> CONTINUING = Set.of("MARK", "CONNMARK", "LOG", "NFLOG", "ULOG", "TRACE",
            "CLASSIFY", "DSCP", "TOS", "TTL", "HL", "CT", "NOTRACK", "AUDIT", "SECMARK", "CONNSECMARK");
    private static final Set<String> TERMINATING = Set.of("ACCEPT", "DROP", "REJECT", "RETURN", "MASQUERADE",
            "SNAT", "REDIRECT", "NETMAP", "QUEUE", "NFQUEUE", "TPROXY");

    public static IptablesDump parse(String text) {
        Map<String, Map<String, Chain>> tables = new LinkedHashMap<>();
        List<String> warnings = new ArrayList<>();
        Map<String, Chain> current = null;
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            int no = i + 1;
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            if (line.startsWith("[") && line.indexOf(']') > 0) line = line.substring(line.indexOf(']') + 1).strip();
            try {
                if (line.startsWith("*")) {
                    current = tables.computeIfAbsent(line.substring(1).strip(), t -> new LinkedHashMap<>());
                } else if (line.equals("COMMIT")) {
                    current = null;
                } else if (current == null) {
                    warnings.add("line " + no + ": outside a table, ignored: " + line);
                } else if (line.startsWith(":")) {
                    String[] parts = line.substring(1).split("\\s+");
                    String policy = parts.length > 1 && !parts[1].equals("-") ? parts[1] : null;
                    Chain old = current.get(parts[0]);
                    current.put(parts[0], new Chain(parts[0], policy, old == null ? new ArrayList<>() : old.rules()));
                } else if (line.startsWith("-A ") || line.startsWith("--append ") || line.startsWith("-I ")) {
                    List<String> words = Tokens.split(line);
                    String chainName = words.get(1);
                    boolean insert = words.get(0).equals("-I");
                    int from = 2;
                    int position = -1;
                    if (insert && words.size() > 2 && words.get(2).chars().allMatch(Character::isDigit)) {
                        position = Integer.parseInt(words.get(2)) - 1;
                        from = 3;
                    }
                    Chain chain = current.computeIfAbsent(chainName, n -> new Chain(n,
                            BUILT_IN.contains(n) ? "ACCEPT" : null, new ArrayList<>()));
                    Rule rule = parseRule(no, chainName, line, words.subList(from, words.size()), warnings);
                    if (insert) chain.rules().add(position < 0 ? 0 : Math.min(position, chain.rules().size()), rule);
                    else chain.rules().add(rule);
                } else {
                    warnings.add("line " + no + ": not understood, ignored: " + line);
                }
            } catch (RuntimeException e) {
                warnings.add("line " + no + ": " + e.getMessage() + ", ignored: " + line);
            }
        }
        Map<String, Table> result = new LinkedHashMap<>();
        tables.forEach((name, chains) -> {
            Map<String, Chain> frozen = new LinkedHashMap<>();
            chains.forEach((n, c) -> frozen.put(n, new Chain(n, c.policy(), List.copyOf(c.rules()))));
            result.put(name, new Table(name, frozen));
        });
        return new IptablesDump(result, List.copyOf(warnings));
    }

    private static Rule parseRule(int no, String chain, String text, List<String> words, List<String> warnings) {
        List<Match> matches = new ArrayList<>();
        Target target = new Target.None();
        String proto = null;
        String module = null;
        boolean negate = false;
        for (int i = 0; i < words.size(); i++) {
            String w = words.get(i);
            switch (w) {
                case "!" -> {
                    negate = true;
                    continue;
                }
                case "-p", "--protocol" -> {
                    proto = words.get(++i).toLowerCase(Locale.ROOT);
                    matches.add(new Match.Protocol(negate, proto));
                    module = null;
                }
                case "-s", "--source", "--src", "-d", "--destination", "--dst" -> {
                    String a = words.get(++i);
                    matches.add(new Match.Address(negate, w.startsWith("-s") || w.equals("--source") || w.equals("--src"),
                            Cidr.parse(a), a));
                    module = null;
                }
                case "-i", "--in-interface", "-o", "--out-interface" -> {
                    matches.add(new Match.Interface(negate, w.equals("-i") || w.equals("--in-interface"), words.get(++i)));
                    module = null;
                }
                case "-m", "--match" -> module = words.get(++i);
                case "-j", "--jump", "-g", "--goto" -> {
                    target = target(w.equals("-g") || w.equals("--goto"), words.subList(i + 1, words.size()));
                    i = words.size();
                }
                default -> {
                    if (!w.startsWith("--")) {
                        matches.add(new Match.Unknown(negate, "?", w));
                        warnings.add("line " + no + ": unexpected word " + w + ", assumed to match");
                        break;
                    }
                    String mod = module != null ? module : proto != null ? proto : "?";
                    List<String> args = new ArrayList<>();
                    while (i + 1 < words.size() && !words.get(i + 1).startsWith("-") && !words.get(i + 1).equals("!")) {
                        args.add(words.get(++i));
                    }
                    matches.add(option(negate, mod, w, args));
                }
            }
            negate = false;
        }
        return new Rule(no, chain, text, List.copyOf(mergeStatistic(matches)), target);
    }

    /** One option of a match module, interpreted where this class knows the module. */
    private static Match option(boolean negate, String module, String option, List<String> args) {
        String arg = args.isEmpty() ? "" : args.get(0);
        String text = "-m " + module + " " + (negate ? "! " : "") + option + (args.isEmpty() ? "" : " " + String.join(" ", args));
        switch (module) {
            case "tcp", "udp", "sctp", "dccp" -> {
                if (option.equals("--dport") || option.equals("--destination-port")) return new Match.Ports(negate, true, ranges(arg));
                if (option.equals("--sport") || option.equals("--source-port")) return new Match.Ports(negate, false, ranges(arg));
            }
            case "multiport" -> {
                if (option.equals("--dports") || option.equals("--destination-ports")) return new Match.Ports(negate, true, ranges(arg));
                if (option.equals("--sports") || option.equals("--source-ports")) return new Match.Ports(negate, false, ranges(arg));
            }
            case "statistic" -> {
                // Collected here, merged per rule in mergeStatistic: the mode and its numbers come as separate options.
                return new Match.Unknown(negate, "statistic", option + " " + arg);
            }
            case "state" -> {
                if (option.equals("--state")) return new Match.State(negate, Set.of(arg.toUpperCase(Locale.ROOT).split(",")));
            }
            case "conntrack" -> {
                if (option.equals("--ctstate")) return new Match.State(negate, Set.of(arg.toUpperCase(Locale.ROOT).split(",")));
            }
            case "addrtype" -> {
                if (option.equals("--src-type") || option.equals("--dst-type")) {
                    return new Match.AddrType(negate, option.equals("--src-type"), Set.of(arg.toUpperCase(Locale.ROOT).split(",")));
                }
            }
            case "recent" -> {
                if (option.equals("--rcheck") || option.equals("--update")) return new Match.Recent(negate, true, "");
                if (option.equals("--set") || option.equals("--remove")) return new Match.Recent(negate, false, "");
                return new Match.Unknown(negate, "recent-option", text);
            }
            case "comment" -> {
                return new Match.Unknown(negate, "comment", arg);
            }
            default -> {
            }
        }
        return new Match.Unknown(negate, module, text);
    }

    /** Folds --mode/--probability/--every/--packet into one statistic match; drops harmless options. */
    private static List<Match> mergeStatistic(List<Match> matches) {
        List<Match> out = new ArrayList<>();
        String mode = null;
        String probability = null;
        int every = -1;
        int packet = 0;
        boolean negated = false;
        for (Match m : matches) {
            if (m instanceof Match.Unknown u && u.module().equals("statistic")) {
                String[] kv = u.text().split(" ", 2);
                String v = kv.length > 1 ? kv[1] : "";
                switch (kv[0]) {
                    case "--mode" -> mode = v;
                    case "--probability" -> { probability = v; negated |= u.negated(); }
                    case "--every" -> { every = Integer.parseInt(v); negated |= u.negated(); }
                    case "--packet" -> packet = Integer.parseInt(v);
                    default -> out.add(new Match.Unknown(u.negated(), "statistic", u.text()));
                }
            } else if (m instanceof Match.Unknown u && (u.module().equals("comment") || u.module().equals("recent-option"))) {
                continue; // says nothing about which packets match
            } else {
                out.add(m);
            }
        }
        if ("random".equals(mode) && probability != null) {
            out.add(new Match.Random(negated, kernelProbability(probability), probability));
        } else if ("nth".equals(mode) && every >= 1) {
            if (packet < 0 || packet >= every) throw new IllegalArgumentException("--packet must be 0 <= p <= n-1");
            out.add(new Match.Nth(negated, every, packet));
        } else if (mode != null) {
            out.add(new Match.Unknown(negated, "statistic", "--mode " + mode));
        }
        return out;
    }

    /**
     * What libxt_statistic stores for "--probability p": lround(0x80000000 * strtod(p)), a 31-bit fixed-point
     * number the kernel compares against 31 random bits. Java's parseDouble rounds like strtod; the product is
     * exact (a power of two) and Math.round equals lround for the non-negative values allowed here.
     */
    static Rational kernelProbability(String text) {
        double p = Double.parseDouble(text);
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("probability out of range: " + text);
        long stored = Math.round(0x80000000L * p);
        return new Rational(BigInteger.valueOf(stored), BigInteger.ONE.shiftLeft(31));
    }

    private static List<int[]> ranges(String text) {
        List<int[]> ranges = new ArrayList<>();
        for (String part : text.split(",")) {
            String[] lohi = part.split(":", -1);
            int lo = lohi[0].isEmpty() ? 0 : Integer.parseInt(lohi[0]);
            int hi = lohi.length == 1 ? lo : lohi[1].isEmpty() ? 65535 : Integer.parseInt(lohi[1]);
            ranges.add(new int[] {lo, hi});
        }
        return ranges;
    }

    private static Target target(boolean goTo, List<String> words) {
        if (words.isEmpty()) throw new IllegalArgumentException("missing target");
        String name = words.get(0);
        if (name.equals("DNAT")) {
            int at = words.indexOf("--to-destination");
            if (at < 0) at = words.indexOf("--to");
            return new Target.Dnat(at >= 0 && at + 1 < words.size() ? words.get(at + 1) : "?");
        }
        if (TERMINATING.contains(name)) return new Target.Verdict(name, true);
        if (CONTINUING.contains(name)) return new Target.Verdict(name, false);
        // A user chain, or an extension target we do not know: the evaluator tells them apart by the table's chains.
        return new Target.Jump(name, goTo);
    }

    public Chain chain(String table, String chain) {
        Table t = tables.get(table);
        return t == null ? null : t.chains().get(chain);
    }
}
