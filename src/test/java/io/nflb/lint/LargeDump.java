package io.nflb.lint;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * A large, realistic iptables-save dump: a university/company border router that is also a small
 * Kubernetes-style load balancer, 7,080 rules in 517 chains for seed 11, with 22 planted problems whose
 * findings it lists. A port of src/test/resources/lint/gen-large.py (whose output was loaded into a kernel and saved back
 * unchanged by check-large.sh there, and by LintNetnsTest): for the same seed it writes the same bytes, so the dump need not be
 * kept in the repository. Everything not planted is built to be free of findings.
 */
final class LargeDump {

    /** SHA-256 of what gen-large.py --seed 11 --subnets 220 writes. */
    static final String SEED_11_SHA256 = "c2330946b63b4d3bf11414547f38784756876724068a358ec6cfcff91f49a888";
    private static final double P31 = 1L << 31;

    /** One planted finding: code, severity, line, related lines, why. */
    record Planted(String code, String severity, int line, List<Integer> related, String why) {
    }

    final String text;
    final List<Planted> planted;
    final int rules;
    final int chains;

    private final PyRandom rnd;
    private final List<String> lines = new ArrayList<>();

    private LargeDump(long seed, int subnets) {
        rnd = new PyRandom(seed);
        planted = build(subnets);
        text = String.join("\n", lines) + "\n";
        rules = (int) lines.stream().filter(l -> l.contains("] -A ")).count();
        chains = (int) lines.stream().filter(l -> l.startsWith(":")).count();
    }

    static LargeDump generate(long seed, int subnets) {
        return new LargeDump(seed, subnets);
    }

    private record Spec(String spec, Object mark) {
    }

    private String counters() {
        if (rnd.random() < 0.35) return "[0:0] ";
        long p = (long) rnd.expovariate(1 / (2000 * 1.0)) + 1;
        return "[" + p + ":" + p * rnd.randint(52, 1400) + "] ";
    }

    private int add(String line) {
        lines.add(line);
        return lines.size();
    }

    static String kernelProbability(double p) {
        long stored = (long) (p * P31 + 0.5);
        return new BigDecimal(stored / P31).setScale(11, RoundingMode.HALF_EVEN).toPlainString();
    }

