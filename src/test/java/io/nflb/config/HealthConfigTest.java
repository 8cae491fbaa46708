package io.nflb.config;

import io.nflb.model.Backend;
import io.nflb.model.Config;
import io.nflb.model.HealthCheck;
import io.nflb.model.Service;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/** {@code health:} on services and backends: defaults, inheritance, and every mistake at its position. */
class HealthConfigTest {

    @Test
    void withoutHealthEveryBackendIsUncheckedAndExistingConfigsBindAsBefore() throws Exception {
        Service s = ConfigLoader.parse("t.yaml", "services:\n  - name: web\n    listen: {port: 80}\n    backends: [{address: 10.0.0.1}]\n")
                .services().get(0);
        assertThat(s.health()).isEqualTo(HealthCheck.NONE);
        assertThat(s.healthOf(s.backends().get(0)).type()).isEqualTo(HealthCheck.Type.NONE);
    }

    @Test
    void httpCheckWithDefaultsFromTheIssue() throws Exception {
        Service s = parse("""
                    health: {type: http, path: /healthz, expect_status: 200, interval: 2s, timeout: 1s, rise: 2, fall: 3}
                """).services().get(0);
        assertThat(s.health()).isEqualTo(new HealthCheck(HealthCheck.Type.HTTP, Duration.ofSeconds(2), Duration.ofSeconds(1),
                2, 3, "GET", "/healthz", 200, Optional.empty(), Optional.empty(), List.of()));
    }

    @Test
    void aBackendOverridesOnlyTheKeysItNames() throws Exception {
        Config c = ConfigLoader.parse("t.yaml", """
                services:
                  - name: web
                    listen: {port: 80}
                    health: {type: http, path: /healthz, interval: 500ms, timeout: 200ms, host: web.example, body: ok}
                    backends:
                      - {address: 10.0.0.1}
                      - {address: 10.0.0.2, health: {path: /other, fall: 5}}
                      - {address: 10.0.0.3, health: {type: exec, command: [/bin/check, --quick]}}
                """);
        Service s = c.services().get(0);
        Backend plain = s.backends().get(0);
        HealthCheck other = s.healthOf(s.backends().get(1));
        HealthCheck exec = s.healthOf(s.backends().get(2));
        assertThat(plain.health()).isEmpty();
        assertThat(s.healthOf(plain).path()).isEqualTo("/healthz");
        assertThat(other.type()).isEqualTo(HealthCheck.Type.HTTP);
        assertThat(other.path()).isEqualTo("/other");
        assertThat(other.fall()).isEqualTo(5);
        assertThat(other.interval()).isEqualTo(Duration.ofMillis(500));
        assertThat(other.host()).contains("web.example");
        assertThat(other.body()).contains("ok");
        assertThat(exec.type()).isEqualTo(HealthCheck.Type.EXEC);
        assertThat(exec.command()).containsExactly("/bin/check", "--quick");
        assertThat(exec.interval()).isEqualTo(Duration.ofMillis(500));
    }

    static Stream<Arguments> mistakes() {
        return Stream.of(
                arguments("misspelled type", "    health: {type: htp}\n",
                        List.of("t.yaml:5:20: unknown health check type 'htp'; did you mean 'http'? (expected one of: tcp, http, exec, none)")),
                arguments("misspelled key", "    health: {type: tcp, intervall: 2s}\n",
                        List.of("t.yaml:5:25: unknown key 'intervall'; did you mean 'interval'?")),
                arguments("bad duration", "    health: {type: tcp, interval: 2 seconds}\n",
                        List.of("t.yaml:5:35: '2 seconds' is not a duration; expected a number and a unit (ms, s, m, h, d) such as 500ms, 2s or 1h30m")),
                arguments("interval too short", "    health: {type: tcp, interval: 5ms, timeout: 1ms}\n",
                        List.of("t.yaml:5:35: interval 5ms is out of range; expected 10ms..1h")),
                arguments("timeout longer than interval", "    health: {type: tcp, interval: 1s, timeout: 2s}\n",
                        List.of("t.yaml:5:48: timeout 2000ms is longer than interval 1000ms; a check must end before the next starts")),
                arguments("timeout longer than the default interval", "    health: {type: tcp, timeout: 3s}\n",
                        List.of("t.yaml:5:34: timeout 3000ms is longer than interval 2000ms; a check must end before the next starts")),
                arguments("rise zero", "    health: {type: tcp, rise: 0}\n",
                        List.of("t.yaml:5:31: rise 0 is out of range; expected 1..100")),
                arguments("fall too large", "    health: {type: tcp, fall: 1000}\n",
                        List.of("t.yaml:5:31: fall 1000 is out of range; expected 1..100")),
                arguments("path without slash", "    health: {type: http, path: healthz}\n",
                        List.of("t.yaml:5:32: http path 'healthz' must start with '/'")),
                arguments("status out of range", "    health: {type: http, expect_status: 99}\n",
                        List.of("t.yaml:5:41: expect_status 99 is out of range; expected 100..599")),
                arguments("method misspelled", "    health: {type: http, method: GETT}\n",
                        List.of("t.yaml:5:34: unknown http method 'GETT'; did you mean 'GET'? (expected one of: GET, HEAD, POST, PUT, OPTIONS)")),
                arguments("http key on tcp", "    health: {type: tcp, path: /healthz}\n",
                        List.of("t.yaml:5:31: 'path' applies only to 'type: http', found 'type: tcp'")),
                arguments("exec without command", "    health: {type: exec}\n",
                        List.of("t.yaml:5:13: health check 'type: exec' is missing required key 'command'")),
                arguments("exec command as a string", "    health: {type: exec, command: /bin/check --quick}\n",
                        List.of("t.yaml:5:35: expected a sequence, found a string")),
                arguments("exec command with a mapping in it", "    health: {type: exec, command: [/bin/check, {a: b}]}\n",
                        List.of("t.yaml:5:48: expected a string, found a mapping")),
                arguments("exec command empty", "    health: {type: exec, command: []}\n",
                        List.of("t.yaml:5:35: command must name a program: expected a list of strings such as [/usr/bin/check, --quick]")),
                arguments("command on http", "    health: {type: http, command: [/bin/true]}\n",
                        List.of("t.yaml:5:35: 'command' applies only to 'type: exec', found 'type: http'")),
                arguments("health is a string", "    health: tcp\n",
                        List.of("t.yaml:5:13: expected a mapping, found a string")),
                arguments("backend override misspelled", "    backends: [{address: 10.0.0.2, health: {fal: 2}}]\n",
                        List.of("t.yaml:5:45: unknown key 'fal'; did you mean 'fall'?")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("mistakes")
    void eachMistakeIsReportedAtItsPosition(String what, String line, List<String> expected) {
        String yaml = line.contains("backends:")
                ? "services:\n  - name: web\n    listen: {port: 80}\n    scheduler: random\n" + line
                : "services:\n  - name: web\n    listen: {port: 80}\n    backends: [{address: 10.0.0.1}]\n" + line;
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse("t.yaml", yaml));
        assertThat(e).as("no error for: " + what).isNotNull();
        assertThat(e.errors()).extracting(ConfigError::toString).containsExactlyElementsOf(expected);
    }

    private static Config parse(String healthLine) throws ConfigException {
        return ConfigLoader.parse("t.yaml", "services:\n  - name: web\n    listen: {port: 80}\n    backends: [{address: 10.0.0.1}]\n" + healthLine);
    }
}
