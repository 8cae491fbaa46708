package io.nflb.lint;

/** One problem in a ruleset, at a 1-based line of the dump. {@code code} is stable, for scripts. */
public record Finding(int line, Severity severity, String code, String message) {

    public enum Severity { ERROR, WARNING, INFO }

    @Override
    public String toString() {
        return "line " + line + ": " + severity.name().toLowerCase(java.util.Locale.ROOT) + ": " + message + " [" + code + "]";
    }
}
