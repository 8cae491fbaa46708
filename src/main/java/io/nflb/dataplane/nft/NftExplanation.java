package io.nflb.dataplane.nft;

import io.nflb.explain.ShareReport;
import io.nflb.model.Json;
import io.nflb.plan.BackendPlan;
import io.nflb.plan.Plan;
import io.nflb.plan.Rational;
import io.nflb.plan.ServicePlan;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The nft script's own lookups evaluated: each backend's exact share of the slots it is given, next to its weight. */
record NftExplanation(Plan plan, List<NftServiceShares> evaluated) implements ShareReport {

    static NftExplanation of(Plan plan, NftScript script) {
        return new NftExplanation(plan, NftExplainer.explain(script));
    }

    @Override
    public Map<String, Rational> shares(String service) {
        return of(service).shares();
    }

    private NftServiceShares of(String service) {
        return evaluated.stream().filter(x -> x.service().equals(service)).findFirst()
                .orElseThrow(() -> new IllegalStateException("the rules do not balance service " + service));
    }

    @Override
    public String toText() {
        StringBuilder text = new StringBuilder();
        for (ServicePlan s : plan.services()) {
            NftServiceShares shares = of(s.name());
            long total = s.backends().stream().mapToLong(BackendPlan::weight).sum();
            text.append("service ").append(s.name()).append(" (").append(s.service().scheduler().keyword()).append(", nftables)\n");
            text.append(String.format(Locale.ROOT, "  %-40s %6s %14s %14s%n", "backend", "weight", "expected", "from rules"));
            for (BackendPlan bp : s.backends()) {
                Rational expected = Rational.of(bp.weight(), total);
                Rational actual = shares.shares().getOrDefault(bp.backend().endpoint(), Rational.ZERO);
                text.append(String.format(Locale.ROOT, "  %-40s %6d %13s%% %13s%%%n", bp.backend().endpoint(), bp.weight(),
                        expected.multiply(Rational.of(100)).toDecimal(4), actual.multiply(Rational.of(100)).toDecimal(4)));
            }
            if (!shares.cycle().isEmpty()) text.append("  cycle of ").append(shares.cycle().size()).append(" connections\n");
        }
        return text.toString();
    }

    @Override
    public String toJson() {
        StringBuilder js = new StringBuilder("{\"services\":[");
        for (int i = 0; i < plan.services().size(); i++) {
            ServicePlan s = plan.services().get(i);
            NftServiceShares shares = of(s.name());
            long total = s.backends().stream().mapToLong(BackendPlan::weight).sum();
            js.append(i > 0 ? "," : "").append("{\"name\":").append(Json.str(s.name())).append(",\"backends\":[");
            for (int b = 0; b < s.backends().size(); b++) {
                BackendPlan bp = s.backends().get(b);
                Rational expected = Rational.of(bp.weight(), total);
                Rational actual = shares.shares().getOrDefault(bp.backend().endpoint(), Rational.ZERO);
                js.append(b > 0 ? "," : "").append("{\"endpoint\":").append(Json.str(bp.backend().endpoint()))
                        .append(",\"weight\":").append(bp.weight()).append(",\"expected\":").append(Json.str(expected.toString()))
                        .append(",\"actual\":").append(Json.str(actual.toString())).append('}');
            }
            js.append("]}");
        }
        return js.append("]}").toString();
    }
}
