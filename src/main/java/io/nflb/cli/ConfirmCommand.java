package io.nflb.cli;

import io.nflb.state.Generations;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "confirm", description = "Keep what `nflb apply --confirm` applied: its timer then rolls nothing back.")
final class ConfirmCommand implements Callable<Integer> {

    @Mixin
    StateDirOption state;

    @Override
    public Integer call() {
        Generations g = state.generations();
        SafeApply.deadTimer(g).ifPresent(w -> System.err.println("nflb: " + w));
        Optional<Generations.Pending> p = g.claimPending(Optional.empty());
        if (p.isEmpty()) {
            System.out.println("nothing waits for confirmation (current generation: " + g.current() + ")");
            return Main.FAILURE;
        }
        System.out.println("generation " + p.get().applied() + " confirmed");
        return Main.OK;
    }
}
