package io.nflb.dataplane.nft;

import io.nflb.plan.Rational;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Evaluates an nft script the way the kernel would, for the subset nflb writes: dispatch maps and rules
 * that jump to a chain, then one of (a) a slot-map lookup keyed by the packet's own destination and a
 * numgen or jhash index (services with an address; the chain may be shared), (b) the same keyed by the
 * service id, or (c) for affinity services, a verdict map from that index to per-backend chains. Works from
 * the script text alone, so it explains a saved or live table just as well as a freshly rendered one.
 */
final class NftExplainer {

    private static final Pattern DNAT_MAP = Pattern.compile(
            "^(?:meta l4proto \\w+ )?dnat ip6? to numgen inc mod 1 offset (\\d+) \\. (.+) map @(\\S+)$");
    private static final Pattern VMAP = Pattern.compile("^(.+) vmap \\{ (.*) \\}$");
    private static final Pattern INDEX = Pattern.compile("^(numgen inc|numgen random|jhash .+) mod (\\d+)(?: seed \\S+)?$");
    private static final Pattern DNAT_ONE = Pattern.compile("^(?:meta l4proto \\w+ )?dnat ip6? to (\\S+)$");
    private static final Pattern DNAT_FLAT = Pattern.compile(
            "^dnat ip6? to ip6? daddr \\. (?:tcp|udp) dport \\. (.+) map @(\\S+)$");
    private static final Pattern JUMP = Pattern.compile("^(.*) jump (\\S+)$");

    private NftExplainer() {
    }

    public static List<NftServiceShares> explain(NftScript script) {
        return explain(script.state());
    }

    public static List<NftServiceShares> explain(String scriptText) {
        return explain(NftState.parse(scriptText));
    }

    public static List<NftServiceShares> explain(NftState state) {
        // One entry per dispatch: "map key" (or "rule ...") and the chain it jumps to.
        List<String[]> dispatch = new ArrayList<>();
        for (NftState.NftSet s : state.sets().values()) {
            if (!s.map() || !NftNames.DISPATCH_MAPS.contains(s.name())) continue;
            for (String e : s.elements()) {
                int i = e.indexOf(" : jump ");
                if (i < 0) continue;
                dispatch.add(new String[]{s.name() + " " + e.substring(0, i), e.substring(i + 8), e.substring(0, i)});
            }
        }
        NftState.Chain pre = state.chains().get(NftNames.PREROUTING);
        if (pre != null) {
            for (String r : pre.rules()) {
                Matcher m = JUMP.matcher(r);
                if (m.matches()) dispatch.add(new String[]{"rule " + m.group(1), m.group(2), ""});
            }
        }
        Map<String, NftServiceShares> out = new TreeMap<>();
        for (String[] d : dispatch) {
            NftState.Chain chain = state.chains().get(d[1]);
            if (chain == null) throw new IllegalArgumentException("dispatch to a missing chain " + d[1]);
            NftServiceShares s = service(state, chain, List.of(d[0]), d[2]);
            NftServiceShares before = out.get(s.service());
            if (before != null) {
                List<String> all = new ArrayList<>(before.dispatch());
                all.addAll(s.dispatch());
                s = new NftServiceShares(s.service(), all, s.method(), s.affinity(), s.modulus(), s.shares(), s.cycle());
            }
            out.put(s.service(), s);
        }
        for (NftServiceShares s : NftStateless.explain(state)) out.put(s.service(), s);
        return new ArrayList<>(out.values());
    }

