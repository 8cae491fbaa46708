package io.nflb.cli;

import io.nflb.explain.ShareReport;
import io.nflb.host.Exec;
import io.nflb.model.Config;
import io.nflb.plan.Planner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

@Command(name = "explain", description = {
        "Show the share of new connections each backend gets, computed by evaluating the generated rules.",
        "The rules themselves are evaluated, in exact arithmetic with the kernel's own fixed-point "
                + "probabilities, and each share is shown next to its weight."})
final class ExplainCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Mixin
    ConfigOption config;

    @Mixin
    JsonOption output;

    @Override
    public Integer call() throws Exception {
        Config c = config.load();
        // With backend: auto, explain the rules apply would load here.
        io.nflb.plan.Plan plan = Planner.plan(c);
        ShareReport report = main.dataplanes.forKind(c.backend(), Exec.host()).explain(plan);
        System.out.print(output.json ? report.toJson() + "\n" : report.toText());
        if (!output.json) {
            // Routers of a pair show the same digest when they send every flow to the same backend.
            plan.services().forEach(s -> s.maglevDigest().ifPresent(d -> System.out.println("service " + s.name() + ": maglev table "
                    + ((io.nflb.plan.Selection.Maglev) s.selection()).table().size() + " slots, digest " + d
                    + (plan.stateless() ? " (translated without state: ha mode ecmp)" : ""))));
        }
        return Main.OK;
    }
}
