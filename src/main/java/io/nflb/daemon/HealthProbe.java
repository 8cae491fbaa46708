package io.nflb.daemon;

/** A blocking check of one probe, in place of the real ones (tests); must give up after {@code check.timeout()}. */
@FunctionalInterface
public interface HealthProbe {

    /** false or an exception: the check failed. */
    boolean check(Probe probe) throws Exception;
}
