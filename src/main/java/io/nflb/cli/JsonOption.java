package io.nflb.cli;

import picocli.CommandLine.Option;

/** --json, for the commands whose output scripts read. */
final class JsonOption {

    @Option(names = "--json", description = "Machine-readable output.")
    boolean json;
}
