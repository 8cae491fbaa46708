package io.nflb.cli;

import io.nflb.explain.Explainer;
import io.nflb.explain.Explanation;
import io.nflb.model.Config;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import io.nflb.render.IptablesRenderer;
import io.nflb.render.IptablesRuleset;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "explain", description = {
        "Show the share of new connections each backend gets, computed by evaluating the generated rules",
        "themselves (exact arithmetic, the kernel's own fixed-point probabilities), next to the weights."})
final class ExplainCommand implements Callable<Integer> {

    @Mixin
    ConfigOption config;

    @Mixin
    JsonOption output;

    @Override
    public Integer call() throws Exception {
        Config c = config.load();
        Explanation e = explain(Planner.plan(c));
        System.out.print(output.json ? e.toJson() + "\n" : e.toText());
        return Main.OK;
    }

    static Explanation explain(Plan plan) {
        List<Explanation.ServiceShares> services = new ArrayList<>();
        for (IptablesRuleset.Family family : IptablesRuleset.Family.values()) {
            services.addAll(Explainer.explain(plan, IptablesRenderer.render(plan, family)).services());
        }
        return new Explanation(services);
    }
}
