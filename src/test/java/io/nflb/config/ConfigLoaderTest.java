package io.nflb.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nflb.model.Backend;
import io.nflb.model.BackendKind;
import io.nflb.model.Config;
import io.nflb.model.IpAddress;
import io.nflb.model.Listen;
import io.nflb.model.Protocol;
import io.nflb.model.Scheduler;
import io.nflb.model.Service;
import io.nflb.model.Snat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

    private static final Path VALID = Path.of("src/test/resources/config/valid");

    private static IpAddress ip(String text) {
        return IpAddress.parse(text).orElseThrow();
    }

    @Test
    void fullExampleBindsToTheExactRecords() throws Exception {
        Config expected = new Config(BackendKind.NFTABLES, List.of(
                new Service("web", Protocol.TCP,
                        new Listen(80, Optional.of(ip("192.168.2.1")), Optional.of("eth1")),
                        Scheduler.MAGLEV, Snat.MASQUERADE,
                        List.of(new Backend(ip("192.168.2.2"), 8080, 3), new Backend(ip("192.168.2.3"), 80, 1)),
                        Optional.of(Duration.ofMinutes(90)), 65537),
                new Service("dns6", Protocol.UDP,
                        new Listen(53, Optional.of(ip("2001:db8::53")), Optional.empty()),
                        Scheduler.RANDOM, Snat.NONE,
                        List.of(new Backend(ip("2001:db8::5"), 53, 1000), new Backend(ip("2001:db8::6"), 5353, 1)),
                        Optional.of(Duration.ofSeconds(1)), 0),
                new Service("ssh-any", Protocol.TCP, new Listen(22, Optional.empty(), Optional.of("wg+")),
                        Scheduler.ROUND_ROBIN, Snat.NONE, List.of(new Backend(ip("10.0.0.9"), 22, 1)))));

        assertThat(ConfigLoader.load(VALID.resolve("full.yaml"))).isEqualTo(expected);
    }

    @Test
    void defaultsAreApplied() throws Exception {
        Config config = ConfigLoader.load(VALID.resolve("minimal.yaml"));

        assertThat(config).isEqualTo(new Config(BackendKind.AUTO, List.of(new Service("web", Protocol.TCP,
                new Listen(80, Optional.empty(), Optional.empty()), Scheduler.ROUND_ROBIN, Snat.NONE,
                List.of(new Backend(ip("192.168.2.2"), 80, 1)), Optional.empty(), 0))));
    }

    @Test
    void tutorialExampleLoads() throws Exception {
        Config config = ConfigLoader.load(Path.of("examples/nflb.yaml"));

        assertThat(config.services()).singleElement().satisfies(web -> {
            assertThat(web.name()).isEqualTo("web");
            assertThat(web.listen()).isEqualTo(new Listen(80, Optional.of(ip("192.168.2.1")), Optional.empty()));
            assertThat(web.backends()).extracting(Backend::endpoint).containsExactly("192.168.2.2:80", "192.168.2.3:80");
        });
    }

    @Test
    void anEmptyServiceListIsAValidConfig() throws Exception {
        assertThat(ConfigLoader.parse("t.yaml", "services: []\n").services()).isEmpty();
    }

    @Test
    void sameTrafficIsOnlyAClashWhenProtocolPortAddressAndInterfaceAllMatch() throws Exception {
        Config config = ConfigLoader.parse("t.yaml", """
                services:
                  - {name: a, listen: {port: 80}, backends: [{address: 10.0.0.1}]}
                  - {name: b, protocol: udp, listen: {port: 80}, backends: [{address: 10.0.0.1}]}
                  - {name: c, listen: {port: 80, address: 10.0.0.254}, backends: [{address: 10.0.0.1}]}
                  - {name: d, listen: {port: 80, interface: eth1}, backends: [{address: 10.0.0.1}]}
                  - {name: e, listen: {port: 81}, backends: [{address: 10.0.0.1}]}
                """);

        assertThat(config.services()).extracting(Service::name).containsExactly("a", "b", "c", "d", "e");
    }

    @Test
    void scalarsAreReadAsTheYamlCoreSchemaDefines() throws Exception {
        Config config = ConfigLoader.parse("t.yaml", """
                services:
                  - name: 007
                    listen: {port: 0x50}
                    affinity: {timeout: 2d}
                    backends: [{address: "::ffff:10.0.0.1", weight: +2}]
                """);

        Service s = config.services().get(0);
        assertThat(s.name()).isEqualTo("007");
        assertThat(s.listen().port()).isEqualTo(80);
        assertThat(s.affinity()).contains(Duration.ofDays(2));
        assertThat(s.backends()).containsExactly(new Backend(ip("10.0.0.1"), 80, 2));
    }

    @Test
    void fileNameInErrorsIsThePathAsGiven(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("nflb.yaml");
        Files.writeString(file, "services:\n  - name: web\n");

        assertThatThrownBy(() -> ConfigLoader.load(file))
                .isInstanceOf(ConfigException.class)
                .hasMessage(file + ":2:5: service is missing required key 'listen'\n"
                        + file + ":2:5: service is missing required key 'backends'");
    }

    @Test
    void unreadableFilesAreWholeFileErrors(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("missing.yaml");
        Path latin1 = dir.resolve("latin1.yaml");
        Files.write(latin1, new byte[] {'a', ':', ' ', (byte) 0xe9, '\n'});

        assertThatThrownBy(() -> ConfigLoader.load(missing))
                .hasMessage(missing + ": cannot read file: no such file")
                .satisfies(e -> assertThat(((ConfigException) e).errors())
                        .containsExactly(new ConfigError(missing.toString(), 0, 0, "cannot read file: no such file")));
        assertThatThrownBy(() -> ConfigLoader.load(latin1)).hasMessage(latin1 + ": file is not valid UTF-8");
    }
}
