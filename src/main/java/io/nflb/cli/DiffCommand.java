package io.nflb.cli;

import io.nflb.daemon.Dataplane;
import io.nflb.daemon.Dataplanes;
import io.nflb.kernel.IptablesKernel;
import io.nflb.kernel.NftKernel;
import io.nflb.kernel.SavedTables;
import io.nflb.render.IptablesRuleset;
import io.nflb.kernel.Tools;
import io.nflb.model.Config;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import io.nflb.render.IptablesRenderer;
import io.nflb.render.IptablesRuleset.Family;
import io.nflb.render.NftRenderer;
import io.nflb.render.NftState;
import io.nflb.state.UnifiedDiff;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "diff", description = {
        "Show what apply would change in nflb's rules, as a unified diff of nflb's live rules against the config's.",
        "Lines with - go, lines with + come; '# nothing would change' when apply would send nothing."})
final class DiffCommand implements Callable<Integer> {

    @Mixin
    ConfigOption config;

    @Mixin
    NetnsOption netns;

    @Override
    public Integer call() throws Exception {
        Config c = config.load();
        Plan plan = Planner.plan(c);
        Dataplane dp = Dataplanes.forKind(c.backend(), netns.exec());
        StringBuilder out = new StringBuilder();
        if (dp.name().equals("iptables")) {
            for (Family f : Family.values()) {
                if (f == Family.IPV6 && !Tools.has("ip6tables-restore")) continue;
                IptablesKernel k = new IptablesKernel(netns.exec(), f);
                String save = k.save();
                IptablesRuleset want = IptablesRenderer.render(plan, f);
                if (IptablesKernel.transaction(want, save).isEmpty()) continue; // the kernel's own word: nothing to do
                String live = canonical(IptablesKernel.installed(SavedTables.parse(save), f));
                String wanted = canonical(want);
                out.append(UnifiedDiff.of(f.tool() + " (live, nflb's chains)", live, f.tool() + " (" + config.file + ")", wanted));
            }
        } else {
            String live = new NftKernel(netns.exec()).read().map(DiffCommand::sorted).map(NftState::toText).orElse("");
            String wanted = sorted(NftRenderer.render(plan).state()).toText();
            out.append(UnifiedDiff.of("table inet nflb (live)", live, "table inet nflb (" + config.file + ")", wanted));
        }
        // Other dataplanes' rules that apply would leave behind are not nflb's concern here: apply never removes them either.
        System.out.print(out.length() == 0 ? "# nothing would change\n" : out);
        return Main.OK;
    }

    /** Tables and chains by name (iptables-save's order is not nflb's), each chain's rules in their order. */
    private static String canonical(IptablesRuleset r) {
        StringBuilder sb = new StringBuilder();
        List<IptablesRuleset.Table> tables = new ArrayList<>(r.tables());
        tables.sort(java.util.Comparator.comparing(IptablesRuleset.Table::name));
        for (IptablesRuleset.Table t : tables) {
            sb.append('*').append(t.name()).append('\n');
            List<String> chains = new ArrayList<>(t.chains());
            chains.sort(null);
            for (String c : chains) sb.append(':').append(c).append(" - [0:0]\n");
            for (IptablesRuleset.Jump j : t.jumps()) sb.append("-A ").append(j.chain()).append(' ').append(j.spec()).append('\n');
            for (String c : chains) {
                for (String rule : t.rules()) if (rule.startsWith("-A " + c + " ")) sb.append(rule).append('\n');
            }
            sb.append("COMMIT\n");
        }
        return sb.toString();
    }

    /** nft lists hash-set elements in no particular order: sorted, they compare line by line. */
    private static NftState sorted(NftState s) {
        var sets = new LinkedHashMap<String, NftState.NftSet>();
        for (NftState.NftSet set : s.sets().values()) {
            List<String> e = new ArrayList<>(set.dynamic() ? List.of() : set.elements());
            e.sort(null);
            sets.put(set.name(), new NftState.NftSet(set.name(), set.map(), set.header(), e));
        }
        return new NftState(s.counters(), sets, s.chains());
    }
}
