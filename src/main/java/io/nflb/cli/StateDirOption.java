package io.nflb.cli;

import io.nflb.state.Generations;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** Where apply keeps its generations (the configs and rules it applied), for rollback and confirm. */
final class StateDirOption {

    @Option(names = "--state-dir", paramLabel = "DIR", defaultValue = "${env:NFLB_STATE_DIR:-/var/lib/nflb}",
            description = "Where generations are kept (default: ${DEFAULT-VALUE}).")
    Path dir;

    Generations generations() {
        return new Generations(dir.toAbsolutePath());
    }
}
