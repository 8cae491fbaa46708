package io.nflb.cli;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.Dataplane;
import io.nflb.model.Config;
import io.nflb.plan.Planner;
import io.nflb.state.Generations;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "restore", description = {
        "Put the last confirmed generation's rules back in the kernel, as at boot.",
        "nflb-firewall.service runs this before the network comes up, so that a router never has its interfaces "
                + "up without its policy. A generation still waiting for `nflb confirm` was never confirmed: the one "
                + "before it is restored instead, as the confirmation timer would have done. "
                + "With no generation recorded yet, nothing changes."})
final class RestoreCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Mixin
    NetnsOption netns;

    @Mixin
    StateDirOption state;

    @Override
    public Integer call() throws Exception {
        Generations g = state.generations();
        // After a reboot the timer of an unconfirmed apply is gone: settle it here, the way the timer would have.
        Optional<Generations.Pending> unconfirmed = g.claimPending(Optional.empty());
        int generation = unconfirmed.map(Generations.Pending::previous).orElse(g.current());
        unconfirmed.ifPresent(p -> System.out.println("generation " + p.applied() + " was never confirmed"));
        if (generation == 0) {
            if (unconfirmed.isPresent()) g.setCurrent(0);
            System.out.println("no confirmed generation in " + g.dir() + ": nothing to restore");
            return Main.OK;
        }
        Config c = ConfigLoader.parse(g.path(generation).resolve(Generations.CONFIG).toString(), g.config(generation));
        Dataplane dp = main.dataplanes.forKind(c.backend(), netns.exec());
        Dataplane.Outcome outcome = dp.apply(Planner.plan(c));
        g.setCurrent(generation);
        System.out.println("restored generation " + generation + " (" + dp.name() + "): " + outcome.summary());
        // As apply did: balanced traffic is routed on to the backends, and a reboot turned forwarding off.
        dp.enableForwarding(c.services()).forEach(System.out::println);
        return Main.OK;
    }
}
