package io.nflb.cli;

import io.nflb.daemon.Dataplane;
import io.nflb.daemon.Dataplanes;
import io.nflb.kernel.DataPathChecks;
import io.nflb.kernel.Forwarding;
import io.nflb.model.Config;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import io.nflb.render.IptablesRenderer;
import io.nflb.render.IptablesRuleset.Family;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.Callable;

@Command(name = "apply", description = {
        "Load the config's rules in one atomic transaction, checked first; other rules are left byte-identical.",
        "Applying the same file twice changes nothing. If the kernel refuses, nothing changes."})
final class ApplyCommand implements Callable<Integer> {

    @Mixin
    ConfigOption config;

    @Mixin
    NetnsOption netns;

    @Option(names = {"-v", "--verbose"}, description = "Print the transaction that was sent.")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        Config c = config.load();
        Plan plan = Planner.plan(c);
        Dataplane dp = Dataplanes.forKind(c.backend(), netns.exec());
        Dataplane.Outcome outcome = dp.apply(plan);
        if (verbose && outcome.changed()) System.out.print(outcome.sent());
        System.out.println(outcome.summary());
        Set<Family> families = EnumSet.noneOf(Family.class);
        plan.services().forEach(s -> families.add(IptablesRenderer.family(s.service())));
        for (Family f : families) {
            // Balanced traffic is routed on to the backends: without forwarding the router drops it.
            if (Forwarding.ensure(netns.exec(), f)) System.out.println(Forwarding.key(f) + " was 0; set to 1");
        }
        // Settings nflb does not own but that limit its data path: warn, do not change (BENCHMARKS.md).
        for (String w : DataPathChecks.sharedBackends(c)) System.err.println("nflb: warning: " + w);
        for (String w : DataPathChecks.check(netns.exec())) System.err.println("nflb: warning: " + w);
        return Main.OK;
    }
}
