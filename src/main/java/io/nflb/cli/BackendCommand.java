package io.nflb.cli;

import io.nflb.lab.BackendServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

@Command(name = "backend", description = "Run a tiny server that answers every request with its name (the lab's web servers).")
final class BackendCommand implements Callable<Integer> {

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
