package io.nflb.cli;

import io.nflb.dataplane.Dataplane;
import io.nflb.model.Config;
import io.nflb.model.Json;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

@Command(name = "plan", description = {
        "Print the exact input apply would load (iptables-restore or nft script).",
        "Without --live: as against a kernel with nothing of nflb's in it (no root needed)."})
final class PlanCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Mixin
    ConfigOption config;

    @Mixin
    NetnsOption netns;

    @Option(names = "--live", description = "Compute against the rules in the kernel now: exactly what apply would send.")
    boolean live;

    @Mixin
    JsonOption output;

    @Override
    public Integer call() throws Exception {
        Config c = config.load();
        Plan plan = Planner.plan(c);
        Dataplane dp = main.dataplanes.forKind(c.backend(), netns.exec());
        String text = dp.plan(plan, live);
        if (output.json) {
            System.out.println("{\"backend\":" + Json.str(dp.name()) + ",\"live\":" + live + ",\"input\":" + Json.str(text) + "}");
        } else {
            System.out.print(text.isEmpty() ? "# nothing to change\n" : text);
        }
        return Main.OK;
    }
}
