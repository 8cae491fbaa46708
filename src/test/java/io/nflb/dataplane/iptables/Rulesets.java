package io.nflb.dataplane.iptables;

import io.nflb.dataplane.iptables.IptablesRuleset.Jump;
import io.nflb.model.IpAddress.Family;

import java.util.ArrayList;
import java.util.List;

/**
 * Hand-written rulesets in the shape the renderer produces (kube-proxy style: portals, a service chain with
 * statistic rules, one DNAT chain per backend), in the exact text iptables-save 1.8.9 prints.
 */
final class Rulesets {

    static final String PORTALS = "-m comment --comment \"nflb service portals\" -j NFLB-SERVICES";

    private Rulesets() {
    }

    /** Service web on 10.99.0.1:80 over three backends, and optionally db on 10.99.0.10:5432 over one. */
    static IptablesRuleset web(boolean withDb) {
        return web(withDb, "0.33333333349");
    }

    static IptablesRuleset web(boolean withDb, String firstProbability) {
        List<String> chains = new ArrayList<>(List.of("NFLB-SERVICES", "NFLB-SVC-web", "NFLB-SEP-web-0", "NFLB-SEP-web-1", "NFLB-SEP-web-2"));
        List<String> rules = new ArrayList<>();
        rules.add("-A NFLB-SERVICES -d 10.99.0.1/32 -p tcp -m comment --comment \"web portal\" -m tcp --dport 80 -j NFLB-SVC-web");
        if (withDb) {
            chains.addAll(List.of("NFLB-SVC-db", "NFLB-SEP-db-0"));
            rules.add("-A NFLB-SERVICES -d 10.99.0.10/32 -p tcp -m comment --comment \"db portal\" -m tcp --dport 5432 -j NFLB-SVC-db");
        }
        rules.add(backendChoice("web", 0, "10.99.0.2:8080", "-m statistic --mode random --probability " + firstProbability + " "));
        rules.add(backendChoice("web", 1, "10.99.0.3:8080", "-m statistic --mode random --probability 0.50000000000 "));
        rules.add(backendChoice("web", 2, "10.99.0.4:8080", ""));
        for (int i = 0; i < 3; i++) rules.add(dnat("web", i, "10.99.0." + (i + 2) + ":8080"));
        if (withDb) {
            rules.add(backendChoice("db", 0, "10.99.0.11:5432", ""));
            rules.add(dnat("db", 0, "10.99.0.11:5432"));
        }
        IptablesRuleset.Table nat = new IptablesRuleset.Table("nat", chains,
                List.of(new Jump("PREROUTING", PORTALS), new Jump("OUTPUT", PORTALS)), rules);
        IptablesRuleset.Table filter = new IptablesRuleset.Table("filter", List.of("NFLB-FORWARD"),
                List.of(new Jump("FORWARD", "-m comment --comment \"nflb forward\" -j NFLB-FORWARD")),
                List.of("-A NFLB-FORWARD -m conntrack --ctstate DNAT -m comment --comment \"nflb balanced traffic\" -j ACCEPT"));
        return new IptablesRuleset(Family.V4, List.of(nat, filter));
    }

    static IptablesRuleset nothing() {
        return new IptablesRuleset(Family.V4, List.of());
    }

    static IptablesRuleset withExtraRule(IptablesRuleset base, String table, String rule) {
        List<IptablesRuleset.Table> tables = base.tables().stream().map(t -> {
            if (!t.name().equals(table)) return t;
            List<String> rules = new java.util.ArrayList<>(t.rules());
            rules.add(rule);
            return new IptablesRuleset.Table(t.name(), t.chains(), t.jumps(), rules);
        }).toList();
        return new IptablesRuleset(base.family(), tables);
    }

    private static String backendChoice(String service, int i, String endpoint, String statistic) {
        return "-A NFLB-SVC-" + service + " -m comment --comment \"" + service + " backend " + endpoint + "\" "
                + statistic + "-j NFLB-SEP-" + service + "-" + i;
    }

    private static String dnat(String service, int i, String endpoint) {
        return "-A NFLB-SEP-" + service + "-" + i + " -p tcp -m comment --comment \"" + service + " backend " + endpoint
                + "\" -m tcp -j DNAT --to-destination " + endpoint;
    }
}
