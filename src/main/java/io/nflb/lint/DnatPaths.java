package io.nflb.lint;

import io.nflb.explain.Target;
import io.nflb.lint.Model.Chain;
import io.nflb.lint.Model.Kind;
import io.nflb.lint.Model.Rule;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * DNAT without a FORWARD path. For each DNAT rule reached from nat PREROUTING, the new connections it
 * translates (its own conditions and its callers': input interface, sources, protocol, ports) get the new
 * destination address and port, conntrack state NEW with the DNAT flag, any output interface; they are walked
 * through filter FORWARD whatever its policy (jumps, gotos and returns followed, the policy at the end). If no
 * rule may accept any of them, the finding names the rule or policy that drops the most; it is an error when
 * INPUT would not take them either (the target may be an address of this host: routing is not in the dump).
 * If FORWARD accepts some but drops some destination ports (or protocols) whatever the rest, a warning.
 */
final class DnatPaths {

    private static final Set<Integer> PORT_PROTOCOLS = Set.of(6, 17, 33, 132, 136);

    private DnatPaths() {
    }

    /** What a walk of FORWARD (or INPUT) did with the connections: what may be accepted, what surely is not, by whom. */
    private static final class Verdicts implements Walker.Sink {
        final Space space;
        Region accepted = Region.EMPTY;
        final Set<Rule> accepters = new LinkedHashSet<>();
        /** Dropped parts per decider ("line 13" or "policy of FORWARD"), with the jumps that led there. */
        final Map<String, Drop> drops = new LinkedHashMap<>();

        Verdicts(Space space) {
            this.space = space;
        }

        @Override
        public void decide(Region part, Kind how, boolean sure, Rule decider, Chain chain, List<Rule> trail) {
            if (how == Kind.DROP) {
                if (!sure) return; // it may drop them; what surely does is named
                String key = decider == null ? "policy " + chain.name : "line " + decider.line();
                Drop d = drops.computeIfAbsent(key, k -> new Drop(decider, chain, trail));
                d.volume += space.volume(part);
                d.part = d.part.or(part, space);
            } else {
                accepted = accepted.or(part, space);
                if (decider != null) accepters.add(decider);
            }
        }
    }

    private static final class Drop {
        final Rule decider;
        final Chain chain;
        final List<Rule> trail;
        double volume;
        Region part = Region.EMPTY;

        Drop(Rule decider, Chain chain, List<Rule> trail) {
            this.decider = decider;
            this.chain = chain;
            this.trail = trail;
        }

        String describe() {
            StringBuilder sb = new StringBuilder();
            if (!trail.isEmpty()) {
                Rule entry = trail.get(trail.size() - 1);
                sb.append("line ").append(entry.line()).append(" (").append(entry.text()).append(") sends them to ").append(entry.target.name)
                        .append(", where ");
            }
            if (decider == null) {
                sb.append(trail.isEmpty() ? "" : "they fall through to ").append("the policy DROP of ").append(chain.name)
                        .append(" (line ").append(chain.line).append(")").append(trail.isEmpty() ? " drops them" : "");
            } else {
                sb.append("line ").append(decider.line()).append(" (").append(decider.text()).append(") ")
                        .append(decider.text().contains("REJECT") ? "rejects" : "drops").append(" them");
            }
            return sb.toString();
        }

        void related(List<Finding.Related> out) {
            for (int i = trail.size() - 1; i >= 0; i--) out.add(new Finding.Related(trail.get(i).line(), "jumps to " + trail.get(i).target.name));
            if (decider != null) out.add(new Finding.Related(decider.line(), "drops them"));
            else out.add(new Finding.Related(chain.line, "policy DROP of " + chain.name));
        }
    }

    static void run(Model model, Walker walker, List<Finding> findings, List<String> notes) {
        Model.Table nat = model.tables.get("nat");
        Model.Table filter = model.tables.get("filter");
        if (nat == null || filter == null || filter.chains.get("FORWARD") == null) return;
        Chain forward = filter.chains.get("FORWARD");
        Chain input = filter.chains.get("INPUT");
        Space space = model.space;
        try {
            for (Chain chain : nat.chains.values()) {
                for (Rule d : chain.rules) {
                    if (d.kind != Kind.DNAT || d.box == null) continue;
                    Box routed = d.box.with(Box.IIF, d.box.get(Box.IIF).and(space.someInterface()));
                    if (routed == null) continue;
                    Region c = walker.arriveAt(chain, d.index, routed);
                    if (c.isEmpty()) continue;
                    check(model, walker, d, c, forward, input, findings);
                }
            }
        } catch (Walker.Exhausted e) {
            notes.add("the analysis budget of rule visits was spent while following DNAT rules through FORWARD: later DNAT rules were not checked");
        }
    }

    private static void check(Model model, Walker walker, Rule d, Region c, Chain forward, Chain input, List<Finding> findings) {
        Space space = model.space;
        Target.Dnat t = (Target.Dnat) d.source.target();
        Region routed = translate(space, c, t, space.someInterface());
        Verdicts fwd = new Verdicts(space);
        walker.whole(forward, routed, fwd);
        String what = "DNAT to " + t.destination() + describeClass(space, c);
        if (fwd.accepted.isEmpty()) {
            List<Drop> drops = main(fwd);
            List<Finding.Related> related = new ArrayList<>();
            StringBuilder m = new StringBuilder(what).append(": no rule of FORWARD accepts these new connections: ");
            for (int i = 0; i < drops.size(); i++) {
                m.append(i > 0 ? "; for others, " : "").append(drops.get(i).describe());
                drops.get(i).related(related);
            }
            boolean toHost = false;
            if (input != null) {
                Verdicts in = new Verdicts(space);
                walker.whole(input, translate(space, c, t, space.noInterface()), in);
                toHost = !in.accepted.isEmpty();
            }
            m.append(toHost ? ". INPUT would accept them: fine only if " + t.firstAddress() + " is an address of this host"
                    : ". INPUT does not accept them either, so they are dropped whichever way they are routed");
            findings.add(new Finding(d.line(), d.source.column(), toHost ? Finding.Severity.WARNING : Finding.Severity.ERROR,
                    "dnat-without-forward", m.toString(), d.text(), dedupe(related), List.of(d.line())));
            return;
        }
        // Accepted in part: ports (and protocols, when the DNAT rule names none) dropped whatever the rest.
        IntSet protos = routed.project(Box.PROTO);
        IntSet missing = IntSet.EMPTY;
        int field = -1;
        if (!d.box.get(Box.PROTO).equals(space.full[Box.PROTO])) {
            boolean ports = true;
            for (int i = 0; i < protos.ranges(); i++) {
                for (int p = protos.lo(i); p <= protos.hi(i); p++) ports &= PORT_PROTOCOLS.contains(p);
            }
            if (ports) {
                missing = routed.project(Box.DPORT).minus(fwd.accepted.project(Box.DPORT));
                field = Box.DPORT;
            }
        } else {
            missing = protos.minus(fwd.accepted.project(Box.PROTO));
            field = Box.PROTO;
        }
        if (field < 0 || missing.isEmpty()) return;
        Verdicts part = new Verdicts(space);
        walker.whole(forward, routed.and(space.all.with(field, missing)), part);
        List<Finding.Related> related = new ArrayList<>();
        for (Rule a : fwd.accepters) related.add(new Finding.Related(a.line(), "accepts part of them"));
        StringBuilder m = new StringBuilder(what).append(": FORWARD accepts only part of these new connections: ")
                .append(field == Box.DPORT ? "destination port" + (missing.count() > 1 ? "s " : " ") + Space.ports(missing)
                        : "protocol" + (missing.count() > 1 ? "s " : " ") + missing)
                .append(" ").append(missing.count() > 1 ? "are" : "is").append(" dropped whatever else they are: ");
        List<Drop> drops = main(part);
        for (int i = 0; i < drops.size(); i++) {
            m.append(i > 0 ? "; " : "").append(drops.get(i).describe());
            drops.get(i).related(related);
        }
        if (!fwd.accepters.isEmpty()) {
            m.append(" (accepted: ").append(field == Box.DPORT ? Space.ports(fwd.accepted.project(Box.DPORT).and(routed.project(Box.DPORT)))
                    : fwd.accepted.project(Box.PROTO).toString()).append(", by ")
                    .append(Linter.lines(fwd.accepters.stream().map(Rule::line).toList())).append(")");
        }
        findings.add(new Finding(d.line(), d.source.column(), Finding.Severity.WARNING, "dnat-partly-forwarded", m.toString(), d.text(),
                dedupe(related), List.of(d.line())));
    }

    /** The drops that take the most of the connections: each at least a quarter of the largest, at most three. */
    private static List<Drop> main(Verdicts v) {
        List<Drop> all = new ArrayList<>(v.drops.values());
        all.sort(Comparator.comparingDouble((Drop d) -> -d.volume));
        List<Drop> out = new ArrayList<>();
        for (Drop d : all) {
            if (out.size() == 3 || (!out.isEmpty() && d.volume < out.get(0).volume / 4)) break;
            out.add(d);
        }
        return out;
    }

    /** The translated connections: new destination (and port), NEW with the DNAT flag, output interface as given. */
    static Region translate(Space space, Region c, Target.Dnat t, IntSet oif) {
        Region out = Region.EMPTY;
        for (Box b : c.boxes) {
            Box x = b;
            if (!t.firstAddress().isEmpty()) x = x.with(Box.DST, space.addresses(t.firstAddress(), t.lastAddress()));
            if (t.firstPort() > 0) x = x.with(Box.DPORT, IntSet.range(t.firstPort(), t.lastPort()));
            x = x.with(Box.CT, space.ctNew(true)).with(Box.OIF, oif);
            out = out.or(Region.of(x), space);
        }
        return out;
    }

    /** " (tcp to port 80, from eth0, from 198.51.100.0/24)": what the DNAT rule and its callers restrict. */
    private static String describeClass(Space space, Region c) {
        Box h = c.hull();
        List<String> parts = new ArrayList<>();
        IntSet p = h.get(Box.PROTO);
        if (p.count() == 1) parts.add(p.first() == 6 ? "tcp" : p.first() == 17 ? "udp" : "protocol " + p.first());
        if (!h.get(Box.DPORT).equals(space.full[Box.DPORT])) parts.add("port " + Space.ports(h.get(Box.DPORT)));
        if (!h.get(Box.IIF).equals(space.someInterface())) parts.add("in on " + space.describeInterfaces(h.get(Box.IIF)));
        if (!h.get(Box.SRC).equals(space.full[Box.SRC])) parts.add("from " + space.describeAddresses(h.get(Box.SRC)));
        return parts.isEmpty() ? "" : " (" + String.join(", ", parts) + ")";
    }

    private static List<Finding.Related> dedupe(List<Finding.Related> in) {
        Map<Integer, Finding.Related> out = new LinkedHashMap<>();
        for (Finding.Related r : in) out.putIfAbsent(r.line(), r);
        return new ArrayList<>(out.values());
    }
}
