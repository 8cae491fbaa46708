package io.nflb.dataplane.iptables;

import io.nflb.explain.ConnectionProbe;
import io.nflb.explain.Distribution;
import io.nflb.explain.Evaluator;
import io.nflb.explain.Explanation;
import io.nflb.explain.Outcome;
import io.nflb.explain.RuleSet;
import io.nflb.model.Backend;
import io.nflb.model.IpAddress;
import io.nflb.model.Service;
import io.nflb.plan.BackendPlan;
import io.nflb.plan.Plan;
import io.nflb.plan.Rational;
import io.nflb.plan.ServicePlan;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Checks rendered rules against the plan by running them, not by trusting the renderer: each service's
 * shares come from evaluating the rule text the kernel will get.
 */
public final class IptablesExplainer {

    /** Documentation addresses (RFC 5737 / 3849) stand in for clients and for "any address". */
    private static final IpAddress ANY_V4 = IpAddress.parse("203.0.113.10").orElseThrow();
    private static final IpAddress ANY_V6 = IpAddress.parse("2001:db8::10").orElseThrow();
    private static final IpAddress CLIENT_V4 = IpAddress.parse("198.51.100.7").orElseThrow();
    private static final IpAddress CLIENT_V6 = IpAddress.parse("2001:db8:1::7").orElseThrow();
    private static final String ANY_IFACE = "nflb-probe0";

    private IptablesExplainer() {
    }

    /** Both families' rules explained, as apply would load them. */
    static Explanation explain(Plan plan) {
        List<Explanation.ServiceShares> services = new ArrayList<>();
        for (IpAddress.Family family : IpAddress.Family.values()) {
            services.addAll(explain(plan, IptablesRenderer.render(plan, family)).services());
        }
        return new Explanation(services);
    }

    public static Explanation explain(Plan plan, IptablesRuleset rendered) {
        RuleSet dump = RuleParser.ruleSet(IptablesRenderer.restoreText(rendered));
        List<Explanation.ServiceShares> out = new ArrayList<>();
        for (ServicePlan s : plan.services()) {
            if (s.service().family() != rendered.family()) continue;
            out.add(explain(s, dump));
        }
        return new Explanation(out);
    }

    /** The distribution of new connections like {@code probe} under arbitrary iptables-save text. */
    public static Distribution explainText(String iptablesText, ConnectionProbe probe) {
        return Evaluator.evaluate(RuleParser.ruleSet(iptablesText), probe);
    }

    /** A routed client connection to the service, as it enters nat PREROUTING. */
    public static ConnectionProbe probe(Service service) {
        boolean v4 = service.family() == IpAddress.Family.V4;
        IpAddress destination = service.listen().address().orElse(v4 ? ANY_V4 : ANY_V6);
        return new ConnectionProbe(service.protocol(), destination, service.listen().port(),
                Optional.of(service.listen().iface().map(i -> i.endsWith("+") ? i.substring(0, i.length() - 1) + "0" : i).orElse(ANY_IFACE)),
                Optional.of(v4 ? CLIENT_V4 : CLIENT_V6), false);
    }

    private static Explanation.ServiceShares explain(ServicePlan s, RuleSet dump) {
        ConnectionProbe probe = probe(s.service());
        Distribution d = Evaluator.evaluate(dump, probe);
        long total = s.backends().stream().mapToLong(BackendPlan::weight).sum();
        List<Explanation.BackendShare> backends = new ArrayList<>();
        Set<String> endpoints = new HashSet<>();
        for (BackendPlan b : s.backends()) {
            Backend backend = b.backend();
            endpoints.add(backend.endpoint());
            backends.add(new Explanation.BackendShare(backend.endpoint(), b.weight(), Rational.of(b.weight(), total),
                    d.dnatShare(backend.endpoint())));
        }
        Rational unbalanced = Rational.ZERO;
        for (Map.Entry<Outcome, Rational> e : d.shares().entrySet()) {
            Outcome o = e.getKey();
            if (o.kind() == Outcome.Kind.NOT_BALANCED || (o.kind() == Outcome.Kind.DNAT && !endpoints.contains(o.endpoint()))) {
                unbalanced = unbalanced.add(e.getValue());
            }
        }
        List<String> cycle = d.cycle().map(c -> c.stream().map(Outcome::toString).toList()).orElse(List.of());
        return new Explanation.ServiceShares(s.name(), s.service().scheduler(), probe, backends, unbalanced,
                d.share(Outcome.DROPPED), d.period(), cycle, d.exact(), d.notes());
    }
}
