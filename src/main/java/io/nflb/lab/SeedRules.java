package io.nflb.lab;

/**
 * The tutorial's own rules, generalised from its two servers to n in the tutorial's own pattern. One change:
 * the tutorial matches -i eth1, the interface facing the servers, where a client's request never arrives;
 * here they match the client-facing interface, so they can match at all and their real flaw shows.
 */
final class SeedRules {

    private SeedRules() {
    }

    /** Every rule draws on its own with 1/n: rule 2 only sees what rule 1 left, and the rest falls through. */
    static String random(int servers) {
        StringBuilder sb = new StringBuilder("*nat\n");
        String p = servers == 2 ? ".50" : String.format(java.util.Locale.ROOT, "%.2f", 1.0 / servers);
        for (int i = 0; i < servers; i++) {
            sb.append("-A PREROUTING -i ").append(Topology.CLIENT_IFACE)
                    .append(" -p tcp --dport 80 -m state --state NEW -m statistic --mode random --probability ").append(p)
                    .append(" -j DNAT --to-destination ").append(Topology.serverAddress(i)).append(":80\n");
        }
        return sb.append("COMMIT\n").toString();
    }

    /** Every rule has its own nth counter, which advances only on packets that reach it. */
    static String nth(int servers) {
        StringBuilder sb = new StringBuilder("*nat\n");
        for (int i = 0; i < servers; i++) {
            sb.append("-A PREROUTING -p tcp -i ").append(Topology.CLIENT_IFACE)
                    .append(" --dport 80 -m state --state NEW -m statistic --mode nth --every ").append(servers)
                    .append(" --packet ").append(i)
                    .append(" -j DNAT --to-destination ").append(Topology.serverAddress(i)).append(":80\n");
        }
        return sb.append("COMMIT\n").toString();
    }
}
