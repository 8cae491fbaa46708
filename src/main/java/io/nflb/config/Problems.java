package io.nflb.config;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.snakeyaml.engine.v2.exceptions.Mark;

/** Collects errors instead of throwing, so one run reports everything that is wrong with a file. */
final class Problems {

    private final String file;
    private final List<ConfigError> errors = new ArrayList<>();

    Problems(String file) {
        this.file = file;
    }

    /** {@code line} and {@code column} are 1-based. */
    void add(int line, int column, String message) {
        errors.add(new ConfigError(file, line, column, message));
    }

    /** SnakeYAML marks are 0-based. */
    void add(Optional<Mark> mark, String message) {
        add(mark.map(m -> m.getLine() + 1).orElse(1), mark.map(m -> m.getColumn() + 1).orElse(1), message);
    }

    /** A position to compare against later with {@link #buildIfNoneSince}. */
    int mark() {
        return errors.size();
    }

    /**
     * Builds a value only when nothing went wrong since {@code mark}: the placeholders a binder uses after a
     * failed field then never reach a record constructor, whose own checks would throw.
     */
    <T> Optional<T> buildIfNoneSince(int mark, Supplier<T> build) {
        return errors.size() == mark ? Optional.of(build.get()) : Optional.empty();
    }

    void throwIfAny() throws ConfigException {
        if (errors.isEmpty()) return;
        throw exception();
    }

    ConfigException exception() {
        // distinct: a node reached twice through a YAML alias would otherwise report its mistakes twice.
        return new ConfigException(errors.stream().distinct()
                .sorted(Comparator.comparingInt(ConfigError::line).thenComparingInt(ConfigError::column))
                .toList());
    }
}
