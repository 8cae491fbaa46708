package io.nflb.cli;

import io.nflb.config.ConfigException;
import io.nflb.dataplane.Dataplane;
import io.nflb.dataplane.Dataplanes;
import picocli.CommandLine.Command;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.util.List;

/** Entry point. Exit codes: 0 ok, 1 runtime failure, 2 usage or config error. */
// scope INHERIT: every command gets --help (and --version) and the terminal-wide help of this one.
@Command(name = "nflb", mixinStandardHelpOptions = true, versionProvider = BuildInfo.class,
        scope = CommandLine.ScopeType.INHERIT, usageHelpAutoWidth = true,
        description = "Netfilter load balancer and firewall: one YAML file -> correct iptables/nftables rules.")
public final class Main implements Runnable {

    /** Every command, in the order `nflb --help` lists them. */
    static final List<Class<?>> COMMANDS = List.of(ValidateCommand.class, PlanCommand.class, ExplainCommand.class,
            ApplyCommand.class, StatusCommand.class, FlushCommand.class, LintCommand.class, RunCommand.class,
            ReloadCommand.class, HaCommand.class, LabCommand.class, BackendCommand.class, RollbackCommand.class, ConfirmCommand.class,
            DiffCommand.class, RestoreCommand.class, SchemaCommand.class, CompleteCommand.class, CommandLine.HelpCommand.class);

    public static final int OK = 0;
    public static final int FAILURE = 1;
    public static final int USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** How commands reach the kernel's rule languages: the machine's tools, or in-memory ones in tests. */
    final Dataplanes dataplanes;

    Main(Dataplanes dataplanes) {
        this.dataplanes = dataplanes;
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code; tests call this instead of main. */
    public static int run(String... args) {
        return commandLine(Dataplanes.REAL, args.length == 0 ? null : args[0]).execute(args);
    }

    static CommandLine commandLine() {
        return commandLine(Dataplanes.REAL, null);
    }

    static CommandLine commandLine(Dataplanes dataplanes) {
        return commandLine(dataplanes, null);
    }

    /**
     * The command line with only the command named {@code first} when there is one by that name (none for
     * --version), else with all: building one command's model instead of every command's takes about a
     * quarter off a CLI run's start time (bench/results/startup.md).
     */
    static CommandLine commandLine(Dataplanes dataplanes, String first) {
        List<Dataplane> opened = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        CommandLine cl = new CommandLine(new Main(dataplanes.recording(opened::add)));
        // A command ends what its dataplanes keep running; the JVM would, but tests run many commands in one.
        cl.setExecutionStrategy(parsed -> {
            try {
                return new CommandLine.RunLast().execute(parsed);
            } finally {
                synchronized (opened) {
                    opened.forEach(Dataplane::close);
                    opened.clear();
                }
            }
        });
        boolean versionOnly = "-V".equals(first) || "--version".equals(first);
        Class<?> only = first == null || first.equals("help") ? null : COMMANDS.stream()
                .filter(c -> names(c).contains(first)).findFirst().orElse(null);
        for (Class<?> c : COMMANDS) {
            if (!versionOnly && (only == null || c == only)) cl.addSubcommand(c);
        }
        CommandLine validate = cl.getSubcommands().get("validate");
        if (validate != null) ValidateCommand.addKeysToHelp(validate);
        cl.setExecutionExceptionHandler(Main::handle);
        return cl;
    }

    private static List<String> names(Class<?> command) {
        Command a = command.getAnnotation(Command.class);
        List<String> names = new java.util.ArrayList<>(List.of(a.aliases()));
        names.add(a.name());
        return names;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    private static int handle(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        PrintWriter err = cl.getErr();
        if (e instanceof ConfigException ce) {
            ce.errors().forEach(err::println);
            err.println("nflb: " + ce.errors().size() + " error" + (ce.errors().size() == 1 ? "" : "s") + "; nothing applied");
            err.flush();
            return USAGE;
        }
        if (e instanceof UsageException) {
            err.println("nflb: " + e.getMessage());
            err.flush();
            return USAGE;
        }
        String msg = e.getMessage() == null ? e.toString() : e.getMessage();
        err.println("nflb: error: " + msg);
        if (System.getenv("NFLB_DEBUG") != null) e.printStackTrace(err);
        err.flush();
        return FAILURE;
    }

    /** A wrong combination of options that picocli cannot catch by itself. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }
}
