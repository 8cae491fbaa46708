package io.nflb.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DurationAndSuggestTest {

    @ParameterizedTest
    @CsvSource({"500ms, 500", "2s, 2000", "3h, 10800000", "1h30m, 5400000", "1d2h3m4s5ms, 93784005", "0s, 0"})
    void durationsParse(String text, long millis) {
        assertThat(YamlNode.parseDuration(text)).contains(Duration.ofMillis(millis));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "3", "h", "3x", "1.5h", "-1s", "30m1h", "1h1h", "3 h", "3H", "1msms", "1234567890s"})
    void nonDurationsDoNot(String text) {
        assertThat(YamlNode.parseDuration(text)).isEmpty();
    }

    @Test
    void editDistanceCountsASwapAsOneEdit() {
        assertThat(Suggest.distance("schedular", "scheduler")).isEqualTo(1);
        assertThat(Suggest.distance("shceduler", "scheduler")).isEqualTo(1);
        assertThat(Suggest.distance("round_robin", "round-robin")).isEqualTo(1);
        assertThat(Suggest.distance("", "abc")).isEqualTo(3);
        assertThat(Suggest.distance("kitten", "sitting")).isEqualTo(3);
    }

    @Test
    void suggestionsStopAtTwoEdits() {
        List<String> keys = List.of("name", "protocol", "listen", "scheduler");
        assertThat(Suggest.closest("Listen", keys)).contains("listen");
        assertThat(Suggest.closest("protcl", keys)).contains("protocol");
        assertThat(Suggest.closest("prtcl", keys)).isEmpty();
        assertThat(Suggest.closest("port", keys)).isEmpty();
    }
}
