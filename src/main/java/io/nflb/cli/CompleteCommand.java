package io.nflb.cli;

import io.nflb.config.ConfigException;
import io.nflb.config.ConfigLoader;
import io.nflb.model.Backend;
import io.nflb.model.Service;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Names for bash completion (see {@link Completion}): the services of a config, or one service's backends
 * as `nflb backend drain` takes them. Prints nothing when the file cannot be read or is invalid: a completion
 * offers nothing rather than an error in the middle of the user's command line.
 */
@Command(name = "__complete", hidden = true, description = "Print the names shell completion offers.")
final class CompleteCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "services|backends")
    String what;

    @Parameters(index = "1", arity = "0..1", paramLabel = "SERVICE")
    String service;

    @Option(names = {"-c", "--config"}, defaultValue = "/etc/nflb/nflb.yaml")
    Path config;

    @Override
    public Integer call() {
        List<Service> services;
        try {
            services = ConfigLoader.load(config).services();
        } catch (ConfigException e) {
            return Main.FAILURE;
        }
        switch (what) {
            case "services" -> services.forEach(s -> System.out.println(s.name()));
            case "backends" -> services.stream().filter(s -> s.name().equals(service)).forEach(s -> {
                for (Backend b : s.backends()) System.out.println(endpointAsTyped(b, s.backends()));
            });
            default -> throw new Main.UsageException("__complete: services or backends, not '" + what + "'");
        }
        return Main.OK;
    }

    /** The address alone when it is unique in the service (drain accepts that), else address:port. */
    static String endpointAsTyped(Backend b, List<Backend> all) {
        long same = all.stream().filter(o -> o.address().equals(b.address())).count();
        return same == 1 ? b.address().toString() : b.endpoint();
    }
}
