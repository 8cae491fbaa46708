package io.nflb.lint;

import io.nflb.dataplane.iptables.NetworkNames;
import io.nflb.dataplane.iptables.RuleParser;
import io.nflb.explain.ConnectionProbe;
import io.nflb.explain.Distribution;
import io.nflb.explain.Evaluator;
import io.nflb.explain.Match;
import io.nflb.explain.RuleSet;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Reads any iptables-save dump (rules nflb did not write) and reports what it can prove, on a small model of
 * the filter and nat paths ({@link Model}, {@link Walker}): every line understood or reported; rules that can
 * never match, across chains, one finding per cause ({@link Shadowing}); balancing groups with the exact share
 * each target gets, evaluated with their own traffic through endpoint chains ({@link Groups}); DNAT with no
 * FORWARD path ({@link DnatPaths}); state matches that do nothing in nat. A condition it does not model may
 * match (three-valued logic), so it never makes a false claim; a budget of rule visits bounds the work.
 */
public final class Linter {

    /** Tables lint analyses; rules of others are read and counted only. */
    static final Set<String> TABLES = Set.of("raw", "mangle", "filter", "nat", "security");

    /**
     * {@code names}: where service and protocol names come from; {@code budget}: rule visits allowed for the
     * whole analysis (every part stops with a note past it).
     */
    public record Options(NetworkNames names, long budget) {
        public static final long DEFAULT_BUDGET = 50_000_000L;

        /** This machine's /etc/services (as iptables read them), then netbase's names. */
        public static Options system() {
            return new Options(NetworkNames.system(), DEFAULT_BUDGET);
        }

        /** netbase's names only: what tests use, so results never depend on the host. */
        public static Options builtIn() {
            return new Options(NetworkNames.builtIn(), DEFAULT_BUDGET);
        }
    }

    private Linter() {
    }

    public static LintReport lint(String text) {
        return lint("", text, Options.system());
    }

    /** {@code artifact}: how the dump is named in the report (a path as given, "stdin", "iptables-save"). */
    public static LintReport lint(String artifact, String text, Options options) {
        RuleSet dump = RuleParser.ruleSet(text, options.names());
        Optional<RuleSet.Problem> structural = dump.problems().stream().filter(p -> p.kind() == RuleSet.Problem.Kind.STRUCTURE).findFirst();
        if (structural.isPresent()) {
            RuleSet.Problem p = structural.get();
            return LintReport.unusable(artifact, text, new LintReport.Fatal(p.line(), p.column(), p.message()));
        }
        List<Finding> findings = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        int rules = 0;
        int notUnderstood = 0;
        int refused = 0;
        for (RuleSet.Problem p : dump.problems()) findings.add(problem(p, ""));
        for (RuleSet.Table t : dump.tables().values()) {
            for (RuleSet.Chain c : t.chains().values()) {
                for (RuleSet.Rule r : c.rules()) {
                    rules++;
                    if (r.understood()) continue;
                    notUnderstood++;
                    boolean refusedRule = r.problems().stream().anyMatch(p -> p.kind() == RuleSet.Problem.Kind.REFUSED);
                    if (refusedRule) refused++;
                    findings.add(ruleProblems(r, refusedRule));
                }
            }
        }
        Model model = new Model(dump);
        Walker walker = new Walker(model, options.budget());
        List<LintReport.Group> groups = new ArrayList<>();
        Shadowing.run(model, walker, findings, notes);
        Groups.run(model, walker, dump, findings, groups, notes);
        DnatPaths.run(model, walker, findings, notes);
        stateInNat(model, findings);
        for (Model.Rule loop : model.loops) {
            findings.add(new Finding(loop.line(), loop.source.column(), Finding.Severity.ERROR, "rejected-by-iptables",
                    "this jump makes a loop (" + loop.chain.name + " -> " + loop.loopTarget.name + " -> ... -> " + loop.chain.name
                            + "): iptables-restore refuses the file; lint treats the jump as one that may do anything",
                    loop.text(), List.of(), List.of(loop.line())));
        }
        if (model.space.capped > 0) {
            notes.add("some packet classes needed more than " + Region.CAP + " boxes and were simplified " + model.space.capped
                    + " times: findings can only be missed by this, never made up");
        }
        findings.sort(Comparator.comparingInt(Finding::line).thenComparing(Finding::code));
        groups.sort(Comparator.comparingInt(LintReport.Group::line));
        return new LintReport(artifact, text, Optional.empty(), rules, notUnderstood, refused, model.opaqueRules, findings, groups, notes);
    }

    /** What any iptables-save dump does with new connections like {@code probe}: lint's evaluator, for one packet kind. */
    public static Distribution distribution(String dump, ConnectionProbe probe) {
        return Evaluator.evaluate(RuleParser.ruleSet(dump), probe);
    }

    private static Finding problem(RuleSet.Problem p, String snippet) {
        boolean refused = p.kind() == RuleSet.Problem.Kind.REFUSED;
        return new Finding(p.line(), p.column(), refused ? Finding.Severity.ERROR : Finding.Severity.WARNING,
                refused ? "rejected-by-iptables" : "not-understood", p.message(), snippet, List.of(), List.of(p.line()));
    }

    /** One finding per rule not understood: the first word and why, then any others. */
    private static Finding ruleProblems(RuleSet.Rule r, boolean refused) {
        RuleSet.Problem first = r.problems().stream().filter(p -> !refused || p.kind() == RuleSet.Problem.Kind.REFUSED).findFirst().orElseThrow();
        StringBuilder message = new StringBuilder(first.message());
        for (RuleSet.Problem p : r.problems()) {
            if (p != first) message.append("; also at column ").append(p.column()).append(": ").append(p.message());
        }
        message.append(refused ? "; iptables-restore would refuse the whole file" : "")
                .append(". Lint treats this rule as one that may match anything and do anything");
        return new Finding(r.line(), first.column(), refused ? Finding.Severity.ERROR : Finding.Severity.WARNING,
                refused ? "rejected-by-iptables" : "not-understood", message.toString(), r.text(), List.of(), List.of(r.line()));
    }

    /** The nat table sees only a connection's first packet, so a NEW state match there is always true. */
    private static void stateInNat(Model model, List<Finding> findings) {
        Model.Table nat = model.tables.get("nat");
        if (nat == null) return;
        for (Model.Chain c : nat.chains.values()) {
            for (Model.Rule r : c.rules) {
                if (r.kind == Model.Kind.WILDCARD) continue;
                for (Match m : r.source.matches()) {
                    if (m instanceof Match.State s && !s.negated() && s.states().contains("NEW")) {
                        findings.add(new Finding(r.line(), r.source.column(), Finding.Severity.WARNING, "state-new-in-nat",
                                "--state NEW in the nat table changes nothing: nat only sees the first packet of each connection",
                                r.text(), List.of(), List.of(r.line())));
                    }
                }
            }
        }
    }

    /** "lines 8-21, 23" */
    static String lines(List<Integer> lines) {
        List<Integer> sorted = lines.stream().sorted().distinct().toList();
        StringBuilder sb = new StringBuilder(sorted.size() == 1 ? "line " : "lines ");
        for (int i = 0; i < sorted.size(); ) {
            int j = i;
            while (j + 1 < sorted.size() && sorted.get(j + 1) == sorted.get(j) + 1) j++;
            if (i > 0) sb.append(", ");
            sb.append(sorted.get(i));
            if (j > i) sb.append('-').append(sorted.get(j));
            i = j + 1;
        }
        return sb.toString();
    }
}
