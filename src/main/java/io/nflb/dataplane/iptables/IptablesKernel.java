package io.nflb.dataplane.iptables;

import io.nflb.host.Exec;
import io.nflb.host.KernelException;
import io.nflb.model.IpAddress.Family;

import java.util.ArrayList;
import java.util.List;

/**
 * Puts an {@link IptablesRuleset} into the kernel the way kube-proxy does: nflb owns the NFLB-* chains and
 * its jumps in built-in chains, and each change is one iptables-restore --noflush transaction computed
 * against what iptables-save shows, so foreign rules are never rewritten.
 */
public final class IptablesKernel {

    private final IptablesTool tool;

    /** The real iptables (or ip6tables) of {@code family}, run through {@code exec}. */
    public IptablesKernel(Exec exec, Family family) {
        this(IptablesTool.of(exec, family));
    }

    public IptablesKernel(IptablesTool tool) {
        this.tool = tool;
    }

    public Family family() {
        return tool.family();
    }

    /** The exact restore input that brings {@code live} (iptables-save text, "" when empty) to {@code wanted}. */
    public static String transaction(IptablesRuleset wanted, String live) {
        return IptablesTransaction.between(wanted, SavedTables.parse(live)).text();
    }

    /**
     * Returns the transaction that ran (empty when nothing had to change). Reads the live tables, runs the
     * transaction, and reads back to check that nflb's chains and jumps now equal {@code wanted}. When the
     * kernel refuses, the rules are as they were (each table is one kernel transaction, and a table committed
     * before the refused one is put back; its rewritten chains' counters restart). No --test run first: it
     * costs as much as the real one and misses what only the kernel refuses, which the put-back covers anyway.
     * If the read-back differs (the renderer wrote a rule in another form than iptables-save prints it), the
     * change stays applied and the KernelException lists what would still have to change.
     */
    public synchronized IptablesTransaction apply(IptablesRuleset wanted) {
        return apply(wanted, SavedTables.parse(tool.save(false)));
    }

    /** {@link #apply(IptablesRuleset)} against {@code before}, what iptables-save printed just now. */
    synchronized IptablesTransaction apply(IptablesRuleset wanted, SavedTables before) {
        if (wanted.family() != tool.family()) {
            throw new IllegalArgumentException("ruleset for " + wanted.family() + " given to the " + tool.family() + " kernel");
        }
        IptablesTransaction tx = IptablesTransaction.between(wanted, before);
        if (tx.isEmpty()) return tx;
        restoreOrPutBack(tx, before);
        verify(wanted, SavedTables.parse(tool.save(false)));
        return tx;
    }

    /** Removes everything of nflb's and nothing else; returns what ran (empty when there was nothing). */
    public synchronized IptablesTransaction flush() {
        IptablesRuleset nothing = new IptablesRuleset(tool.family(), List.of());
        SavedTables before = SavedTables.parse(tool.save(false));
        IptablesTransaction tx = IptablesTransaction.between(nothing, before);
        if (tx.isEmpty()) return tx;
        restoreOrPutBack(tx, before);
        verify(nothing, SavedTables.parse(tool.save(false)));
        return tx;
    }

    /**
     * iptables-restore commits each table at its COMMIT line, so a refusal in a later table leaves the
     * earlier ones changed (verified with iptables-nft and -legacy 1.8.9): nflb's earlier tables are then put
     * back as they were. A refusal in the first (or only) table changed nothing.
     */
    private void restoreOrPutBack(IptablesTransaction tx, SavedTables before) {
        try {
            tool.restore(tx.text());
        } catch (KernelException refused) {
            if (tx.tables().size() < 2) throw refused;
            try {
                IptablesTransaction back = IptablesTransaction.between(installed(before, tool.family()), SavedTables.parse(tool.save(false)));
                if (!back.isEmpty()) tool.restore(back.text());
            } catch (RuntimeException e) {
                refused.addSuppressed(e);
                throw refused;
            }
            throw new KernelException(refused.getMessage() + " (tables committed before the refusal were put back)",
                    refused.toolOutput(), refused.line(), refused.lineText());
        }
    }

    /** What nflb has in the kernel now, as a ruleset: apply(installed()) is a no-op. */
    public IptablesRuleset installed() {
        return installed(SavedTables.parse(tool.save(false)), tool.family());
    }

    /** nflb's chains, their rules and its jumps in {@code saved}; duplicated jumps count once. */
    public static IptablesRuleset installed(SavedTables saved, Family family) {
        List<IptablesRuleset.Table> tables = new ArrayList<>();
        for (SavedTables.Table t : saved.tables().values()) {
            List<String> chains = new ArrayList<>();
            List<String> rules = new ArrayList<>();
            java.util.Set<IptablesRuleset.Jump> jumps = new java.util.LinkedHashSet<>();
            for (SavedTables.Chain c : t.chains().values()) {
                if (IptablesNames.isOwnChain(c.name())) {
                    chains.add(c.name());
                    rules.addAll(c.ruleTexts());
                } else if (IptablesNames.holdsJumps(t.name(), c.name())) {
                    for (SavedTables.Rule r : c.rules()) {
                        if (IptablesNames.targetsOwnChain(r.text())) jumps.add(new IptablesRuleset.Jump(c.name(), r.spec()));
                    }
                }
            }
            if (!chains.isEmpty() || !jumps.isEmpty()) {
                tables.add(new IptablesRuleset.Table(t.name(), chains, List.copyOf(jumps), rules));
            }
        }
        return new IptablesRuleset(family, tables);
    }

    /** Packet and byte counts of nflb's rules, as the kernel reports them. */
    public List<RuleCounters> counters() {
        return counters(SavedTables.parse(tool.save(true)));
    }

    /** The counters of nflb's rules in iptables-save -c output. */
    public static List<RuleCounters> counters(SavedTables saved) {
        List<RuleCounters> out = new ArrayList<>();
        for (SavedTables.Table t : saved.tables().values()) {
            for (SavedTables.Chain c : t.chains().values()) {
                boolean ours = IptablesNames.isOwnChain(c.name());
                for (SavedTables.Rule r : c.rules()) {
                    if (ours || (IptablesNames.holdsJumps(t.name(), c.name()) && IptablesNames.targetsOwnChain(r.text()))) {
                        out.add(new RuleCounters(t.name(), c.name(), r.text(), IptablesDialect.comment(r.text()), r.packets(), r.bytes()));
                    }
                }
            }
        }
        return out;
    }

    /** The kernel's own dump of the family's tables, for diagnostics. */
    public String save() {
        return tool.save(false);
    }

    private static void verify(IptablesRuleset wanted, SavedTables now) {
        IptablesTransaction left = IptablesTransaction.between(wanted, now);
        if (!left.isEmpty()) {
            throw new KernelException("the kernel accepted the transaction but does not print what was wanted"
                    + " (rules must be written exactly as iptables-save prints them); still needed:\n" + left.text());
        }
    }

}
