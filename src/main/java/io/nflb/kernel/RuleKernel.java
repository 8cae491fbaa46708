package io.nflb.kernel;

import java.util.List;

/**
 * What the daemon needs from a rule backend: make the kernel hold exactly {@code R}, take nflb out again, and
 * show what it holds. Implementations touch nflb's own objects only.
 */
public interface RuleKernel<R> {

    /** Brings nflb's part of the kernel to {@code wanted} in one atomic step; a no-op when already there. */
    ApplyResult apply(R wanted);

    /** Removes everything of nflb's and nothing else; a no-op when there is nothing. */
    FlushResult flush();

    /** Packet and byte counts of nflb's rules, as the kernel reports them. */
    List<RuleCounters> counters();

    /** The kernel's own dump of the backend's tables, for diagnostics. */
    String save();
}
