package io.nflb.explain;

import io.nflb.plan.Rational;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Evaluates the nft script nflb renders, not the plan: a service chain's numgen or jhash lookup picks a slot
 * uniformly (numgen inc in order: an exact cycle), each slot jumps to a backend chain, and that chain's dnat
 * says where the connection goes. Shares are exact fractions of slots.
 */
public final class NftExplainer {

    private static final Pattern CHAIN = Pattern.compile("^\\s*chain (\\S+) \\{");
    private static final Pattern DNAT = Pattern.compile("dnat to (\\S+)");
    private static final Pattern INLINE_VMAP = Pattern.compile("(numgen inc|numgen random|jhash [^v]*) mod (\\d+)(?: seed \\S+)? vmap \\{ ([^}]*) }");
    private static final Pattern NAMED_VMAP = Pattern.compile("jhash [^v]* mod (\\d+)(?: seed \\S+)? vmap @(\\S+)");
    private static final Pattern SLOT = Pattern.compile("(\\d+) : jump (\\S+)");

    private NftExplainer() {
    }

    /** What one service's new connections do: shares per endpoint and, for numgen inc, the cycle of endpoints. */
    public record Shares(Map<String, Rational> shares, List<String> cycle) {
    }

    public static Shares explain(String script, String serviceChain) {
        Map<String, String> chainBodies = chains(script);
        Map<String, String> endpoints = new HashMap<>();
        chainBodies.forEach((name, body) -> {
            Matcher m = DNAT.matcher(body);
            if (m.find()) endpoints.put(name, m.group(1));
        });
        String body = chainBodies.get(serviceChain);
        if (body == null) throw new IllegalArgumentException("no chain " + serviceChain + " in the script");
        List<String> slots = new ArrayList<>();
        boolean ordered = false;
        Matcher inline = INLINE_VMAP.matcher(body);
        Matcher named = NAMED_VMAP.matcher(body);
        if (inline.find()) {
            ordered = inline.group(1).equals("numgen inc");
            slots = slots(inline.group(3), Integer.parseInt(inline.group(2)));
        } else if (named.find()) {
            Matcher map = Pattern.compile("map " + Pattern.quote(named.group(2)) + " \\{[^}]*elements = \\{([^}]*)}", Pattern.DOTALL).matcher(script);
            if (!map.find()) throw new IllegalArgumentException("no map " + named.group(2) + " in the script");
            slots = slots(map.group(1), Integer.parseInt(named.group(1)));
        } else {
            throw new IllegalArgumentException("chain " + serviceChain + " has no backend selection nflb knows");
        }
        Map<String, Rational> shares = new LinkedHashMap<>();
        List<String> cycle = new ArrayList<>();
        for (String chain : slots) {
            String endpoint = endpoints.getOrDefault(chain, "not balanced");
            shares.merge(endpoint, Rational.of(1, slots.size()), Rational::add);
            cycle.add(endpoint);
        }
        return new Shares(shares, ordered ? cycle : List.of());
    }

    /** Slot i's chain for i in 0..modulus-1; a slot with no element falls through, which counts as not balanced. */
    private static List<String> slots(String elements, int modulus) {
        String[] bySlot = new String[modulus];
        Matcher m = SLOT.matcher(elements);
        while (m.find()) {
            int k = Integer.parseInt(m.group(1));
            if (k < modulus) bySlot[k] = m.group(2).replace(",", "");
        }
        List<String> out = new ArrayList<>(modulus);
        for (String s : bySlot) out.add(s == null ? "" : s);
        return out;
    }

    private static Map<String, String> chains(String script) {
        Map<String, String> out = new LinkedHashMap<>();
        String current = null;
        StringBuilder body = new StringBuilder();
        for (String line : script.split("\n")) {
            Matcher c = CHAIN.matcher(line);
            if (c.find()) {
                current = c.group(1);
                body.setLength(0);
                continue;
            }
            if (current != null && line.strip().equals("}")) {
                out.put(current, body.toString());
                current = null;
                continue;
            }
            if (current != null) body.append(line).append('\n');
        }
        return out;
    }
}
