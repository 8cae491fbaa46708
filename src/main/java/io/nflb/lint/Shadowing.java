package io.nflb.lint;

import io.nflb.lint.Model.Chain;
import io.nflb.lint.Model.Kind;
import io.nflb.lint.Model.Rule;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Rules that can never match. For each rule v, only the packets v would match are followed (its box keeps the
 * classes tiny): those that may enter v's chain (from the hook, or through every call site, recursively),
 * then through the rules before v, callees walked on the way. When nothing is left, v is unreachable, and
 * the rule that took the last packets is the cause (with the callee rule that decided them, for a jump).
 * Victims are grouped by cause: one finding per shadowing rule, "and N more like it".
 */
final class Shadowing {

    /** Above this many rules that took part of a victim's packets, lint does not look for the fewest that suffice. */
    private static final int MAX_CONTRIBUTORS = 12;

    private Shadowing() {
    }

    /** One cause and the rules it hides. */
    private static final class Group {
        final Rule first;
        final List<Rule> victims = new ArrayList<>();
        final String message;
        final List<Finding.Related> related;

        Group(Rule first, String message, List<Finding.Related> related) {
            this.first = first;
            this.message = message;
            this.related = related;
        }
    }

    static void run(Model model, Walker walker, List<Finding> findings, List<String> notes) {
        Map<String, Group> groups = new LinkedHashMap<>();
        try {
            for (Model.Table table : model.tables.values()) {
                if (!Linter.TABLES.contains(table.name)) continue;
                for (Chain chain : table.chains.values()) {
                    if (!chain.builtin() && chain.callers.isEmpty()) {
                        if (!chain.rules.isEmpty()) {
                            Rule r0 = chain.rules.get(0);
                            findings.add(new Finding(r0.line(), r0.source.column(), Finding.Severity.NOTE, "unused-chain",
                                    "nothing jumps to chain " + chain.name + " (table " + table.name + "): its " + chain.rules.size()
                                            + " rule" + (chain.rules.size() == 1 ? " never sees" : "s never see") + " a packet",
                                    r0.text(), List.of(), chain.rules.stream().map(Rule::line).toList()));
                        }
                        continue;
                    }
                    for (Rule v : chain.rules) {
                        if (v.kind == Kind.WILDCARD) continue;
                        victim(model, walker, v, groups);
                    }
                }
            }
        } catch (Walker.Exhausted e) {
            notes.add("the analysis budget of rule visits was spent while checking which rules can match:"
                    + " later rules were not checked");
        }
        for (Group g : groups.values()) {
            List<Integer> lines = g.victims.stream().map(Rule::line).toList();
            String more = lines.size() > 1 ? ", and " + (lines.size() - 1) + " more like it (" + Linter.lines(lines.subList(1, lines.size())) + ")" : "";
            findings.add(new Finding(g.first.line(), g.first.source.column(), Finding.Severity.WARNING, "unreachable",
                    g.message + more, g.first.text(), g.related, lines));
        }
    }

    private static void victim(Model model, Walker walker, Rule v, Map<String, Group> groups) {
        Chain chain = v.chain;
        String table = chain.table;
        if (v.box == null) {
            add(groups, "self:" + v.line(), v, () -> new Group(v, "this rule can never match: its own conditions exclude each other", List.of()));
            return;
        }
        Region entry = walker.entry(chain, v.box);
        if (entry.isEmpty()) {
            StringBuilder key = new StringBuilder("enter:" + table + ":" + chain.name);
            Group g = notEntered(model, walker, v, key);
            groups.computeIfAbsent(key.toString(), k -> g).victims.add(v);
            return;
        }
        Walker.Victim ctx = new Walker.Victim(chain, stateless(model, v), lastModifier(chain, v.index));
        Walker.Walk walk = walker.range(chain, 0, v.index, null, entry, ctx, null);
        if (!walk.left().isEmpty()) return;
        Rule s = walk.emptiers().get(0);
        // Does s alone take them all, or only with the help of earlier rules?
        Walker.Walk alone = walker.range(chain, 0, v.index, new int[] {s.index}, entry, ctx, null);
        List<Rule> helpers = new ArrayList<>();
        if (!alone.left().isEmpty()) {
            List<Integer> changed = new ArrayList<>(walk.changed());
            changed.remove(Integer.valueOf(s.index));
            if (changed.size() <= MAX_CONTRIBUTORS) {
                for (int i = 0; i < changed.size(); ) {
                    List<Integer> without = new ArrayList<>(changed);
                    without.remove(i);
                    without.add(s.index);
                    int[] only = without.stream().mapToInt(Integer::intValue).sorted().toArray();
                    if (walker.range(chain, 0, v.index, only, entry, ctx, null).left().isEmpty()) changed.remove(i);
                    else i++;
                }
                for (int i : changed) helpers.add(chain.rules.get(i));
            } else {
                for (int i : changed) helpers.add(chain.rules.get(i));
            }
        }
        String key = "rule:" + table + ":" + s.line() + helpers.stream().map(r -> "," + r.line()).reduce("", String::concat);
        List<Rule> deeper = walk.emptiers().subList(1, walk.emptiers().size());
        add(groups, key, v, () -> shadowed(v, s, deeper, helpers));
    }

    private static void add(Map<String, Group> groups, String key, Rule v, java.util.function.Supplier<Group> make) {
        groups.computeIfAbsent(key, k -> make.get()).victims.add(v);
    }

