package io.nflb.cli;

import io.nflb.model.Config;
import io.nflb.ha.HaChecks;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

@Command(name = "validate", description = {"Check a config file and report every mistake with its line and column.",
        "With --peer, also check that the two routers' files make a pair (`nflb ha compare`)."})
final class ValidateCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Mixin
    ConfigOption config;

    @Option(names = "--keys", description = "List every key of nflb.yaml with what it takes, its default and what it does;"
            + " reads no file.")
    boolean keys;

    @Spec
    CommandSpec spec;

    @Option(names = "--peer", paramLabel = "FILE", description = "The other router's nflb.yaml: refused unless both render the same service rules.")
    java.nio.file.Path peer;

    @Override
    public Integer call() throws Exception {
        if (keys) {
            System.out.print(ConfigKeys.listing(spec.usageMessage().width()));
            return Main.OK;
        }
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

    /** --help ends with the file's keys by mapping, made from the config schema when help is shown. */
    static void addKeysToHelp(CommandLine validate) {
        validate.getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_FOOTER,
                help -> System.lineSeparator() + ConfigKeys.overview(help.commandSpec().usageMessage().width()));
    }
}
