package io.nflb.cli;

import io.nflb.dataplane.Dataplane;
import io.nflb.host.DataPathChecks;
import io.nflb.model.Config;
import io.nflb.plan.Lockout;
import io.nflb.plan.NeighbourGuard;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import io.nflb.state.Generations;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.nio.file.Files;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "apply", description = {
        "Load the config's rules in one atomic transaction, checked first; other rules are left byte-identical.",
        "Applying the same file twice changes nothing. If the kernel refuses, nothing changes.",
        "Each apply is recorded as a generation (see rollback, confirm)."})
final class ApplyCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Mixin
    ConfigOption config;

    @Mixin
    NetnsOption netns;

    @Option(names = {"-v", "--verbose"}, description = "Print the transaction that was sent.")
    boolean verbose;

    @Mixin
    StateDirOption state;

    @Option(names = "--confirm", paramLabel = "DURATION",
            description = "Roll nflb's rules back to the previous generation unless `nflb confirm` runs within DURATION (e.g. 60s).")
    String confirm;

    @Option(names = "--force", description = "Apply even if the firewall would drop new SSH connections like this session's, "
            + "or traffic that Docker, libvirt, kube-proxy, ufw or firewalld manage and that passes now.")
    boolean force;

    @Override
    public Integer call() throws Exception {
        Config c = config.load();
        Plan plan = Planner.plan(c);
        Optional<Duration> confirmWithin = confirm == null ? Optional.empty() : Optional.of(SafeApply.duration(confirm));
        if (!force) {
            Optional<Lockout.SshConnection> ssh = Lockout.SshConnection.parse(System.getenv("SSH_CONNECTION"));
            Optional<String> lockout = ssh.flatMap(s -> Lockout.check(plan, s, a -> SafeApply.routeInterface(netns.exec(), a)));
            if (lockout.isPresent()) {
                throw new Refused("refusing to apply: " + lockout.get() + ". Nothing was applied; use --force to apply anyway.");
            }
        }
        String configText = Files.readString(config.file);
        Generations g = state.generations();
        Dataplane dp = main.dataplanes.forKind(c.backend(), netns.exec());
        NeighbourCheck neighbours = NeighbourCheck.of(dp, plan, g);
        if (!neighbours.drops().isEmpty()) {
            if (!force) throw new Refused("refusing to apply: " + NeighbourGuard.refusal(neighbours.drops()));
            System.err.println("nflb: warning: applied with --force: the new firewall drops traffic neighbours manage:");
            neighbours.drops().forEach(d -> System.err.println(d.line()));
        }
        // Unconfirmed applies stacked on each other all roll back to the last state nobody had to confirm.
        int previous = g.pending().map(Generations.Pending::previous).orElse(g.current());
        // The neighbours the guard was decided on are the ones the rules are written for.
        Plan written = neighbours.plan();
        String rules = dp.plan(written, false);
        // Written before the kernel changes: a full or read-only state directory refuses the apply, not half of it.
        Generations.Staged staged = g.stage(configText, dp.name(), rules);
        Dataplane.Outcome outcome;
        try {
            outcome = dp.apply(written);
        } catch (RuntimeException e) {
            g.discard(staged);
            throw e;
        }
        // Only an apply that changed something is a generation: a no-op must not push real ones out of the kept few.
        boolean same = !outcome.changed() && g.sameAsCurrent(dp.name(), rules) && g.pending().isEmpty();
        int generation;
        if (same) {
            g.discard(staged);
            generation = g.current();
        } else {
            generation = g.commit(staged);
        }
        // A plain apply settles whatever an earlier --confirm was waiting for: its timer must not undo this one.
        if (!same) g.claimPending(Optional.empty());
        if (verbose && outcome.changed()) System.out.print(outcome.sent());
        System.out.println(outcome.summary());
        if (!neighbours.description().isEmpty()) System.out.println("neighbours:");
        neighbours.description().forEach(l -> System.out.println("  " + l));
        if (!neighbours.opens().isEmpty()) System.out.println("neighbour traffic let through now:");
        neighbours.opens().forEach(o -> System.out.println(o.line()));
        for (String w : neighbours.warnings()) System.err.println("nflb: warning: " + w);
        dp.enableForwarding(c.services()).forEach(System.out::println);
        // Settings nflb does not own but that limit its data path: warn, do not change (BENCHMARKS.md).
        for (String w : DataPathChecks.sharedBackends(c)) System.err.println("nflb: warning: " + w);
        for (String w : DataPathChecks.check(netns.exec())) System.err.println("nflb: warning: " + w);
        if (c.ha().isPresent()) {
            for (String w : io.nflb.ha.HaChecks.warnings(c, io.nflb.ha.HaChecks.read(netns.exec(), c))) System.err.println("nflb: warning: ha: " + w);
        }
        if (same) {
            System.out.println("nothing changed: generation " + generation + " in " + g.dir() + " stays current");
            if (confirmWithin.isPresent()) System.out.println("nothing to confirm: the rules are those of generation " + generation);
            return Main.OK;
        }
        System.out.println("generation " + generation + " recorded in " + g.dir());
        if (confirmWithin.isPresent()) {
            String token = java.util.HexFormat.of().formatHex(java.security.SecureRandom.getSeed(8));
            long deadline = System.currentTimeMillis() + confirmWithin.get().toMillis();
            Generations.Pending pending = new Generations.Pending(token, generation, previous, 0, deadline);
            g.setPending(pending);
            long pid = SafeApply.startTimer(g, token, confirmWithin.get(), Optional.ofNullable(netns.netns));
            g.setPending(pending.withTimer(pid)); // so status, confirm and the daemon can tell whether it still runs
            System.out.println("run `nflb confirm` within " + confirm + ", or nflb's rules go back to "
                    + (previous == 0 ? "none (generation 0)" : "generation " + previous) + " (timer pid " + pid + ")");
        }
        return Main.OK;
    }

    /** The lockout guard said no: a runtime refusal (exit 1), not a usage error. */
    static final class Refused extends RuntimeException {
        Refused(String message) {
            super(message);
        }
    }
}
