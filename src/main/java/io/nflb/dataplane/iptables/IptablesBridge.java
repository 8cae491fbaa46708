package io.nflb.dataplane.iptables;

import io.nflb.dataplane.ForwardBridge;
import io.nflb.dataplane.NeighbourReader;
import io.nflb.host.Exec;
import io.nflb.host.Tools;
import io.nflb.model.IpAddress.Family;
import io.nflb.plan.Plan;
import io.nflb.state.UnifiedDiff;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * {@link ForwardBridge} in iptables: per family, NFLB-PASS exists exactly while the live filter FORWARD
 * policy is DROP and nflb has traffic of its own to let through. Every other chain of nflb's in iptables (the
 * iptables backend's, if it was used before) is left as it is.
 */
public final class IptablesBridge implements ForwardBridge {

    private final List<IptablesKernel> kernels = new ArrayList<>();
    private final LongSupplier nanoTime;
    /** What the last apply wanted and when it checked the kernel: a daemon's bursts of syncs do not re-read it. */
    private String lastWanted;
    private long checkedAt;

    public IptablesBridge(Exec exec) {
        kernels.add(new IptablesKernel(exec, Family.V4));
        if (Tools.has("ip6tables-restore")) kernels.add(new IptablesKernel(exec, Family.V6));
        this.nanoTime = System::nanoTime;
    }

    /** Over given kernels (the tests' in-memory tools). */
    public IptablesBridge(List<IptablesKernel> kernels, LongSupplier nanoTime) {
        this.kernels.addAll(kernels);
        this.nanoTime = nanoTime;
    }

    /** nflb's iptables rules in {@code live} with the bridge chain as {@code plan} needs it there. */
    static IptablesRuleset wanted(Plan plan, Family family, SavedTables live) {
        IptablesRuleset installed = IptablesKernel.installed(live, family);
        SavedTables.Table filter = live.tables().get("filter");
        SavedTables.Chain forward = filter == null ? null : filter.chains().get("FORWARD");
        Optional<IptablesRuleset.Table> pass = forward != null && forward.policy().equals("DROP")
                ? IptablesFirewallRenderer.forwardPass(plan, family) : Optional.empty();
        List<IptablesRuleset.Table> tables = new ArrayList<>();
        boolean filterSeen = false;
        for (IptablesRuleset.Table t : installed.tables()) {
            if (!t.name().equals("filter")) {
                tables.add(t);
                continue;
            }
            filterSeen = true;
            tables.add(withPass(t, pass));
        }
        if (!filterSeen && pass.isPresent()) tables.add(pass.get());
        return new IptablesRuleset(family, tables);
    }

    private static IptablesRuleset.Table withPass(IptablesRuleset.Table t, Optional<IptablesRuleset.Table> pass) {
        List<String> chains = new ArrayList<>(t.chains().stream().filter(c -> !c.equals(IptablesNames.PASS)).toList());
        List<IptablesRuleset.Jump> jumps = new ArrayList<>(t.jumps().stream().filter(j -> !j.spec().endsWith(" -j " + IptablesNames.PASS)).toList());
        List<String> rules = new ArrayList<>(t.rules().stream().filter(r -> !r.startsWith("-A " + IptablesNames.PASS + " ")).toList());
        pass.ifPresent(p -> {
            chains.addAll(p.chains());
            jumps.addAll(0, p.jumps());
            rules.addAll(p.rules());
        });
        return new IptablesRuleset.Table(t.name(), chains, jumps, rules);
    }

    @Override
    public synchronized Change apply(Plan plan) {
        String key = String.valueOf(IptablesFirewallRenderer.forwardPass(plan, Family.V4)) + IptablesFirewallRenderer.forwardPass(plan, Family.V6);
        long now = nanoTime.getAsLong();
        if (key.equals(lastWanted) && now - checkedAt < NeighbourReader.FRESH_FOR.toNanos()) return new Change("", "", () -> { });
        StringBuilder sent = new StringBuilder();
        List<String> summary = new ArrayList<>();
        List<Runnable> undo = new ArrayList<>();
        try {
            for (IptablesKernel k : kernels) {
                SavedTables live = SavedTables.parse(k.save());
                IptablesRuleset before = IptablesKernel.installed(live, k.family());
                IptablesRuleset want = wanted(plan, k.family(), live);
                IptablesTransaction tx = k.apply(want, live);
                if (tx.isEmpty()) continue;
                undo.add(0, () -> k.apply(before));
                sent.append(tx.text());
                boolean present = want.tables().stream().anyMatch(t -> t.chains().contains(IptablesNames.PASS));
                summary.add(IptablesTool.command(k.family()) + ": " + (present
                        ? "FORWARD policy DROP: " + IptablesNames.PASS + " accepts nflb's own traffic"
                        : IptablesNames.PASS + " removed"));
            }
        } catch (RuntimeException e) {
            undo.forEach(Runnable::run);
            throw e;
        }
        lastWanted = key;
        checkedAt = now;
        return new Change(String.join("; ", summary), sent.toString(), () -> undo.forEach(Runnable::run));
    }

    @Override
    public String plan(Plan plan) {
        StringBuilder sb = new StringBuilder();
        for (IptablesKernel k : kernels) {
            SavedTables live = SavedTables.parse(k.save());
            String tx = IptablesTransaction.between(wanted(plan, k.family(), live), live).text();
            if (!tx.isEmpty()) sb.append("# ").append(IptablesTool.command(k.family())).append("-restore --noflush\n").append(tx);
        }
        return sb.toString();
    }

    @Override
    public String diff(Plan plan, String source) {
        StringBuilder sb = new StringBuilder();
        for (IptablesKernel k : kernels) {
            SavedTables live = SavedTables.parse(k.save());
            String have = chain(IptablesKernel.installed(live, k.family()));
            String want = chain(wanted(plan, k.family(), live));
            if (have.equals(want)) continue;
            String tool = IptablesTool.command(k.family());
            sb.append(UnifiedDiff.of(tool + " " + IptablesNames.PASS + " (live)", have, tool + " " + IptablesNames.PASS + " (" + source + ")", want));
        }
        return sb.toString();
    }

    private static String chain(IptablesRuleset r) {
        StringBuilder sb = new StringBuilder();
        for (IptablesRuleset.Table t : r.tables()) {
            for (IptablesRuleset.Jump j : t.jumps()) {
                if (j.spec().endsWith(" -j " + IptablesNames.PASS)) sb.append("-A ").append(j.chain()).append(' ').append(j.spec()).append('\n');
            }
            for (String rule : t.rules()) if (rule.startsWith("-A " + IptablesNames.PASS + " ")) sb.append(rule).append('\n');
        }
        return sb.toString();
    }

    @Override
    public synchronized Change flush() {
        lastWanted = null;
        StringBuilder sent = new StringBuilder();
        for (IptablesKernel k : kernels) {
            SavedTables live = SavedTables.parse(k.save());
            IptablesRuleset installed = IptablesKernel.installed(live, k.family());
            List<IptablesRuleset.Table> tables = new ArrayList<>();
            for (IptablesRuleset.Table t : installed.tables()) tables.add(t.name().equals("filter") ? withPass(t, Optional.empty()) : t);
            IptablesTransaction tx = k.apply(new IptablesRuleset(k.family(), tables), live);
            sent.append(tx.text());
        }
        return new Change(sent.length() == 0 ? "" : "iptables: " + IptablesNames.PASS + " removed", sent.toString(), () -> { });
    }
}
