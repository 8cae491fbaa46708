package io.nflb.dataplane.iptables;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * golden/kernel/iptables/CASE.live is what iptables-save printed (real 1.8.9 output, edited only where the
 * case needs it); CASE.restore is the exact transaction nflb must run. Run with -Dnflb.golden.update=true
 * to rewrite the .restore files, then review the diff.
 */
class IptablesTransactionGoldenTest {

    private static final Path DIR = Path.of("src/test/resources/golden/kernel/iptables");

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("clean", Rulesets.web(true)),
                Arguments.of("empty-tables", Rulesets.web(true)),
                Arguments.of("applied", Rulesets.web(true)),
                Arguments.of("stale-service", Rulesets.web(false)),
                Arguments.of("duplicated-jump", Rulesets.web(true)),
                Arguments.of("foreign-interleaved", Rulesets.web(true, "0.25000000000")),
                Arguments.of("flush", Rulesets.nothing()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void transactionMatchesGolden(String name, IptablesRuleset wanted) throws IOException {
        String live = Files.readString(DIR.resolve(name + ".live"), StandardCharsets.UTF_8);
        String actual = IptablesKernel.transaction(wanted, live);
        Path expected = DIR.resolve(name + ".restore");
        if (Boolean.getBoolean("nflb.golden.update")) Files.writeString(expected, actual, StandardCharsets.UTF_8);
        assertThat(actual).isEqualTo(Files.readString(expected, StandardCharsets.UTF_8));
    }

    /** Whatever the starting point, running the transaction must leave nothing more to do. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void transactionConverges(String name, IptablesRuleset wanted) throws IOException {
        String live = Files.readString(DIR.resolve(name + ".live"), StandardCharsets.UTF_8);
        FakeIptablesTool fake = new FakeIptablesTool(wanted.family(), live);
        fake.restore(IptablesKernel.transaction(wanted, live));
        assertThat(IptablesKernel.transaction(wanted, fake.save(false))).isEmpty();
    }
}
