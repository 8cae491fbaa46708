package io.nflb.kernel;

/** {@code transaction} is what was run ("" when nflb had nothing in the kernel). */
public record FlushResult(boolean changed, String transaction, int chainsRemoved, int jumpsDeleted) {
}
