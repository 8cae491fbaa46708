package io.nflb.config;

/**
 * One problem in a config file. {@code line} and {@code column} are 1-based; 0 means the problem concerns the
 * whole file (it could not be read), and {@link #toString()} then leaves them out.
 */
public record ConfigError(String file, int line, int column, String message) {

    @Override
    public String toString() {
        return line == 0 ? file + ": " + message : file + ":" + line + ":" + column + ": " + message;
    }
}
