package io.nflb.dataplane.iptables;

import io.nflb.explain.Cidr;
import io.nflb.explain.Match;
import io.nflb.explain.RuleSet;
import io.nflb.explain.Target;
import io.nflb.plan.Rational;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads what each rule of a {@link SavedTables} means, for the evaluator: its conditions and its target. It
 * never rejects a real-world dump for what it does not know: unknown matches are kept as {@link Match.Unknown},
 * and a rule it cannot read is left out with a warning naming its line.
 */
public final class RuleParser {

    private RuleParser() {
    }

    /** Any iptables-save dump or iptables-restore input, read tolerantly. */
    public static RuleSet ruleSet(String text) {
        SavedTables saved = SavedTables.read(text);
        List<String> warnings = new ArrayList<>();
        List<int[]> order = new ArrayList<>();
        for (SavedTables.Problem p : saved.problems()) {
            warnings.add("line " + p.line() + ": " + p.message());
            order.add(new int[] {p.line(), order.size()});
        }
        Map<String, RuleSet.Table> tables = new LinkedHashMap<>();
        for (SavedTables.Table t : saved.tables().values()) {
            Map<String, RuleSet.Chain> chains = new LinkedHashMap<>();
            for (SavedTables.Chain c : t.chains().values()) {
                List<RuleSet.Rule> rules = new ArrayList<>();
                for (SavedTables.Rule r : c.rules()) {
                    List<String> ruleWarnings = new ArrayList<>();
                    try {
                        List<String> words = IptablesDialect.words(r.text());
                        int from = 2;
                        if (words.get(0).equals("-I") && words.size() > 2 && words.get(2).chars().allMatch(Character::isDigit)) from = 3;
                        rules.add(parseRule(r.line(), c.name(), r.text(), words.subList(from, words.size()), ruleWarnings));
                    } catch (RuntimeException e) {
                        ruleWarnings.add("line " + r.line() + ": " + e.getMessage() + ", ignored: " + r.text());
                    }
                    for (String w : ruleWarnings) {
                        warnings.add(w);
                        order.add(new int[] {r.line(), order.size()});
                    }
                }
                chains.put(c.name(), new RuleSet.Chain(c.name(), c.builtin() ? c.policy() : null, List.copyOf(rules)));
            }
            tables.put(t.name(), new RuleSet.Table(t.name(), chains));
        }
        // In line order, as a reader of the dump meets them.
        order.sort((a, b) -> a[0] != b[0] ? Integer.compare(a[0], b[0]) : Integer.compare(a[1], b[1]));
        List<String> sorted = new ArrayList<>();
        for (int[] o : order) sorted.add(warnings.get(o[1]));
        return new RuleSet(tables, List.copyOf(sorted));
    }

    private static RuleSet.Rule parseRule(int no, String chain, String text, List<String> words, List<String> warnings) {
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
        return new RuleSet.Rule(no, chain, text, List.copyOf(mergeStatistic(matches)), target);
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
        if (IptablesDialect.TERMINATING_TARGETS.contains(name)) return new Target.Verdict(name, true);
        if (IptablesDialect.CONTINUING_TARGETS.contains(name)) return new Target.Verdict(name, false);
        // A user chain, or an extension target we do not know: the evaluator tells them apart by the table's chains.
        return new Target.Jump(name, goTo);
    }
}
