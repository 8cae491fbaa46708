package io.nflb.cli;

import io.nflb.host.Exec;
import picocli.CommandLine.Option;

/** Where kernel commands run: this namespace, or a named one (the lab and tests use this). */
final class NetnsOption {

    @Option(names = "--netns", paramLabel = "NAME",
            description = "Run the kernel tools inside this network namespace instead of the current one.")
    String netns;

    Exec exec() {
        return netns == null ? Exec.host() : Exec.inNetns(netns);
    }
}