    private static Group shadowed(Rule v, Rule s, List<Rule> deeper, List<Rule> helpers) {
        List<Finding.Related> related = new ArrayList<>();
        related.add(new Finding.Related(s.line(), "shadowing rule"));
        StringBuilder m = new StringBuilder("this rule can never match: ");
        if (!helpers.isEmpty() && helpers.size() <= MAX_CONTRIBUTORS) {
            List<Integer> all = new ArrayList<>(helpers.stream().map(Rule::line).toList());
            all.add(s.line());
            m.append(Linter.lines(all)).append(" together catch every packet it would: ");
            for (Rule h : helpers) {
                m.append("line ").append(h.line()).append(" (").append(h.text()).append("), ");
                related.add(new Finding.Related(h.line(), "takes part of its packets"));
            }
            m.append("line ").append(s.line()).append(" (").append(s.text()).append(")");
            return new Group(v, m.toString(), related);
        }
        String sText = "line " + s.line() + " (" + s.text() + ")";
        switch (s.kind) {
            case JUMP -> {
                m.append(sText).append(" sends every packet it would see to ").append(s.target.name);
                if (!deeper.isEmpty()) {
                    Rule last = deeper.get(deeper.size() - 1);
                    m.append(", which decides every one of them (the last at line ").append(last.line()).append(": ")
                            .append(last.text()).append(")");
                    for (Rule d : deeper) related.add(new Finding.Related(d.line(), "decides in " + d.chain.name));
                } else {
                    m.append(", which decides them all");
                }
            }
            case GOTO -> m.append(sText).append(" sends every packet it would see to ").append(s.target.name)
                    .append(" with -g (goto): they never come back to this chain");
            case RETURN -> m.append(sText).append(" returns every packet it would see to the calling chain");
            default -> {
                if (s.text().substring(s.text().indexOf(' ', 3) + 1).equals(v.text().substring(v.text().indexOf(' ', 3) + 1))) {
                    m.append("it repeats ").append(sText).append(", which already takes every packet it would");
                } else {
                    m.append(sText).append(" catches every packet it would");
                }
            }
        }
        if (!helpers.isEmpty()) {
            m.append(" (with ").append(helpers.size()).append(" earlier rules that take part of them)");
        }
        return new Group(v, m.toString(), related);
    }

    /** Why no packet v matches enters v's chain: the hook has none, or each call site's own reason. */
    private static Group notEntered(Model model, Walker walker, Rule v, StringBuilder key) {
        Chain chain = v.chain;
        if (chain.builtin()) {
            Box hook = model.space.hook(chain.table, chain.name);
            String why = "";
            for (int f = 0; f < Box.FIELDS; f++) {
                if (!hook.get(f).intersects(v.box.get(f))) {
                    why = f == Box.OIF ? ": packets there have no output interface yet"
                            : f == Box.IIF ? ": packets there have no input interface"
                            : f == Box.CT ? ": the " + chain.table + " table sees only the first packet of a connection"
                            : "";
                    break;
                }
            }
            return new Group(v, "this rule can never match: no packet in " + chain.name + " (table " + chain.table + ") has what it asks for" + why,
                    List.of());
        }
        List<Finding.Related> related = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        for (Rule j : chain.callers) {
            related.add(new Finding.Related(j.line(), "jumps to " + chain.name));
            Box b = j.kind == Kind.WILDCARD ? v.box : j.box == null ? null : v.box.and(j.box);
            String reason;
            if (b == null) {
                reason = "line " + j.line() + " (" + j.text() + ") sends none of them";
                key.append(",x").append(j.line());
            } else {
                Region e = walker.entry(j.chain, b);
                Walker.Walk w = e.isEmpty() ? null : walker.range(j.chain, 0, j.index, null, e, null, null);
                if (w == null || w.emptiers().isEmpty()) {
                    reason = "no packet it matches reaches line " + j.line() + " (" + j.text() + ")";
                    key.append(",n").append(j.line());
                } else {
                    Rule s = w.emptiers().get(0);
                    reason = "line " + s.line() + " (" + s.text() + ") takes them all before line " + j.line() + " (" + j.text() + ")";
                    related.add(new Finding.Related(s.line(), "takes them before line " + j.line()));
                    key.append(",s").append(s.line());
                }
            }
            if (reasons.size() < 3) reasons.add(reason);
        }
        List<Integer> callers = chain.callers.stream().map(Rule::line).toList();
        String m = "this rule can never match: chain " + chain.name + " is entered only from " + Linter.lines(callers) + ", and "
                + (callers.size() == 1 ? "" : "none lets in the packets it matches: ") + String.join("; ", reasons)
                + (chain.callers.size() > 3 ? "; and so on for the other " + (chain.callers.size() - 3) : "");
        return new Group(v, m, related);
    }

    private static int[] stateless(Model model, Rule v) {
        return java.util.Arrays.stream(v.literals).filter(l -> !model.stateful(l)).toArray();
    }

    /** The last rule before {@code index} that may change what a later condition sees (-1: none). */
    private static int lastModifier(Chain chain, int index) {
        for (int i = index - 1; i >= 0; i--) {
            Rule r = chain.rules.get(i);
            if (r.modifiesDeep() || r.kind == Kind.WILDCARD || r.kind == Kind.UNKNOWN) return i;
        }
        return -1;
    }
}
