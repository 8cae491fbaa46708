package io.nflb.lint;

import java.util.List;
import java.util.Locale;

/**
 * One problem in a ruleset, at a 1-based line and column of the dump. {@code code} is stable, for scripts
 * (and SARIF's ruleId); {@code snippet} the rule's text; {@code related} the other lines that explain it
 * (the rule that shadows, the policy that drops...); {@code victims} every rule the finding speaks for when
 * one cause hides several ("and 14 more like it").
 */
public record Finding(int line, int column, Severity severity, String code, String message, String snippet,
                      List<Related> related, List<Integer> victims) {

    public enum Severity {
        ERROR, WARNING, NOTE;

        public String keyword() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Another line that explains a finding, and its part in it ("shadowing rule", "policy", ...). */
    public record Related(int line, String role) {
    }

    public Finding {
        related = List.copyOf(related);
        victims = List.copyOf(victims);
    }

    public List<Integer> relatedLines() {
        return related.stream().map(Related::line).toList();
    }

    @Override
    public String toString() {
        return "line " + line + ": " + severity.keyword() + ": " + message + " [" + code + "]";
    }
}
