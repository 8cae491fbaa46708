package io.nflb.explain;

import io.nflb.plan.Rational;

import java.util.Map;

/**
 * What a dataplane's rules do with each service's new connections, found by evaluating the rules themselves:
 * for people ({@link #toText()}), for scripts ({@link #toJson()}) and for code that compares it with what it
 * observed ({@link #shares(String)}, e.g. the lab).
 */
public interface ShareReport {

    String toText();

    /** One JSON document, without a trailing newline. */
    String toJson();

    /** Each backend endpoint's exact share of the service's new connections, as the rules give it. */
    Map<String, Rational> shares(String service);
}
