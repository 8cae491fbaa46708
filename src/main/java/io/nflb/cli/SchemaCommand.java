package io.nflb.cli;

import io.nflb.config.ConfigSchema;
import io.nflb.config.JsonSchema;
import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

@Command(name = "schema", description = {
        "Print the JSON Schema of nflb.yaml, with which editors complete and check the file.",
        "Draft-07, made from the same description of the file as the checks of `nflb validate`, which also checks"
                + " what the schema cannot say (a prime table size, one address family per service). The package"
                + " installs it as /usr/share/nflb/nflb.schema.json; with the YAML language server (VS Code's YAML"
                + " extension, and most editors' YAML support) a first line"
                + " `# yaml-language-server: $schema=/usr/share/nflb/nflb.schema.json` in nflb.yaml turns it on."})
final class SchemaCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        System.out.print(JsonSchema.render(ConfigSchema.ROOT));
        return Main.OK;
    }
}
