package io.nflb.cli;

import io.nflb.model.Config;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.concurrent.Callable;

@Command(name = "validate", description = "Check a config file and report every mistake with its line and column.")
final class ValidateCommand implements Callable<Integer> {

    @Mixin
    ConfigOption config;

    @Override
    public Integer call() throws Exception {
        Config c = config.load();
        int backends = c.services().stream().mapToInt(s -> s.backends().size()).sum();
        System.out.println(config.file + ": ok (" + c.services().size() + " services, " + backends + " backends)");
        return Main.OK;
    }
}
