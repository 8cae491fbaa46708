package io.nflb.cli;

import io.nflb.explain.Explainer;
import io.nflb.explain.Explanation;
import io.nflb.explain.NftExplainer;
import io.nflb.explain.NftServiceShares;
import io.nflb.model.BackendKind;
import io.nflb.model.Config;
import io.nflb.model.Json;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;
import io.nflb.plan.Rational;
import io.nflb.plan.ServicePlan;
import io.nflb.render.IptablesRenderer;
import io.nflb.render.IptablesRuleset;
import io.nflb.render.NftRenderer;
import io.nflb.daemon.Dataplanes;
import io.nflb.kernel.Exec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "explain", description = {
        "Show the share of new connections each backend gets, computed by evaluating the generated rules.",
        "The rules themselves are evaluated, in exact arithmetic with the kernel's own fixed-point "
                + "probabilities, and each share is shown next to its weight."})
final class ExplainCommand implements Callable<Integer> {

    @Mixin
    ConfigOption config;

    @Mixin
    JsonOption output;

    @Override
    public Integer call() throws Exception {
        Config c = config.load();
        Plan plan = Planner.plan(c);
        // With backend: auto, explain the rules apply would load here, not the iptables ones by default.
        if (Dataplanes.resolve(c.backend(), Exec.host()) == BackendKind.NFTABLES) {
            System.out.print(explainNft(plan, output.json));
            return Main.OK;
        }
        Explanation e = explain(plan);
        System.out.print(output.json ? e.toJson() + "\n" : e.toText());
        return Main.OK;
    }

    /** The nft script's own lookups evaluated: each backend's exact share of the slots it is given. */
    static String explainNft(Plan plan, boolean json) {
        List<NftServiceShares> all = NftExplainer.explain(NftRenderer.render(plan));
        StringBuilder text = new StringBuilder();
        StringBuilder js = new StringBuilder("{\"services\":[");
        for (int i = 0; i < plan.services().size(); i++) {
            ServicePlan s = plan.services().get(i);
            NftServiceShares shares = all.stream().filter(x -> x.service().equals(s.name())).findFirst().orElseThrow();
            long total = s.backends().stream().mapToLong(b -> b.weight()).sum();
            text.append("service ").append(s.name()).append(" (").append(s.service().scheduler().keyword()).append(", nftables)\n");
            text.append(String.format(java.util.Locale.ROOT, "  %-40s %6s %14s %14s%n", "backend", "weight", "expected", "from rules"));
            js.append(i > 0 ? "," : "").append("{\"name\":").append(Json.str(s.name())).append(",\"backends\":[");
            for (int b = 0; b < s.backends().size(); b++) {
                var bp = s.backends().get(b);
                Rational expected = Rational.of(bp.weight(), total);
                Rational actual = shares.shares().getOrDefault(bp.backend().endpoint(), Rational.ZERO);
                text.append(String.format(java.util.Locale.ROOT, "  %-40s %6d %13s%% %13s%%%n", bp.backend().endpoint(), bp.weight(),
                        expected.multiply(Rational.of(100)).toDecimal(4), actual.multiply(Rational.of(100)).toDecimal(4)));
                js.append(b > 0 ? "," : "").append("{\"endpoint\":").append(Json.str(bp.backend().endpoint()))
                        .append(",\"weight\":").append(bp.weight()).append(",\"expected\":").append(Json.str(expected.toString()))
                        .append(",\"actual\":").append(Json.str(actual.toString())).append('}');
            }
            if (!shares.cycle().isEmpty()) text.append("  cycle of ").append(shares.cycle().size()).append(" connections\n");
            js.append("]}");
        }
        return json ? js.append("]}\n").toString() : text.toString();
    }

    static Explanation explain(Plan plan) {
        List<Explanation.ServiceShares> services = new ArrayList<>();
        for (IptablesRuleset.Family family : IptablesRuleset.Family.values()) {
            services.addAll(Explainer.explain(plan, IptablesRenderer.render(plan, family)).services());
        }
        return new Explanation(services);
    }
}
