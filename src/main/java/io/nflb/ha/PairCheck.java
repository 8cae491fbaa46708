package io.nflb.ha;

import io.nflb.model.Config;
import io.nflb.model.Ha;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.function.Function;

/**
 * Whether two routers' files make a pair: the same rules for the services and the firewall (so a flow meets
 * the same backend choice and the same filter on either, and in ecmp mode the same maglev tables), and ha
 * sections that belong together. Only what must differ may: priority, peers, sync peer, the own gateway.
 */
public final class PairCheck {

    private PairCheck() {
    }

    /**
     * The differences that make {@code a} and {@code b} no pair, empty when they are one. {@code rules} renders a
     * config's rules as apply would send them to an empty kernel.
     */
    public static List<String> differences(String nameA, Config a, String nameB, Config b, Function<Config, String> rules) {
        List<String> out = new ArrayList<>();
        if (a.ha().isEmpty() || b.ha().isEmpty()) {
            out.add((a.ha().isEmpty() ? nameA : nameB) + " has no ha section");
            return out;
        }
        Ha x = a.ha().get();
        Ha y = b.ha().get();
        if (x.mode() != y.mode()) out.add("ha.mode: " + nameA + " says " + x.mode().keyword() + ", " + nameB + " says " + y.mode().keyword());
        if (x.routerId() != y.routerId()) out.add("ha.router_id: " + x.routerId() + " in " + nameA + ", " + y.routerId() + " in " + nameB + "; one pair is one VRRP router id");
        if (!x.advertInterval().equals(y.advertInterval())) {
            out.add("ha.advert_interval: " + x.advertInterval().toMillis() + "ms in " + nameA + ", " + y.advertInterval().toMillis() + "ms in " + nameB);
        }
        if (x.preempt() != y.preempt()) out.add("ha.preempt differs");
        if (x.mode() == Ha.Mode.VRRP && y.mode() == Ha.Mode.VRRP) {
            if (!x.gateway().map(g -> g.address()).equals(y.gateway().map(g -> g.address()))) {
                out.add("ha.gateway.address: the servers' gateway must be the same address on both routers ("
                        + x.gateway().map(g -> g.address().toString()).orElse("none") + " vs " + y.gateway().map(g -> g.address().toString()).orElse("none") + ")");
            }
            if (x.sync().isPresent() != y.sync().isPresent()) out.add("ha.sync: only one of the two syncs connection state");
            if (x.priority() == y.priority()) {
                out.add("ha.priority: both " + x.priority() + "; the higher one is meant to be primary at the first election");
            }
        }
        if (x.mode() == Ha.Mode.ECMP && y.mode() == Ha.Mode.ECMP) {
            List<Ha.InterfaceAddress> gx = x.gateway().orElseThrow().all();
            List<Ha.InterfaceAddress> gy = y.gateway().orElseThrow().all();
            if (!new HashSet<>(gx).equals(new HashSet<>(gy))) out.add("ha.gateway: the two routers list different gateway addresses: " + gx + " vs " + gy);
            if (x.gateway().get().address().equals(y.gateway().get().address())) {
                out.add("ha.gateway.address: both routers claim " + x.gateway().get().address() + " as their own");
            }
        }
        if (a.backend() != b.backend()) out.add("backend: " + a.backend().keyword() + " in " + nameA + ", " + b.backend().keyword() + " in " + nameB);
        String ra = rules.apply(a);
        String rb = rules.apply(b);
        if (!ra.equals(rb)) {
            out.add("the services and firewall render different rules:\n" + io.nflb.state.UnifiedDiff.of(nameA, ra, nameB, rb));
        }
        return out;
    }
}
