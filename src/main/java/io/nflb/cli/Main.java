package io.nflb.cli;

import io.nflb.config.ConfigException;
import io.nflb.dataplane.Dataplanes;
import picocli.CommandLine.Command;
import picocli.CommandLine;

import java.io.PrintWriter;

/** Entry point. Exit codes: 0 ok, 1 runtime failure, 2 usage or config error. */
@Command(name = "nflb", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Netfilter load balancer and firewall: one YAML file -> correct iptables/nftables rules.",
        subcommands = {ValidateCommand.class, PlanCommand.class, ExplainCommand.class, ApplyCommand.class,
                StatusCommand.class, FlushCommand.class, LintCommand.class, RunCommand.class, ReloadCommand.class,
                LabCommand.class, BackendCommand.class, RollbackCommand.class, ConfirmCommand.class, DiffCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {

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
        return commandLine().execute(args);
    }

    static CommandLine commandLine() {
        return commandLine(Dataplanes.REAL);
    }

    static CommandLine commandLine(Dataplanes dataplanes) {
        CommandLine cl = new CommandLine(new Main(dataplanes));
        cl.setExecutionExceptionHandler(Main::handle);
        cl.setUsageHelpAutoWidth(true);
        return cl;
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

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"nflb " + (v == null ? "dev" : v)};
        }
    }
}
