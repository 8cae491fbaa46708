package io.nflb.kernel;

import java.time.Duration;

/** {@code transaction} is what was run ("" when nothing had to change). */
public record ApplyResult(boolean changed, String transaction, int chainsWritten, int chainsRemoved,
                          int jumpsInserted, int jumpsDeleted, Duration took) {
}
