package io.nflb.cli;

import io.nflb.config.ConfigException;
import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.Dataplanes;
import io.nflb.model.Config;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The -c option shared by every command that reads nflb.yaml. */
final class ConfigOption {

    @Option(names = {"-c", "--config"}, paramLabel = "FILE", defaultValue = "/etc/nflb/nflb.yaml",
            description = "The nflb.yaml to read (default: ${DEFAULT-VALUE}).")
    Path file;

    /** The config, with what the rule languages would refuse reported as config errors: validate says what apply would. */
    Config load() throws ConfigException {
        return load(file);
    }

    static Config load(Path file) throws ConfigException {
        return ConfigLoader.load(file, Dataplanes::refusals);
    }

    /** {@link #load()}, with the bytes it was bound from. */
    ConfigLoader.Read read() throws ConfigException {
        return ConfigLoader.read(file, Dataplanes::refusals);
    }
}
