package io.nflb.dataplane.nft;

import io.nflb.plan.Rational;

import java.util.List;
import java.util.Map;

/**
 * What an nft script does with one service's new connections. {@code shares} maps a backend endpoint
 * (address:port, IPv6 in brackets) to its exact share; {@link #UNMATCHED} holds slots that name no backend.
 * {@code cycle} is the exact round-robin order (numgen inc), empty for random and maglev.
 */
record NftServiceShares(String service, List<String> dispatch, Method method, boolean affinity,
                               int modulus, Map<String, Rational> shares, List<String> cycle) {

    public static final String UNMATCHED = "(no backend)";

    public enum Method { ROUND_ROBIN, RANDOM, MAGLEV }

    public NftServiceShares {
        dispatch = List.copyOf(dispatch);
        shares = Map.copyOf(shares);
        cycle = List.copyOf(cycle);
    }
}
