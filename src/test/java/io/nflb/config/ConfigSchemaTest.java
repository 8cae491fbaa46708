package io.nflb.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.nflb.config.Schema.Section;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The schema walked against the binder: every mapping's keys, each documented default, range and keyword, as
 * the binder applies them. Drift between ConfigSchema and ConfigBinder/FirewallBinder fails here.
 */
class ConfigSchemaTest {

    @Test
    void theFileTheWalkChangesHasEveryMappingOfTheSchemaAndIsValid() throws Exception {
        List<String> walked = SchemaCases.places(SchemaCases.load(SchemaCases.EVERY_MAPPING)).stream()
                .map(SchemaCases.Place::path).toList();
        assertThat(walked).as("SchemaCases.EVERY_MAPPING needs each mapping of the schema: add a new one there")
                .containsAll(Schema.sections(ConfigSchema.ROOT).stream().map(Section::path).toList());
        ConfigLoader.parse("t.yaml", SchemaCases.EVERY_MAPPING);
    }

    static Stream<SchemaCases.Default> defaults() {
        return SchemaCases.defaults().stream();
    }

    /** Alike: the same records, or the same refusals where other keys object to the default (maglev settings). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("defaults")
    void aKeyLeftOutBindsAsItsDocumentedDefault(SchemaCases.Default d) {
        assertThat(outcome(d.leftOut())).isEqualTo(outcome(d.written()));
    }

    private static Object outcome(String yaml) {
        try {
            return ConfigLoader.parse("t.yaml", yaml);
        } catch (ConfigException e) {
            return e.errors().stream().map(ConfigError::message).sorted().toList();
        }
    }

    static Stream<SchemaCases.Case> mistakes() {
        return SchemaCases.mistakes().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("mistakes")
    void theBinderRefusesWhatTheSchemaRefuses(SchemaCases.Case c) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse("t.yaml", c.yaml()));
        assertThat(e).as("accepted:\n" + c.yaml()).isNotNull();
        assertThat(e.getMessage()).doesNotContain("invalid yaml");
        if (c.expected() != null) assertThat(e.getMessage()).contains(c.expected());
    }

    static Stream<SchemaCases.Case> edges() {
        return SchemaCases.edgesOfTheRanges().stream();
    }

    /** Other keys may object (weight 1000 against a table of 251), never the range or the word itself. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("edges")
    void theEndsOfEachRangeAndEachWordAreTaken(SchemaCases.Case c) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse("t.yaml", c.yaml()));
        if (e != null) assertThat(e.getMessage()).doesNotContain("out of range", "unknown");
    }

    @Test
    void aBinderCannotReadAKeyTheSchemaDoesNotHave() {
        YamlNode root = new YamlNode(new org.snakeyaml.engine.v2.api.lowlevel.Compose(
                org.snakeyaml.engine.v2.api.LoadSettings.builder().build()).composeString("listen: {port: 80}\n").orElseThrow(),
                new Problems("t.yaml"));
        YamlMap m = root.mapping(ConfigSchema.LISTEN).orElseThrow();
        assertThatThrownBy(() -> m.optional("ports", YamlNode::integer)).hasMessageContaining("has no key 'ports'");
        assertThatThrownBy(() -> m.optional("port", YamlNode::integer)).hasMessageContaining("'port' is required");
        assertThatThrownBy(() -> m.orDefault("address", YamlNode::address)).hasMessageContaining("no default value");
    }

    @Test
    void sectionsAreListedRootFirstWithTheirPaths() {
        assertThat(Schema.sections(ConfigSchema.ROOT)).extracting(Section::path).containsExactly("", "services[]",
                "services[].listen", "services[].affinity", "services[].maglev", "services[].health", "services[].limits",
                "services[].backends[]", "services[].backends[].health", "firewall", "firewall.policy", "firewall.allow[]",
                "firewall.forward[]", "firewall.log_drops", "firewall.neighbours", "firewall.neighbours.docker",
                "firewall.neighbours.libvirt", "firewall.neighbours.kube-proxy", "firewall.neighbours.ufw",
                "firewall.neighbours.firewalld", "firewall.neighbours.other", "daemon", "ha", "ha.gateway", "ha.sync");
        assertThat(Schema.sections(ConfigSchema.ROOT)).filteredOn(s -> s.sameAs().isPresent())
                .extracting(s -> s.path() + " = " + s.sameAs().get())
                .containsExactly("services[].backends[].health = services[].health", "firewall.forward[] = firewall.allow[]",
                        "firewall.neighbours.libvirt = firewall.neighbours.docker",
                        "firewall.neighbours.kube-proxy = firewall.neighbours.docker",
                        "firewall.neighbours.ufw = firewall.neighbours.docker",
                        "firewall.neighbours.firewalld = firewall.neighbours.docker");
    }

    @Test
    void defaultsAreWrittenAsInYaml() {
        assertThat(Schema.yaml("tcp")).isEqualTo("tcp");
        assertThat(Schema.yaml("2s")).isEqualTo("2s");
        assertThat(Schema.yaml("5/s")).isEqualTo("5/s");
        assertThat(Schema.yaml("nflb-drop ")).isEqualTo("\"nflb-drop \"");
        assertThat(Schema.yaml("true")).isEqualTo("\"true\"");
        assertThat(Schema.yaml("80")).isEqualTo("\"80\"");
        assertThat(Schema.yaml(80)).isEqualTo("80");
    }

    @Test
    void aDefaultMustBeAValueOfItsKey() {
        assertThatThrownBy(() -> Schema.map("m", "doc").key("k", Schema.integer(1, 10), Schema.byDefault(11), "doc"))
                .hasMessageContaining("default 11 of 'k' is not a integer 1..10");
    }
}
