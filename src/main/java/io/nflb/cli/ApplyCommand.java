package io.nflb.cli;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.Dataplane;
import io.nflb.host.DataPathChecks;
import io.nflb.host.Exec;
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

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

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

    @Option(names = "--verify", description = "Read nflb's rules back from the kernel and compare them in full, instead of"
            + " trusting them unchanged while the kernel still shows the mark the last apply left.")
    boolean verify;

    @Override
    public Integer call() throws Exception {
        ConfigLoader.Read read = config.read();
        Config c = read.config();
        Plan plan = Planner.plan(c);
        Optional<Duration> confirmWithin = confirm == null ? Optional.empty() : Optional.of(SafeApply.duration(confirm));
        if (!force) {
            Optional<Lockout.SshConnection> ssh = Lockout.SshConnection.parse(System.getenv("SSH_CONNECTION"));
            Optional<String> lockout = ssh.flatMap(s -> Lockout.check(plan, s, a -> SafeApply.routeInterface(netns.exec(), a)));
            if (lockout.isPresent()) {
                throw new Refused("refusing to apply: " + lockout.get() + ". Nothing was applied; use --force to apply anyway.");
            }
        }
        Optional<String> fastpath = main.dataplanes.fastpathRefusal(c, netns.exec());
        if (fastpath.isPresent()) throw new Refused(fastpath.get());
        // Settings around the kernel are read while the rules load: they do not depend on them.
        CompletableFuture<DataPathChecks.Report> around = aside(() -> DataPathChecks.report(netns.exec(), c));
        Generations g = state.generations();
        int current = g.current();
        // Unconfirmed applies stacked on each other all roll back to the last state nobody had to confirm.
        int previous = g.pending().map(Generations.Pending::previous).orElse(current);
        Dataplane dp = main.dataplanes.forKind(c.backend(), netns.exec());
        NeighbourCheck neighbours = NeighbourCheck.of(dp, plan, g);
        if (!neighbours.drops().isEmpty()) {
            if (!force) throw new Refused("refusing to apply: " + NeighbourGuard.refusal(neighbours.drops()));
            System.err.println("nflb: warning: applied with --force: the new firewall drops traffic neighbours manage:");
            neighbours.drops().forEach(d -> System.err.println(d.line()));
        }
        // The neighbours the guard was decided on are the ones the rules are written for. Rendered once: the
        // generation records the very text the apply sends when it replaces the table.
        Plan written = neighbours.plan();
        String rules = dp.plan(written, false);
        Optional<String> recorded = current > 0 && backendOf(g, current).equals(dp.name()) ? g.rules(current) : Optional.empty();
        boolean sameRules = recorded.filter(rules::equals).isPresent() && g.pending().isEmpty();
        if (!verify && recorded.isPresent()) g.mark(current).ifPresent(m -> dp.assume(recorded.get(), m));
        // Written before the kernel changes: a full or read-only state directory refuses the apply, not half of it.
        // The same rules again make no generation unless the kernel needed a repair, which then records the current one again.
        Generations.Staged staged = sameRules ? null : g.stage(read.bytes(), dp.name(), rules);
        Dataplane.Outcome outcome;
        try {
            outcome = dp.apply(written);
        } catch (RuntimeException e) {
            if (staged != null) g.discard(staged);
            throw e;
        }
        // Only an apply that changed something is a generation: a no-op must not push real ones out of the kept few.
        boolean same = !outcome.changed() && sameRules;
        int generation;
        if (same) {
            generation = current;
        } else {
            generation = g.commit(staged != null ? staged : g.stage(read.bytes(), dp.name(), rules));
        }
        String mark = dp.mark().orElse(null);
        if (mark != null && !mark.equals(g.mark(generation).orElse(null))) g.setMark(generation, mark);
        // A plain apply settles whatever an earlier --confirm was waiting for: its timer must not undo this one.
        if (!same) g.claimPending(Optional.empty());
        if (verbose && outcome.changed()) System.out.print(outcome.sent());
        System.out.println(outcome.summary());
        if (!neighbours.description().isEmpty()) System.out.println("neighbours:");
        neighbours.description().forEach(l -> System.out.println("  " + l));
        if (!neighbours.opens().isEmpty()) System.out.println("neighbour traffic let through now:");
        neighbours.opens().forEach(o -> System.out.println(o.line()));
        for (String w : neighbours.warnings()) System.err.println("nflb: warning: " + w);
        DataPathChecks.Report report;
        try {
            report = around.get(Exec.DEFAULT_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            report = null; // the rules are in: enabling forwarding below says what is wrong, if anything
        }
        if (report == null || !report.forwardingOff().isEmpty()) dp.enableForwarding(c.services()).forEach(System.out::println);
        // Settings nflb does not own but that limit its data path: warn, do not change (BENCHMARKS.md).
        if (report != null) for (String w : report.warnings()) System.err.println("nflb: warning: " + w);
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

    private static String backendOf(Generations g, int generation) {
        try {
            return g.backend(generation);
        } catch (java.io.IOException e) {
            return "";
        }
    }

    /** Runs {@code work} on a thread of its own (a daemon: it never keeps the command alive). */
    private static <T> CompletableFuture<T> aside(java.util.function.Supplier<T> work) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(work.get());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        }, "nflb-apply-checks");
        t.setDaemon(true);
        t.start();
        return f;
    }

    /** The lockout guard said no: a runtime refusal (exit 1), not a usage error. */
    static final class Refused extends RuntimeException {
        Refused(String message) {
            super(message);
        }
    }
}
