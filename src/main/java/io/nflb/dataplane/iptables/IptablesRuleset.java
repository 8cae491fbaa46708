package io.nflb.dataplane.iptables;

import io.nflb.model.IpAddress.Family;

import java.util.List;

/**
 * Everything nflb wants in the iptables world of one address family: its own chains in full, and the
 * jumps into them from built-in chains. The kernel step turns this into one iptables-restore transaction
 * against whatever is live; nflb never writes anything that is not named here.
 */
public record IptablesRuleset(Family family, List<Table> tables) {


    public IptablesRuleset {
        tables = List.copyOf(tables);
    }

    /**
     * One table, e.g. "nat". {@code chains} are nflb's own chains in declaration order. {@code rules} are
     * complete rule lines for those chains, in order, each starting with "-A NFLB-...". {@code jumps} are the
     * rules nflb needs in built-in chains; each is inserted at the top of its chain once and never duplicated.
     */
    public record Table(String name, List<String> chains, List<Jump> jumps, List<String> rules) {
        public Table {
            chains = List.copyOf(chains);
            jumps = List.copyOf(jumps);
            rules = List.copyOf(rules);
            for (String c : chains) {
                if (!IptablesNames.isOwnChain(c) || c.length() > IptablesNames.MAX_LENGTH) {
                    throw new IllegalArgumentException("not an nflb chain name: " + c);
                }
            }
        }
    }

    /**
     * A rule in a built-in chain, e.g. chain "PREROUTING", spec
     * {@code -m comment --comment "nflb service portals" -j NFLB-SERVICES}. The spec is written exactly as
     * iptables-save prints it, so the kernel step can tell whether it is already there by comparing text.
     */
    public record Jump(String chain, String spec) {
    }
}
