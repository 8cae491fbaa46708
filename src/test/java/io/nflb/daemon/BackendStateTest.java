package io.nflb.daemon;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.SplittableRandom;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

class BackendStateTest {

    @Test
    void goesDownOnTheFallthFailureInARowAndUpOnTheRisethSuccess() {
        BackendState s = new BackendState(2, 3, true);
        assertThat(s.record(false)).isFalse();
        assertThat(s.record(false)).isFalse();
        assertThat(s.record(true)).isFalse(); // the run is broken: counting starts again
        assertThat(s.record(false)).isFalse();
        assertThat(s.record(false)).isFalse();
        assertThat(s.record(false)).isTrue();
        assertThat(s.status()).isEqualTo(BackendState.Status.DOWN);
        assertThat(s.record(false)).isFalse();
        assertThat(s.record(true)).isFalse();
        assertThat(s.record(true)).isTrue();
        assertThat(s.status()).isEqualTo(BackendState.Status.UP);
    }

    @Test
    void operatorSettingsWinOverChecksAndReportWhetherUsabilityChanged() {
        BackendState s = new BackendState(1, 1, true);
        assertThat(s.admin(BackendState.Admin.DRAINING)).isTrue();
        assertThat(s.status()).isEqualTo(BackendState.Status.DRAINING);
        assertThat(s.usable()).isFalse();
        s.record(false); // checks go on underneath
        assertThat(s.admin(BackendState.Admin.DISABLED)).isFalse();
        assertThat(s.status()).isEqualTo(BackendState.Status.DISABLED);
        assertThat(s.admin(BackendState.Admin.NORMAL)).isFalse(); // it went down meanwhile
        assertThat(s.status()).isEqualTo(BackendState.Status.DOWN);
    }

    static LongStream seeds() {
        return LongStream.of(1, 2, 3, 42, 20240611, 987654321);
    }

    /** Against a definition by streaks: the verdict is the last streak that reached its threshold. */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void verdictIsTheLastStreakLongEnoughToCount(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int rise = 1 + random.nextInt(4);
        int fall = 1 + random.nextInt(4);
        boolean start = random.nextBoolean();
        BackendState s = new BackendState(rise, fall, start);
        boolean expected = start;
        int streak = 0;
        Boolean last = null;
        for (int i = 0; i < 2000; i++) {
            boolean ok = random.nextInt(10) < (i / 200 % 2 == 0 ? 7 : 3);
            streak = last != null && last == ok ? streak + 1 : 1;
            last = ok;
            boolean before = expected;
            if (streak >= (ok ? rise : fall)) expected = ok;
            assertThat(s.record(ok)).as("flip at %d (seed %d)", i, seed).isEqualTo(before != expected);
            assertThat(s.healthy()).isEqualTo(expected);
        }
    }
}
