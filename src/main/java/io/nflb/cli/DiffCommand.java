package io.nflb.cli;

import io.nflb.dataplane.Dataplane;
import io.nflb.model.Config;
import io.nflb.plan.Planner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

@Command(name = "diff", description = {
        "Show what apply would change in nflb's rules, as a unified diff of nflb's live rules against the config's.",
        "Lines with - go, lines with + come; '# nothing would change' when apply would send nothing.",
        "Above it, as # comments: which traffic of the neighbours (Docker, libvirt, kube-proxy, ufw, firewalld) "
                + "apply would drop or let through."})
final class DiffCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Mixin
    ConfigOption config;

    @Mixin
    NetnsOption netns;

    @Mixin
    StateDirOption state;

    @Override
    public Integer call() throws Exception {
        Config c = config.load();
        Dataplane dp = main.dataplanes.forKind(c.backend(), netns.exec());
        NeighbourCheck neighbours = NeighbourCheck.of(dp, Planner.plan(c), state.generations());
        String diff = dp.diff(neighbours.plan(), config.file.toString());
        // Other dataplanes' rules that apply would leave behind are not nflb's concern here: apply never removes them either.
        System.out.print(neighbours.diffBlock() + (diff.isEmpty() ? "# nothing would change\n" : diff));
        return Main.OK;
    }
}
