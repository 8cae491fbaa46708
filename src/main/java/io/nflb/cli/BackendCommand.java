package io.nflb.cli;

import picocli.CommandLine.Command;

@Command(name = "backend", description = "Run a tiny HTTP server that answers with its name (the lab's servers).")
final class BackendCommand implements Runnable {
    @Override
    public void run() {
        throw new IllegalStateException("backend: not wired yet");
    }
}
