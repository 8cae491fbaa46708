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
        String firewall = c.firewall().map(f -> ", firewall: input " + f.input().keyword() + ", forward " + f.forward().keyword()
                + ", output " + f.output().keyword() + ", " + f.allow().size() + " allow and " + f.forwardRules().size()
                + " forward rules").orElse("");
        System.out.println(config.file + ": ok (" + c.services().size() + " services, " + backends + " backends" + firewall + ")");
        return Main.OK;
    }
}
