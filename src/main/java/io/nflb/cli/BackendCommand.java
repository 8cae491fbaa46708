package io.nflb.cli;

import io.nflb.daemon.ControlClient;
import io.nflb.lab.BackendServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "backend", description = "Tell the running daemon to drain, disable or enable a backend; or run a test server.",
        subcommands = {BackendCommand.Drain.class, BackendCommand.Disable.class, BackendCommand.Enable.class,
                BackendCommand.Serve.class})
final class BackendCommand implements Callable<Integer> {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return Main.USAGE;
    }

    /** What drain, disable and enable share: the backend named, and the daemon's socket. */
    abstract static class Admin implements Callable<Integer> {

        @Parameters(index = "0", paramLabel = "SERVICE", description = "The service's name.")
        String service;

        @Parameters(index = "1", paramLabel = "ADDRESS[:PORT]", description = "The backend; the port may be left out when"
                + " the address is unique in the service. IPv6 with a port: [2001:db8::1]:80.")
        String backend;

        @Option(names = "--socket", paramLabel = "FILE", defaultValue = RunCommand.DEFAULT_SOCKET,
                description = "The daemon's control socket (default: ${DEFAULT-VALUE}).")
        Path socket;

        /** Not read here (the daemon knows its config): bash completion offers this file's names. */
        @Option(names = {"-c", "--config"}, paramLabel = "FILE", defaultValue = "/etc/nflb/nflb.yaml",
                description = "The config whose services and backends shell completion offers (default: ${DEFAULT-VALUE}).")
        Path config;

        abstract String verb();

        @Override
        public Integer call() throws IOException {
            ControlClient.Answer a;
            try {
                a = ControlClient.ask(socket, verb() + " " + service + " " + backend);
            } catch (IOException e) {
                throw new IllegalStateException("no nflb daemon answers on " + socket + " (" + e.getMessage() + "); is `nflb run` running?");
            }
            if (!a.ok()) throw new Main.UsageException(a.text().strip());
            System.out.print(a.text());
            return Main.OK;
        }
    }

    @Command(name = "drain", description = {"No new connections to the backend; established ones keep flowing until they end.",
            "It stays drained until `nflb backend enable`, whatever its checks say."})
    static final class Drain extends Admin {
        @Override
        String verb() {
            return "drain";
        }
    }

    @Command(name = "disable", description = "Take the backend out of the rules until `nflb backend enable`, whatever its checks say.")
    static final class Disable extends Admin {
        @Override
        String verb() {
            return "disable";
        }
    }

    @Command(name = "enable", description = "Hand a drained or disabled backend back to its health checks.")
    static final class Enable extends Admin {
        @Override
        String verb() {
            return "enable";
        }
    }

    @Command(name = "serve", description = "Run a tiny server that answers every request with its name (the lab's web servers).")
    static final class Serve implements Callable<Integer> {

        @Option(names = "--name", required = true, description = "What to answer.")
        String name;

        @Option(names = "--port", defaultValue = "80", description = "Port to listen on (default ${DEFAULT-VALUE}).")
        int port;

        @Option(names = "--bind", defaultValue = "0.0.0.0", description = "Address to listen on (default ${DEFAULT-VALUE}).")
        String bind;

        @Option(names = "--udp", description = "Answer UDP datagrams instead of HTTP.")
        boolean udp;

        @Override
        public Integer call() throws Exception {
            BackendServer.serve(name, bind, port, udp);
            return Main.OK;
        }
    }
}
