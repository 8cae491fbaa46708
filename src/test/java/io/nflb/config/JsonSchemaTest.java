package io.nflb.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.InputFormat;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.nflb.model.IpAddress;
import io.nflb.model.Json;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.schema.CoreSchema;

/**
 * The JSON Schema `nflb schema` prints, checked by a real validator (networknt, draft-07): it accepts every
 * example config in the repository and refuses what the binder refuses for a wrong type, range, word or key.
 */
class JsonSchemaTest {

    private static final com.networknt.schema.Schema SCHEMA = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_7)
            .getSchema(JsonSchema.render(ConfigSchema.ROOT), InputFormat.JSON);

    /** What the validator says about {@code yaml}, composed as the YAML language server does (YAML 1.2 core). */
    private static List<String> complaints(String yaml) {
        Object doc = new Load(LoadSettings.builder().setSchema(new CoreSchema()).build()).loadFromString(yaml);
        return SCHEMA.validate(Json.pretty(doc), InputFormat.JSON).stream().map(Object::toString).toList();
    }

    static Stream<Arguments> examples() throws IOException {
        List<Arguments> out = new ArrayList<>();
        for (String dir : List.of("examples", "packaging", "src/test/resources/config/valid", "src/test/resources/golden")) {
            try (Stream<Path> files = Files.walk(Path.of(dir))) {
                files.filter(f -> f.toString().endsWith(".yaml")).sorted().forEach(f -> out.add(Arguments.of(f.toString(), read(f))));
            }
        }
        // The README's examples, each a whole file.
        Matcher block = Pattern.compile("(?s)```yaml\n(.*?)```").matcher(read(Path.of("README.md")));
        // A block that shows one section (daemon:, ha: ...) is checked as a file with no services besides it.
        for (int i = 1; block.find(); i++) {
            String yaml = block.group(1);
            out.add(Arguments.of("README.md yaml block " + i, yaml.contains("\nservices:") || yaml.startsWith("services:")
                    ? yaml : yaml + "services: []\n"));
        }
        out.add(Arguments.of("SchemaCases.EVERY_MAPPING", SchemaCases.EVERY_MAPPING));
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("examples")
    void everyExampleConfigIsValidForBothTheBinderAndTheJsonSchema(String name, String yaml) throws Exception {
        ConfigLoader.parse(name, yaml);
        assertThat(complaints(yaml)).isEmpty();
    }

    @Test
    void theExamplesIncludeTheInstalledConfigAndTheReadme() throws IOException {
        assertThat(examples().map(a -> (String) a.get()[0])).contains("packaging/nflb.yaml", "examples/nflb.yaml",
                "src/test/resources/config/valid/full.yaml", "README.md yaml block 3");
    }

    static Stream<SchemaCases.Case> mistakes() {
        return SchemaCases.mistakes().stream();
    }

    /** ConfigSchemaTest shows the binder refuses each of these. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("mistakes")
    void theJsonSchemaRefusesEveryMistakeTheWalkMakes(SchemaCases.Case c) {
        assertThat(complaints(c.yaml())).as(c.yaml()).isNotEmpty();
    }

    static Stream<SchemaCases.Case> accepted() {
        Stream<SchemaCases.Case> defaults = SchemaCases.defaults().stream().map(d -> new SchemaCases.Case(d.what(), d.written(), null));
        return Stream.concat(defaults, SchemaCases.edgesOfTheRanges().stream());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("accepted")
    void everyDefaultWrittenOutEveryEndOfARangeAndEveryWordIsAccepted(SchemaCases.Case c) {
        assertThat(complaints(c.yaml())).isEmpty();
    }

    /**
     * ConfigErrorsTest's mistakes of type, range, word, key name or format, which a schema can see; not those
     * that need more than one value (duplicates, families, primes) or are not YAML at all.
     */
    private static final Pattern DURATION_RANGE = Pattern.compile("out of range; expected [0-9]+(ms|s|m|h|d)\\.\\.");

    static Stream<Arguments> sampledErrors() {
        Pattern schemaCanSee = Pattern.compile("expected (a|an|true) .*, found|out of range|unknown |missing required key"
                + "|not a valid (service|interface) name|not an IPv4 or IPv6 address|is not a duration|file is empty");
        return ConfigErrorsTest.mistakes().filter(a -> {
            @SuppressWarnings("unchecked") List<String> errors = (List<String>) a.get()[2];
            // A duration's range is a number behind a unit in a string: beyond what a pattern can say.
            return errors.stream().allMatch(e -> schemaCanSee.matcher(e).find() && !e.contains("invalid yaml")
                            && !DURATION_RANGE.matcher(e).find())
                    && !((String) a.get()[1]).contains("!masq"); // a tag of its own: JSON has no such thing
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("sampledErrors")
    void theJsonSchemaRefusesTheBindersMistakesOfTypeRangeAndName(String what, String yaml, List<String> errors) {
        assertThat(sampledErrors().count()).isGreaterThan(30);
        assertThat(complaints(yaml)).as(errors.toString()).isNotEmpty();
    }

    @Test
    void theInvalidExampleFilesAreRefused() throws IOException {
        for (String f : List.of("types.yaml", "many-errors.yaml")) {
            assertThat(complaints(read(Path.of("src/test/resources/config/invalid", f)))).as(f).isNotEmpty();
        }
    }

    /** The address pattern, checked here with Java's regular expressions, never refuses what the binder takes. */
    @Test
    void theAddressPatternTakesEveryFormOfEveryAddressAndRefusesWhatTheBinderRefuses() throws Exception {
        Pattern address = Pattern.compile(ConfigSchema.ADDRESS.pattern());
        Pattern prefix = Pattern.compile(ConfigSchema.PREFIX.pattern());
        Random random = new Random(13);
        for (int i = 0; i < 2000; i++) {
            byte[] b = new byte[i % 2 == 0 ? 4 : 16];
            random.nextBytes(b);
            // Runs of zero groups, so that "::" appears anywhere.
            if (b.length == 16) for (int g = random.nextInt(8), n = random.nextInt(9 - g); n > 0; n--, g++) b[2 * g] = b[2 * g + 1] = 0;
            InetAddress inet = InetAddress.getByAddress(b);
            List<String> forms = new ArrayList<>(List.of(inet.getHostAddress(), IpAddress.parse(inet.getHostAddress()).orElseThrow().toString()));
            if (b.length == 16) {
                String full = inet.getHostAddress();
                forms.add(full.toUpperCase());
                // The last 32 bits as a dotted quad: 1:2:3:4:5:6:1.2.3.4, ::ffff:1.2.3.4.
                String head = full.substring(0, full.lastIndexOf(':', full.lastIndexOf(':') - 1) + 1);
                forms.add(head + (b[12] & 0xff) + "." + (b[13] & 0xff) + "." + (b[14] & 0xff) + "." + (b[15] & 0xff));
            }
            for (String f : forms) {
                assertThat(IpAddress.parse(f)).as(f).isPresent();
                assertThat(address.matcher(f).matches()).as(f).isTrue();
                assertThat(prefix.matcher(f + "/" + random.nextInt(33)).matches()).as(f).isTrue();
            }
        }
        for (String bad : List.of("2001:db8:::1", "1:2:3:4:5:6:7:8:9", "1::2::3", "192.168.2.300", "010.0.0.1", "vip.lan",
                "1.2.3", ":1:2", "12345::1", "::1.2.3", "g::1", "")) {
            assertThat(IpAddress.parse(bad)).as(bad).isEmpty();
            assertThat(address.matcher(bad).matches()).as(bad).isFalse();
        }
        for (String good : List.of("::", "::1", "1::", "::ffff:1.2.3.4", "::1.2.3.4", "1:2:3:4:5:6:7::", "fe80::1:2:3:4:5:6")) {
            assertThat(IpAddress.parse(good)).as(good).isPresent();
            assertThat(address.matcher(good).matches()).as(good).isTrue();
        }
    }

    private static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
