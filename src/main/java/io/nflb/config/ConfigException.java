package io.nflb.config;

import java.util.List;
import java.util.stream.Collectors;

/** A config file that cannot be used, with every problem found in it, ordered by position. */
public final class ConfigException extends Exception {

    private final List<ConfigError> errors;

    public ConfigException(List<ConfigError> errors) {
        super(errors.stream().map(ConfigError::toString).collect(Collectors.joining("\n")));
        if (errors.isEmpty()) throw new IllegalArgumentException("a config exception needs at least one error");
        this.errors = List.copyOf(errors);
    }

    public List<ConfigError> errors() {
        return errors;
    }
}
