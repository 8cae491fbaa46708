package io.nflb.daemon;

/** Runs one backend's health check to its end; must give up after {@code check.timeout()}. */
@FunctionalInterface
public interface HealthProbe {

    /** false or an exception: the check failed. */
    boolean check(HealthChecker.Target target) throws Exception;
}
