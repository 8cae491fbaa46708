package io.nflb.explain;

import java.util.ArrayList;
import java.util.List;

/** Splits a rule line into words like iptables-restore does: blanks separate, quotes group, backslash escapes. */
final class Tokens {

    private Tokens() {
    }

    static List<String> split(String line) {
        List<String> words = new ArrayList<>();
        StringBuilder word = null;
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
            } else if (c == '"' || c == '\'') {
                if (word == null) word = new StringBuilder();
                quote = c;
            } else if (c == '\\' && i + 1 < line.length()) {
                if (word == null) word = new StringBuilder();
                word.append(line.charAt(++i));
            } else if (Character.isWhitespace(c)) {
                if (word != null) words.add(word.toString());
                word = null;
            } else {
                if (word == null) word = new StringBuilder();
                word.append(c);
            }
        }
        if (quote != 0) throw new IllegalArgumentException("unterminated quote");
        if (word != null) words.add(word.toString());
        return words;
    }
}
