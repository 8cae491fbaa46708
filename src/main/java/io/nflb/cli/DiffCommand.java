package io.nflb.cli;

import io.nflb.model.Config;
import io.nflb.plan.Planner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

@Command(name = "diff", description = {
        "Show what apply would change in nflb's rules, as a unified diff of nflb's live rules against the config's.",
        "Lines with - go, lines with + come; '# nothing would change' when apply would send nothing."})
final class DiffCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Mixin
    ConfigOption config;

    @Mixin
    NetnsOption netns;

    @Override
    public Integer call() throws Exception {
        Config c = config.load();
        String diff = main.dataplanes.forKind(c.backend(), netns.exec()).diff(Planner.plan(c), config.file.toString());
        // Other dataplanes' rules that apply would leave behind are not nflb's concern here: apply never removes them either.
        System.out.print(diff.isEmpty() ? "# nothing would change\n" : diff);
        return Main.OK;
    }
}
