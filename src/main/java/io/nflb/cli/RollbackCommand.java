package io.nflb.cli;

import io.nflb.state.Generations;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "rollback", description = {
        "Put the previous generation's rules back (generation 0: none of nflb's).",
        "Only nflb's own rules change; other tools' rules stay as they are."})
final class RollbackCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Mixin
    NetnsOption netns;

    @Mixin
    StateDirOption state;

    /** The confirmation timer apply --confirm starts: roll back only if that apply is still unconfirmed. */
    @Option(names = "--unless-confirmed", hidden = true)
    String token;

    @Option(names = "--after", hidden = true)
    String after;

    @Override
    public Integer call() throws Exception {
        Generations g = state.generations();
        if (token != null) {
            Duration wait = SafeApply.duration(after == null ? "0ms" : after);
            Thread.sleep(wait.toMillis());
            Optional<Generations.Pending> p = g.claimPending(Optional.of(token));
            if (p.isEmpty()) {
                System.out.println(java.time.Instant.now() + " confirmed in time; nothing rolled back");
                return Main.OK;
            }
            System.out.println(java.time.Instant.now() + " not confirmed within " + after + "; "
                    + SafeApply.rollback(main.dataplanes, g, p.get().applied(), p.get().previous(), netns.exec()));
            return Main.OK;
        }
        int from = g.current();
        if (from == 0) throw new Main.UsageException("nothing to roll back: no generation is current in " + g.dir());
        g.claimPending(Optional.empty()); // rolling back by hand ends any wait for a confirmation
        System.out.println(SafeApply.rollback(main.dataplanes, g, from, g.before(from), netns.exec()));
        return Main.OK;
    }
}
