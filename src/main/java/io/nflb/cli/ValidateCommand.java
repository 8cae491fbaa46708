package io.nflb.cli;

import io.nflb.model.Config;
import io.nflb.ha.HaChecks;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

@Command(name = "validate", description = {"Check a config file and report every mistake with its line and column.",
        "With --peer, also check that the two routers' files make a pair (`nflb ha compare`)."})
final class ValidateCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Mixin
    ConfigOption config;

    @Option(names = "--peer", paramLabel = "FILE", description = "The other router's nflb.yaml: refused unless both render the same service rules.")
    java.nio.file.Path peer;

    @Override
    public Integer call() throws Exception {
        Config c = config.load();
        int backends = c.services().stream().mapToInt(s -> s.backends().size()).sum();
        String firewall = c.firewall().map(f -> ", firewall: input " + f.input().keyword() + ", forward " + f.forward().keyword()
                + ", output " + f.output().keyword() + ", " + f.allow().size() + " allow and " + f.forwardRules().size()
                + " forward rules").orElse("");
        String ha = c.ha().map(h -> ", ha: " + h.mode().keyword() + " router_id " + h.routerId() + " priority " + h.priority()
                + (h.sync().isPresent() ? ", state synced" : "")).orElse("");
        System.out.println(config.file + ": ok (" + c.services().size() + " services, " + backends + " backends" + firewall + ha + ")");
        for (String n : HaChecks.notes(c)) System.out.println("note: " + n);
        if (peer != null) return HaCommand.compare(main, config.file, peer);
        return Main.OK;
    }
}