    private static NftServiceShares service(NftState state, NftState.Chain chain, List<String> dispatch, String key) {
        String name = NftNames.serviceOfChain(chain.name()).orElse(chain.name());
        for (String r : chain.rules()) {
            Matcher f = DNAT_FLAT.matcher(r);
            if (f.matches()) {
                // The map is keyed by the dispatch key's address and port: "addr . proto . port" -> "addr . port . ".
                String[] k = key.split(" \\. ");
                if (k.length != 3) throw new IllegalArgumentException("chain " + chain.name() + " needs an address dispatch");
                String prefix = k[0] + " . " + k[2] + " . ";
                Map<Integer, String> bySlot = slots(state, f.group(2), prefix);
                String commented = slotComment(state, f.group(2), prefix);
                return shares(commented != null ? commented : name, dispatch, index(f.group(1)), false, bySlot);
            }
            Matcher m = DNAT_MAP.matcher(r);
            if (m.matches()) {
                Index idx = index(m.group(2));
                Map<Integer, String> bySlot = slots(state, m.group(3), m.group(1) + " . ");
                return shares(name, dispatch, idx, false, bySlot);
            }
            Matcher v = VMAP.matcher(r);
            if (v.matches()) {
                Index idx = index(v.group(1));
                Map<Integer, String> bySlot = new HashMap<>();
                for (String e : v.group(2).split(", ")) {
                    String[] kv = e.split(" : goto | : jump ");
                    bySlot.put(Integer.parseInt(kv[0]), endpointOf(state, kv[1]));
                }
                return shares(name, dispatch, idx, true, bySlot);
            }
        }
        throw new IllegalArgumentException("chain " + chain.name() + " picks no backend");
    }

    /** The service name nflb writes as the comment of a service's slot 0. */
    private static String slotComment(NftState state, String map, String prefix) {
        NftState.NftSet s = state.sets().get(map);
        if (s == null) return null;
        for (String e : s.elements()) {
            if (!e.startsWith(prefix)) continue;
            Optional<String> named = NftNames.commentOf(e);
            if (named.isPresent()) return named.get();
        }
        return null;
    }

    private record Index(NftServiceShares.Method method, int modulus) {
    }

    private static Index index(String expr) {
        Matcher m = INDEX.matcher(expr);
        if (!m.matches()) throw new IllegalArgumentException("not a slot index nflb writes: " + expr);
        NftServiceShares.Method method = m.group(1).equals("numgen inc") ? NftServiceShares.Method.ROUND_ROBIN
                : m.group(1).equals("numgen random") ? NftServiceShares.Method.RANDOM : NftServiceShares.Method.MAGLEV;
        return new Index(method, Integer.parseInt(m.group(2)));
    }

    /** Slot number to endpoint, from the elements "PREFIX slot [comment] : addr . port". */
    private static Map<Integer, String> slots(NftState state, String map, String prefix) {
        NftState.NftSet s = state.sets().get(map);
        if (s == null) throw new IllegalArgumentException("missing map " + map);
        Map<Integer, String> out = new HashMap<>();
        for (String e : s.elements()) {
            if (!e.startsWith(prefix)) continue;
            String[] kv = NftNames.withoutComment(e.substring(prefix.length())).split(" : ", 2);
            int dot = kv[1].lastIndexOf(" . ");
            String addr = kv[1].substring(0, dot);
            String port = kv[1].substring(dot + 3);
            out.put(Integer.parseInt(kv[0]), (addr.indexOf(':') >= 0 ? "[" + addr + "]" : addr) + ":" + port);
        }
        return out;
    }

    private static String endpointOf(NftState state, String chainName) {
        NftState.Chain c = state.chains().get(chainName);
        if (c == null) throw new IllegalArgumentException("missing chain " + chainName);
        for (String r : c.rules()) {
            Matcher m = DNAT_ONE.matcher(r);
            if (m.matches()) return m.group(1);
        }
        throw new IllegalArgumentException("chain " + chainName + " does not dnat");
    }

    private static NftServiceShares shares(String name, List<String> dispatch, Index idx, boolean affinity,
                                           Map<Integer, String> bySlot) {
        Map<String, Integer> count = new LinkedHashMap<>();
        List<String> cycle = new ArrayList<>();
        for (int i = 0; i < idx.modulus(); i++) {
            // A slot outside the map makes the lookup fail: the rule does not match and nothing is nat'ed.
            String ep = bySlot.getOrDefault(i, NftServiceShares.UNMATCHED);
            count.merge(ep, 1, Integer::sum);
            if (idx.method() == NftServiceShares.Method.ROUND_ROBIN) cycle.add(ep);
        }
        Map<String, Rational> shares = new LinkedHashMap<>();
        count.forEach((ep, n) -> shares.put(ep, Rational.of(n, idx.modulus())));
        return new NftServiceShares(name, dispatch, idx.method(), affinity, idx.modulus(), shares, cycle);
    }
}
