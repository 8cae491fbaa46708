package io.nflb.dataplane.iptables;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The words of the iptables-save dialect, both ways: how a rule line splits into words (quotes group,
 * backslash escapes) and how nflb quotes a word so iptables-save prints it back unchanged; the built-in
 * tables and chains; the targets iptables knows. Everything that reads or writes rule text uses these.
 */
final class IptablesDialect {

    /** The xtables tables nflb may write to and their built-in chains, in the order iptables-save prints them. */
    static final Map<String, List<String>> BUILTIN_CHAINS = Map.of(
            "raw", List.of("PREROUTING", "OUTPUT"),
            "mangle", List.of("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
            "nat", List.of("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
            "filter", List.of("INPUT", "FORWARD", "OUTPUT"),
            "security", List.of("INPUT", "FORWARD", "OUTPUT"));

    /** Targets after which the packet goes on to the next rule. */
    static final Set<String> CONTINUING_TARGETS = Set.of("MARK", "CONNMARK", "LOG", "NFLOG", "ULOG", "TRACE",
            "CLASSIFY", "DSCP", "TOS", "TTL", "HL", "CT", "NOTRACK", "AUDIT", "SECMARK", "CONNSECMARK", "TCPMSS", "CHECKSUM",
            "SET", "TEE", "IDLETIMER", "LED", "RATEEST", "TCPOPTSTRIP", "ECN", "DNPT", "SNPT", "HMARK");
    /** Targets that end the packet's walk through the table (RETURN: through the chain). */
    static final Set<String> TERMINATING_TARGETS = Set.of("ACCEPT", "DROP", "REJECT", "RETURN", "MASQUERADE",
            "SNAT", "DNAT", "REDIRECT", "NETMAP", "QUEUE", "NFQUEUE", "TPROXY", "SYNPROXY");

    private IptablesDialect() {
    }

    static boolean isBuiltin(String table, String chain) {
        return BUILTIN_CHAINS.getOrDefault(table, List.of()).contains(chain);
    }

    /** One word of a rule line: its text after unquoting, its 1-based column, and whether it was quoted. */
    record Word(String text, int column, boolean quoted) {
    }

    /**
     * Splits a rule line into words like iptables-restore does: blanks separate, double or single quotes group,
     * a backslash escapes the next character (inside double quotes too, as iptables-save escapes {@code "} and
     * {@code \}). Throws on an unterminated quote.
     */
    public static List<String> words(String line) {
        return located(line).stream().map(Word::text).toList();
    }

    /** {@link #words}, each with where it starts in {@code line}, for messages that point at a word. */
    static List<Word> located(String line) {
        List<Word> words = new ArrayList<>();
        StringBuilder word = null;
        int start = 0;
        boolean quoted = false;
        char quote = 0;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quote != 0) {
                if (c == '\\' && i + 1 < line.length() && quote == '"') {
                    word.append(line.charAt(++i));
                } else if (c == quote) {
                    quote = 0;
                } else {
                    word.append(c);
                }
                continue;
            }
            if (Character.isWhitespace(c)) {
                if (word != null) words.add(new Word(word.toString(), start + 1, quoted));
                word = null;
                continue;
            }
            if (word == null) {
                word = new StringBuilder();
                start = i;
                quoted = false;
            }
            if (c == '"' || c == '\'') {
                quote = c;
                quoted = true;
            } else if (c == '\\' && i + 1 < line.length()) {
                word.append(line.charAt(++i));
            } else {
                word.append(c);
            }
        }
        if (quote != 0) throw new IllegalArgumentException("unterminated quote");
        if (word != null) words.add(new Word(word.toString(), start + 1, quoted));
        return words;
    }

    /** Quotes like iptables-save (xtables_save_string): bare when only [A-Za-z0-9_-], else in double quotes. */
    public static String quote(String text) {
        if (text.isEmpty() || text.chars().anyMatch(c -> c < 0x20 || c > 0x7e)) {
            throw new IllegalArgumentException("comment must be printable ASCII: " + text);
        }
        if (text.chars().allMatch(c -> Character.isLetterOrDigit(c) || c == '_' || c == '-')) return text;
        StringBuilder sb = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            if (c == '"' || c == '\\' || c == '\'') sb.append('\\');
            sb.append(c);
        }
        return sb.append('"').toString();
    }

    /** {@link #quote}, for any text read back from a dump (nothing refused): a canonical spelling of a word. */
    static String quoteAny(String text) {
        if (!text.isEmpty() && text.chars().allMatch(c -> Character.isLetterOrDigit(c) || c == '_' || c == '-')) return text;
        StringBuilder sb = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            if (c == '"' || c == '\\') sb.append('\\');
            sb.append(c);
        }
        return sb.append('"').toString();
    }

    /** The chain or target after -j/-g, e.g. "NFLB-SVC-web" or "DNAT"; a comment that mentions "-j X" is not one. */
    static Optional<String> target(String rule) {
        return valueAfter(rule, "-j", "--jump", "-g", "--goto");
    }

    /** The text of the rule's {@code -m comment --comment}, unquoted. */
    static Optional<String> comment(String rule) {
        return valueAfter(rule, "--comment");
    }

    private static Optional<String> valueAfter(String rule, String... options) {
        List<String> w;
        try {
            w = words(rule);
        } catch (IllegalArgumentException unterminated) {
            return Optional.empty();
        }
        for (int i = 0; i + 1 < w.size(); i++) {
            for (String option : options) {
                if (w.get(i).equals(option)) return Optional.of(w.get(i + 1));
            }
        }
        return Optional.empty();
    }
}
