package io.nflb.dataplane.iptables;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.file.Files;
import java.nio.file.Path;

/** Regenerates the golden files after a deliberate change: mvn test -Dtest=DumpGoldens -Dnflb.regen=true; then review the diff. */
class DumpGoldens {

    @Test
    @EnabledIfSystemProperty(named = "nflb.regen", matches = "true")
    void write() throws Exception {
        for (var e : Fixtures.renderedGoldens().entrySet()) {
            Files.writeString(Path.of("src/test/resources/golden/iptables", e.getKey() + ".rules"),
                    IptablesRenderer.restoreText(e.getValue()));
        }
    }
}
