package io.nflb.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Sample files under src/test/resources/config: each invalid/NAME.yaml must produce exactly the lines of
 * invalid/NAME.errors; each valid/NAME.yaml must load.
 */
class ConfigGoldenTest {

    private static final Path ROOT = Path.of("src/test/resources/config");

    static List<Path> invalid() throws IOException {
        return yamlFiles(ROOT.resolve("invalid"));
    }

    static List<Path> valid() throws IOException {
        return yamlFiles(ROOT.resolve("valid"));
    }

    private static List<Path> yamlFiles(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> yaml = files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
            assertThat(yaml).as("samples in " + dir).isNotEmpty();
            return yaml;
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalid")
    void invalidSampleGivesExactlyItsErrors(Path yaml) throws IOException {
        String expected = Files.readString(Path.of(yaml.toString().replaceFirst("\\.yaml$", ".errors")));

        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(yaml));

        assertThat(e).isNotNull();
        assertThat(e.getMessage() + "\n").isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("valid")
    void validSampleLoads(Path yaml) throws Exception {
        assertThat(ConfigLoader.load(yaml).services()).isNotEmpty();
    }
}
