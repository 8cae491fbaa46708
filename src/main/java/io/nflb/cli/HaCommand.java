package io.nflb.cli;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.Dataplanes;
import io.nflb.ha.HaChecks;
import io.nflb.ha.HaFacts;
import io.nflb.ha.HaFiles;
import io.nflb.ha.HaLayout;
import io.nflb.ha.HaPlan;
import io.nflb.ha.KeepalivedConf;
import io.nflb.ha.PairCheck;
import io.nflb.ha.Transitions;
import io.nflb.host.Exec;
import io.nflb.model.Config;
import io.nflb.plan.Planner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "ha", description = {"Two routers, no single point of failure: render the VRRP and state-sync files, run a transition, compare a pair.",
        "`nflb run` with an ha: section starts and supervises keepalived and conntrackd itself; these commands are for"
                + " routers whose keepalived runs under its own unit (`nflb run --ha external`), and for checking a pair."},
        subcommands = {HaCommand.Render.class, HaCommand.Notify.class, HaCommand.Compare.class})
final class HaCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(System.out);
        return Main.USAGE;
    }

    static Config withHa(ConfigOption config) throws Exception {
        Config c = config.load();
        if (c.ha().isEmpty()) throw new Main.UsageException(config.file + " has no ha: section");
        return c;
    }

    @Command(name = "render", description = {"Write keepalived.conf and conntrackd.conf (when ha.sync is set) for this router into a directory.",
            "The addresses of this router's interfaces are read from the machine (--netns for a namespace). The notify"
                    + " hooks call `NFLB ha notify primary|backup|fault --state DIR`; ha.properties beside them tells that command what to do."})
    static final class Render implements Callable<Integer> {
        @ParentCommand
        HaCommand ha;

        @Mixin
        ConfigOption config;

        @Mixin
        NetnsOption netns;

        @Option(names = "--out", paramLabel = "DIR", required = true, description = "Where to write the files.")
        Path out;

        @Option(names = "--state", paramLabel = "DIR", description = "The directory the notify hooks name, where conntrackd keeps its socket,"
                + " lock and log (default: the --out directory).")
        Path state;

        @Option(names = "--nflb", paramLabel = "PATH", defaultValue = "/usr/bin/nflb",
                description = "The nflb command keepalived's notify hooks run (default: ${DEFAULT-VALUE}).")
        String nflb;

        @Option(names = "--name", paramLabel = "NAME", defaultValue = "nflb", description = "keepalived's router_id (default: ${DEFAULT-VALUE}).")
        String name;

        @Override
        public Integer call() throws Exception {
            Config c = withHa(config);
            HaLayout layout = new HaLayout(state == null ? out : state);
            HaFiles files = HaFiles.render(c, HaFacts.read(netns.exec(), c), layout, name, new KeepalivedConf.Hooks.Notify(nflb, layout.dir()));
            java.nio.file.Files.createDirectories(out);
            java.nio.file.Files.writeString(out.resolve("keepalived.conf"), files.keepalived());
            if (files.conntrackd().isPresent()) java.nio.file.Files.writeString(out.resolve("conntrackd.conf"), files.conntrackd().get());
            HaFiles.writePlan(files.plan(), out);
            System.out.println("wrote " + out.resolve("keepalived.conf") + (files.conntrackd().isPresent() ? " and " + out.resolve("conntrackd.conf") : "")
                    + "; the virtual addresses: " + String.join(", ", files.plan().vips().stream().map(Object::toString).toList()));
            HaChecks.notes(c).forEach(n -> System.err.println("nflb: note: " + n));
            return Main.OK;
        }
    }

    @Command(name = "notify", description = {"Run this router's transition to primary, backup or fault, as keepalived's notify hooks do.",
            "primary: commit the peer's connection state (conntrackd -c), remove the hold, then flush, resync and send ours;"
                    + " backup: hold new traffic to the service addresses, shorten the kernel's timers, ask for a resync;"
                    + " fault: hold, remove this router's virtual addresses, shorten the timers. One transition at a time."})
    static final class Notify implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "ROLE", description = "primary, backup or fault.")
        String role;

        @Option(names = "--state", paramLabel = "DIR", defaultValue = HaLayout.DEFAULT_DIR,
                description = "The directory `nflb ha render` wrote (ha.properties) (default: ${DEFAULT-VALUE}).")
        Path state;

        @Mixin
        NetnsOption netns;

        @Override
        public Integer call() throws Exception {
            Transitions.Role r;
            try {
                r = Transitions.Role.of(role);
            } catch (IllegalArgumentException e) {
                throw new Main.UsageException("ROLE must be primary, backup or fault, not '" + role + "'");
            }
            HaLayout layout = new HaLayout(state);
            HaPlan plan = HaFiles.readPlan(layout.dir());
            Exec exec = netns.exec();
            List<String> steps = new Transitions(plan, layout, exec, Dataplanes.hold(exec)).to(r, "nflb ha notify");
            steps.forEach(System.out::println);
            return Main.OK;
        }
    }

    @Command(name = "compare", description = "Check that two routers' files make a pair: the same rules for services and firewall, ha sections that belong together.")
    static final class Compare implements Callable<Integer> {
        @ParentCommand
        HaCommand ha;

        @Parameters(index = "0", paramLabel = "A.yaml")
        Path a;

        @Parameters(index = "1", paramLabel = "B.yaml")
        Path b;

        @Override
        public Integer call() throws Exception {
            return compare(ha.main, a, b);
        }
    }

    /** Prints what keeps A and B from being a pair; USAGE when something does, as for any config error. */
    static int compare(Main main, Path a, Path b) throws Exception {
        Config ca = ConfigLoader.load(a);
        Config cb = ConfigLoader.load(b);
        List<String> diffs = PairCheck.differences(a.toString(), ca, b.toString(), cb,
                c -> main.dataplanes.forKind(c.backend(), Exec.host()).plan(Planner.plan(c), false));
        if (diffs.isEmpty()) {
            System.out.println(a + " and " + b + ": a pair (the same rules on both routers)");
            Planner.plan(ca).services().forEach(s -> s.maglevDigest().ifPresent(d ->
                    System.out.println("  service " + s.name() + ": maglev table " + d)));
            return Main.OK;
        }
        // Whole-file errors of the peer's file: reported like any config error, and nothing is applied.
        throw new io.nflb.config.ConfigException(diffs.stream()
                .map(d -> new io.nflb.config.ConfigError(b.toString(), 0, 0, "not a pair with " + a + ": " + d)).toList());
    }
}
