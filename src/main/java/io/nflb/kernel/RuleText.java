package io.nflb.kernel;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Reads rule lines the way iptables-save prints them: words split on spaces, a double-quoted word may hold
 * spaces and backslash-escaped quotes. Enough to find a rule's target and comment without being fooled by a
 * comment that happens to contain "-j NFLB-".
 */
final class RuleText {

    private RuleText() {
    }

    static List<String> words(String rule) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false;
        boolean quoted = false;
        for (int i = 0; i < rule.length(); i++) {
            char c = rule.charAt(i);
            if (quoted) {
                if (c == '\\' && i + 1 < rule.length()) {
                    word.append(rule.charAt(++i));
                } else if (c == '"') {
                    quoted = false;
                } else {
                    word.append(c);
                }
            } else if (c == '"') {
                quoted = true;
                inWord = true;
            } else if (c == ' ') {
                if (inWord) words.add(word.toString());
                word.setLength(0);
                inWord = false;
            } else {
                word.append(c);
                inWord = true;
            }
        }
        if (inWord) words.add(word.toString());
        return words;
    }

    /** The chain or target after -j/-g, e.g. "NFLB-SVC-web" or "DNAT". */
    static Optional<String> target(String rule) {
        return valueAfter(rule, "-j", "--jump", "-g", "--goto");
    }

    static Optional<String> comment(String rule) {
        return valueAfter(rule, "--comment");
    }

    static boolean targetsNflbChain(String rule) {
        return target(rule).filter(t -> t.startsWith(io.nflb.render.IptablesRuleset.CHAIN_PREFIX)).isPresent();
    }

    private static Optional<String> valueAfter(String rule, String... options) {
        List<String> w = words(rule);
        for (int i = 0; i + 1 < w.size(); i++) {
            for (String option : options) {
                if (w.get(i).equals(option)) return Optional.of(w.get(i + 1));
            }
        }
        return Optional.empty();
    }
}
