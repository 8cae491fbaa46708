package io.nflb.cli;

import io.nflb.config.ConfigException;
import io.nflb.config.ConfigLoader;
import io.nflb.model.Config;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The -c option shared by every command that reads nflb.yaml. */
final class ConfigOption {

    @Option(names = {"-c", "--config"}, paramLabel = "FILE", defaultValue = "/etc/nflb/nflb.yaml",
            description = "The nflb.yaml to read (default: ${DEFAULT-VALUE}).")
    Path file;

    Config load() throws ConfigException {
        return ConfigLoader.load(file);
    }
}