    private List<Planted> build(int subnets) {
        List<Integer> s = IntStream.rangeClosed(1, subnets).boxed().toList();
        List<Integer> servicesTcp = List.of(22, 25, 53, 80, 110, 143, 443, 465, 587, 993, 995, 1194, 1433, 1521, 2049, 3000, 3306,
                3389, 5432, 5900, 6379, 8000, 8080, 8443, 8888, 9000, 9090, 9200, 11211, 27017);
        List<Integer> servicesUdp = List.of(53, 123, 161, 500, 514, 1194, 1812, 4500, 5060, 51820);
        Set<Integer> plantedRangeShadow = new HashSet<>(rnd.sample(s, 10));
        Set<Integer> plantedLogdrop = new HashSet<>(rnd.sample(s, 5));
        Set<Integer> hostChainSubnets = new HashSet<>(rnd.sample(s, Math.min(s.size(), 100)));
        int dnatBroken = 3;

        Map<String, List<Spec>> chains = new LinkedHashMap<>();
        for (String c : List.of("INPUT", "FORWARD", "OUTPUT", "blocklist", "bogons", "egress", "icmp-ok", "logdrop", "logreject",
                "tcpflags", "admin-ssh")) {
            chains.put(c, new ArrayList<>());
        }
        for (String x : List.of("-i lo -j ACCEPT", "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
                "-m conntrack --ctstate INVALID -j DROP", "-i eth0 -j bogons", "-j blocklist", "-p icmp -j icmp-ok",
                "-p tcp -m tcp --dport 22 -j admin-ssh", "-s 10.255.0.0/24 -p udp -m udp --dport 161 -j ACCEPT",
                "-m limit --limit 10/min -j LOG --log-prefix \"in-drop: \" --log-level 6")) {
            chains.get("INPUT").add(new Spec(x, null));
        }
        for (int i = 0; i < 12; i++) chains.get("admin-ssh").add(new Spec("-s 10.255." + i * 16 + ".0/28 -j ACCEPT", null));
        chains.get("admin-ssh").add(new Spec("-m recent --set --name ssh-probe --mask 255.255.255.255 --rsource -j logdrop", null));
        for (String net : List.of("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "192.0.2.0/24", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4")) {
            chains.get("bogons").add(new Spec("-s " + net + " -j logdrop", null));
        }
        chains.get("bogons").add(new Spec("-j RETURN", null));
        chains.get("blocklist").add(new Spec("-m set --match-set blocklist-v4 src -j logdrop", null));
        Set<String> used = new HashSet<>();
        for (int i = 0; i < 300; i++) {
            String a;
            while (true) {
                int o1 = rnd.choice(List.of(45, 77, 91, 103, 141, 185, 193, 212));
                int o2 = rnd.randint(0, 255);
                int o3 = rnd.randint(0, 255);
                int o4 = rnd.randint(1, 254);
                a = o1 + "." + o2 + "." + o3 + "." + o4;
                if (used.add(a)) break;
            }
            chains.get("blocklist").add(new Spec("-s " + a + "/32 -m comment --comment \"abuse ticket " + (4000 + i) + "\" -j DROP", null));
        }
        chains.get("blocklist").add(new Spec("-j RETURN", null));
        for (String t : List.of("0", "3", "8", "11", "12")) {
            chains.get("icmp-ok").add(new Spec("-p icmp -m icmp --icmp-type " + t + " -m limit --limit 20/sec -j ACCEPT", null));
        }
        chains.get("icmp-ok").add(new Spec("-j logdrop", null));
        chains.get("logdrop").add(new Spec("-m limit --limit 10/min -j LOG --log-prefix \"drop: \" --log-level 6", null));
        chains.get("logdrop").add(new Spec("-j DROP", null));
        chains.get("logreject").add(new Spec("-m limit --limit 10/min -j LOG --log-prefix \"reject: \" --log-level 6", null));
        chains.get("logreject").add(new Spec("-p tcp -j REJECT --reject-with tcp-reset", null));
        chains.get("logreject").add(new Spec("-j REJECT --reject-with icmp-port-unreachable", null));
        for (String f : List.of("FIN,SYN,RST,PSH,ACK,URG NONE", "FIN,SYN FIN,SYN", "SYN,RST SYN,RST", "FIN,RST FIN,RST",
                "FIN,ACK FIN", "ACK,URG URG", "PSH,ACK PSH", "FIN,SYN,RST,PSH,ACK,URG FIN,SYN,RST,PSH,ACK,URG")) {
            chains.get("tcpflags").add(new Spec("-p tcp -m tcp --tcp-flags " + f + " -j logdrop", null));
        }
        chains.get("tcpflags").add(3, new Spec("-p tcp -m tcp --tcp-flags FIN,SYN FIN,SYN -j logdrop", "duplicate"));
        chains.get("tcpflags").add(new Spec("-j RETURN", null));
        for (int port : List.of(25, 137, 138, 139, 445, 1900)) chains.get("egress").add(new Spec("-p tcp -m tcp --dport " + port + " -j logreject", null));
        chains.get("egress").add(new Spec("-m set --match-set blocklist-v4 dst -j logreject", null));
        chains.get("egress").add(new Spec("-j ACCEPT", null));

        List<Spec> fwd = chains.get("FORWARD");
        for (String x : List.of("-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", "-m conntrack --ctstate INVALID -j DROP",
                "-i eth0 -j bogons", "-j blocklist", "-p tcp -j tcpflags")) {
            fwd.add(new Spec(x, null));
        }
        List<Object[]> dnatPlan = new ArrayList<>(); // subnet, ip, port
        for (int sn : s) {
            String name = String.format(Locale.ROOT, "net-%03d", sn);
            List<Spec> rules = chains.computeIfAbsent(name, k -> new ArrayList<>());
            fwd.add(new Spec("-d 10." + sn + ".0.0/16 -j " + name, null));
            if (rnd.random() < 0.3) rules.add(new Spec(String.format(Locale.ROOT, "-m set --match-set blk-%03d src -j logdrop", sn), null));
            if (plantedRangeShadow.contains(sn)) {
                rules.add(new Spec("-d 10." + sn + ".7.0/24 -p tcp -m tcp --dport 23 -j DROP", List.of("range-shadower", sn)));
            }
            if (plantedLogdrop.contains(sn)) rules.add(new Spec("-s 203.0.113.0/24 -j logdrop", List.of("logdrop-shadower", sn)));
            int hosts = rnd.randint(6, 14);
            for (int h = 0; h < hosts; h++) {
                String ip = "10." + sn + "." + rnd.choice(List.of(1, 2, 3, 4, 5, 6, 8, 9)) + "." + (10 + h);
                if (hostChainSubnets.contains(sn) && h == 0) {
                    String hc = "h-10-" + sn + "-" + ip.split("\\.", 3)[2].replace(".", "-");
                    rules.add(new Spec("-d " + ip + "/32 -j " + hc, null));
                    List<Spec> hrules = chains.computeIfAbsent(hc, k -> new ArrayList<>());
                    if (rnd.random() < 0.5) {
                        hrules.add(new Spec("-p tcp -m tcp --dport 22 -m hashlimit --hashlimit-above 4/min --hashlimit-burst 8"
                                + " --hashlimit-mode srcip --hashlimit-name " + hc + " -j logdrop", null));
                    }
                    for (int port : rnd.sample(servicesTcp, rnd.randint(4, 9))) {
                        String src = rnd.random() < 0.6 ? "" : "-s 10." + rnd.randint(1, 250) + ".0.0/16 ";
                        hrules.add(new Spec(src + "-p tcp -m tcp --dport " + port + " -j ACCEPT", null));
                    }
                    continue;
                }
                List<Integer> ports = rnd.sample(servicesTcp, rnd.randint(1, 4));
                if (ports.size() > 1 && rnd.random() < 0.4) {
                    List<Integer> sorted = ports.stream().sorted().toList();
                    rules.add(new Spec("-d " + ip + "/32 -p tcp -m multiport --dports "
                            + String.join(",", sorted.stream().map(String::valueOf).toList()) + " -j ACCEPT", null));
                } else {
                    for (int port : ports) {
                        String ticket = " -m comment --comment \"ticket " + rnd.randint(1000, 9999) + "\"";
                        String extra = rnd.choice(List.of("", "", "", " -m conntrack --ctstate NEW", ticket));
                        rules.add(new Spec("-d " + ip + "/32 -p tcp -m tcp --dport " + port + extra + " -j ACCEPT", null));
                    }
                }
                if (rnd.random() < 0.3) rules.add(new Spec("-d " + ip + "/32 -p udp -m udp --dport " + rnd.choice(servicesUdp) + " -j ACCEPT", null));
                if (rnd.random() < 0.1 && dnatPlan.size() < 150) dnatPlan.add(new Object[] {sn, ip, ports.get(0)});
            }
            if (plantedRangeShadow.contains(sn)) {
                rules.add(new Spec("-d 10." + sn + ".7.23/32 -p tcp -m tcp --dport 23 -m comment --comment \"legacy telnet exception\" -j ACCEPT",
                        List.of("range-victim", sn)));
            }
            if (plantedLogdrop.contains(sn)) {
                rules.add(new Spec("-s 203.0.113.44/32 -d 10." + sn + ".0.0/16 -p tcp -m tcp --dport 443 -j ACCEPT", List.of("logdrop-victim", sn)));
            }
            rules.add(new Spec("-j RETURN", null));
        }
        fwd.add(new Spec("-i eth1 -o eth0 -j egress", null));
        fwd.add(new Spec("-m limit --limit 10/min -j LOG --log-prefix \"fwd-drop: \" --log-level 6", null));
        for (int i = 0; i < 15; i++) chains.get("OUTPUT").add(new Spec("-d 10.255.0.5/32 -p udp -m udp --dport 514 -j ACCEPT", "copies"));
        chains.get("OUTPUT").add(new Spec("-m owner --uid-owner 0 -j ACCEPT", null));

        Map<String, List<Spec>> nat = new LinkedHashMap<>();
        for (String c : List.of("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING", "port-fwd", "SVCS")) nat.put(c, new ArrayList<>());
        nat.get("PREROUTING").add(new Spec("-i eth0 -j port-fwd", null));
        nat.get("PREROUTING").add(new Spec("-m addrtype --dst-type LOCAL -j SVCS", null));
        nat.get("OUTPUT").add(new Spec("-m addrtype --dst-type LOCAL -j SVCS", null));
        nat.get("POSTROUTING").add(new Spec("-s 10.0.0.0/8 -o eth0 -j SNAT --to-source 198.51.100.1-198.51.100.8 --persistent", null));
        Set<Integer> broken = new HashSet<>(rnd.sample(IntStream.range(0, dnatPlan.size()).boxed().toList(), Math.min(dnatBroken, dnatPlan.size())));
        for (int i = 0; i < dnatPlan.size(); i++) {
            int sn = (int) dnatPlan.get(i)[0];
            String ip = (String) dnatPlan.get(i)[1];
            int port = (int) dnatPlan.get(i)[2];
            String pub = "198.51.100." + (20 + i / 50);
            int pubport = 10000 + i;
            if (broken.contains(i)) {
                nat.get("port-fwd").add(new Spec("-d " + pub + "/32 -p tcp -m tcp --dport " + pubport + " -j DNAT --to-destination " + ip + ":4444",
                        List.of("dnat-broken", sn, ip)));
            } else {
                nat.get("port-fwd").add(new Spec("-d " + pub + "/32 -p tcp -m tcp --dport " + pubport + " -j DNAT --to-destination " + ip + ":" + port, null));
            }
        }
        int nSvc = 40;
        int u1 = rnd.choice(IntStream.range(0, nSvc).filter(v -> v % 7 != 3).boxed().toList());
        int u2 = rnd.choice(IntStream.range(0, nSvc).filter(v -> v % 7 == 3).boxed().toList());
        Set<Integer> unbalanced = Set.of(u1, u2);
        for (int v = 0; v < nSvc; v++) {
            String svc = String.format(Locale.ROOT, "svc-%02d", v);
            nat.put(svc, new ArrayList<>());
            String vip = "10.96." + v / 200 + "." + (v % 200 + 1);
            String proto = v % 7 == 3 ? "udp" : "tcp";
            nat.get("SVCS").add(new Spec("-d " + vip + "/32 -p " + proto + " -m " + proto + " --dport " + (proto.equals("tcp") ? 80 : 53) + " -j " + svc, null));
            int n = rnd.randint(2, 5);
            for (int e = 0; e < n; e++) {
                String sep = String.format(Locale.ROOT, "sep-%02d-%d", v, e);
                String ep = "10.244." + v + "." + (e + 2);
                nat.put(sep, List.of(new Spec("-s " + ep + "/32 -j MARK --set-xmark 0x4000/0x4000", null),
                        new Spec("-p " + proto + " -m " + proto + " -j DNAT --to-destination " + ep + ":" + (proto.equals("tcp") ? 8080 : 53), null)));
                if (unbalanced.contains(v)) {
                    nat.get(svc).add(new Spec("-m statistic --mode random --probability " + kernelProbability(1.0 / n) + " -j " + sep,
                            e == 0 ? List.of("unbalanced", v, n, proto) : null));
                } else if (e < n - 1) {
                    nat.get(svc).add(new Spec("-m statistic --mode random --probability " + kernelProbability(1.0 / (n - e)) + " -j " + sep, null));
                } else {
                    nat.get(svc).add(new Spec("-j " + sep, null));
                }
            }
        }
        fwd.add(new Spec("-d 10.244.0.0/16 -m mark --mark 0x4000/0x4000 -j ACCEPT", null));
        fwd.add(new Spec("-s 10.244.0.0/16 -i cni0 -j ACCEPT", null));
        fwd.add(new Spec("-d 10.244.0.0/16 -o cni0 -j ACCEPT", null));
        nat.get("POSTROUTING").add(new Spec("-m mark --mark 0x4000/0x4000 -j MASQUERADE --random-fully", null));

        Map<String, List<Spec>> mangle = new LinkedHashMap<>();
        for (String c : List.of("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING")) mangle.put(c, new ArrayList<>());
        mangle.get("FORWARD").add(new Spec("-p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu", null));
        for (int sn : s.subList(0, 40)) {
            mangle.get("PREROUTING").add(new Spec("-s 10." + sn + ".0.0/16 -i eth1 -j MARK --set-xmark 0x" + Integer.toHexString(sn) + "/0xff", null));
        }

        Map<String, List<String>> builtin = Map.of("filter", List.of("INPUT", "FORWARD", "OUTPUT"),
                "nat", List.of("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
                "mangle", List.of("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"));
        Map<String, List<Object[]>> marks = new LinkedHashMap<>(); // kind -> (line, mark, chain)
        int fwdPolicy = 0;
        for (Object[] tt : new Object[][] {{"mangle", mangle}, {"filter", chains}, {"nat", nat}}) {
            String table = (String) tt[0];
            @SuppressWarnings("unchecked")
            Map<String, List<Spec>> tchains = (Map<String, List<Spec>>) tt[1];
            add("# Generated by iptables-save v1.8.9 (nf_tables) on Mon Nov 30 01:30:00 2026");
            add("*" + table);
            List<String> order = new ArrayList<>(builtin.get(table));
            order.addAll(tchains.keySet().stream().filter(c -> !builtin.get(table).contains(c)).sorted().toList());
            for (String c : order) {
                if (builtin.get(table).contains(c)) {
                    long pk = rnd.randint(1000, 9999999);
                    boolean drop = table.equals("filter") && (c.equals("INPUT") || c.equals("FORWARD"));
                    int at = add(":" + c + " " + (drop ? "DROP" : "ACCEPT") + " [" + pk + ":" + pk * 600 + "]");
                    if (table.equals("filter") && c.equals("FORWARD")) fwdPolicy = at;
                } else {
                    add(":" + c + " - [0:0]");
                }
            }
            for (String c : order) {
                for (Spec spec : tchains.getOrDefault(c, List.of())) {
                    int line = add(counters() + "-A " + c + " " + spec.spec());
                    if (spec.mark() != null) {
                        String kind = spec.mark() instanceof String k ? k : (String) ((List<?>) spec.mark()).get(0);
                        marks.computeIfAbsent(kind, k -> new ArrayList<>()).add(new Object[] {line, spec.mark(), c});
                    }
                }
            }
            add("COMMIT");
            add("# Completed on Mon Nov 30 01:30:00 2026");
        }

        // A jump to logdrop shadows by logdrop's final DROP: lint names both (the research list named the jump only).
        int logdropDrop = lines.indexOf(lines.stream().filter(l -> l.endsWith("-A logdrop -j DROP")).findFirst().orElseThrow()) + 1;
        List<Planted> exp = new ArrayList<>();
        Map<Object, Integer> shadowers = new LinkedHashMap<>();
        for (Object[] m : marks.getOrDefault("range-shadower", List.of())) shadowers.put(((List<?>) m[1]).get(1), (Integer) m[0]);
        for (Object[] m : marks.getOrDefault("range-victim", List.of())) {
            exp.add(new Planted("unreachable", "warning", (Integer) m[0], List.of(shadowers.get(((List<?>) m[1]).get(1))),
                    m[2] + ": host exception under a /24 telnet drop"));
        }
        Map<Object, Integer> lsh = new LinkedHashMap<>();
        for (Object[] m : marks.getOrDefault("logdrop-shadower", List.of())) lsh.put(((List<?>) m[1]).get(1), (Integer) m[0]);
        for (Object[] m : marks.getOrDefault("logdrop-victim", List.of())) {
            exp.add(new Planted("unreachable", "warning", (Integer) m[0], List.of(lsh.get(((List<?>) m[1]).get(1)), logdropDrop),
                    m[2] + ": accept after a jump to logdrop (LOG, then DROP)"));
        }
        List<Integer> tc = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).endsWith("-A tcpflags -p tcp -m tcp --tcp-flags FIN,SYN FIN,SYN -j logdrop")) tc.add(i + 1);
        }
        if (marks.containsKey("duplicate")) exp.add(new Planted("unreachable", "warning", tc.get(1), List.of(tc.get(0), logdropDrop), "tcpflags: exact duplicate of an opaque --tcp-flags rule"));
        List<Object[]> copies = marks.getOrDefault("copies", List.of());
        if (!copies.isEmpty()) {
            exp.add(new Planted("unreachable", "warning", (Integer) copies.get(1)[0], List.of((Integer) copies.get(0)[0]),
                    "OUTPUT: the same rule appended 15 times; one finding"));
        }
        for (Object[] m : marks.getOrDefault("dnat-broken", List.of())) {
            exp.add(new Planted("dnat-without-forward", "error", (Integer) m[0], List.of(fwdPolicy),
                    "DNAT to " + ((List<?>) m[1]).get(2) + ":4444 has no FORWARD accept; dropped by the FORWARD policy DROP"));
        }
        for (Object[] m : marks.getOrDefault("unbalanced", List.of())) {
            exp.add(new Planted("independent-probabilities", "error", (Integer) m[0], List.of(), m[2] + ": 1/n on every rule, no unconditional last rule"));
        }
        exp.sort(java.util.Comparator.comparingInt(Planted::line));
        return exp;
    }
}
