package io.nflb.dataplane.nft;

import io.nflb.plan.Plan;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Whole rendered scripts against src/test/resources/golden/nft; -Dgolden.update=true rewrites them. */
class NftGoldenTest {

    static final Path DIR = Path.of("src/test/resources/golden/nft");

    static Stream<Arguments> cases() {
        return NftGoldenCases.all().entrySet().stream().map(e -> Arguments.of(e.getKey(), e.getValue()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void rendersGolden(String name, Plan plan) throws IOException {
        String text = NftRenderer.render(plan).text();
        Path golden = DIR.resolve(name + ".nft");
        if (Boolean.getBoolean("golden.update")) {
            Files.createDirectories(DIR);
            Files.writeString(golden, text);
        }
        assertThat(text).isEqualTo(Files.readString(golden));
        assertThat(NftRenderer.render(plan).text()).as("deterministic").isEqualTo(text);
        assertThat(NftState.parse(text)).as("parses back").isEqualTo(NftRenderer.render(plan).state());
    }
}
