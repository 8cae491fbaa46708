package io.nflb.cli;

import picocli.CommandLine.Command;

@Command(name = "lab", description = "The tutorial's experiment, for real, in network namespaces.")
final class LabCommand implements Runnable {
    @Override
    public void run() {
        throw new IllegalStateException("lab: not wired yet");
    }
}
