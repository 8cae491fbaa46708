package io.nflb.lint;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Property: for random small rulesets (user chains, jumps, gotos, returns, nested CIDRs and their negations,
 * ports and ranges, protocols, interfaces with + wildcards, conntrack states, marks the rules set and test,
 * TCP flags, limit and recent conditions, exact duplicates), a rule lint calls unreachable is hit by no packet
 * of a randomised probe set run through an independent concrete evaluator (this class's own: iptables
 * semantics on single packets, a mark and TCP flags carried by the packet, every stateful condition free per
 * rule visit), and the rules a finding names are on the path of some packet the victim would match.
 * Rules the oracle never hits, have no condition lint does not model, and lint does not report are
 * counted and logged (completeness is measured, not asserted).
 */
class UnreachablePropertyTest {

    static LongStream seeds() {
        SplittableRandom seeds = new SplittableRandom(20261130L);
        return LongStream.generate(seeds::nextLong).limit(500);
    }

    private static final String[] CIDRS = {"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32", "192.168.0.0/16"};
    private static final String[] PORTS = {"22", "80", "1000:2000", "1500"};
    private static final String[] MULTIPORTS = {"80,443,1000:1100", "22,1500"};
    private static final String[] PROTOS = {"tcp", "udp", "icmp"};
    private static final String[] IFACES = {"eth0", "eth1", "eth+", "wg0", "wg0+", "+"};
    private static final String[] STATES = {"NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED"};
    /** Interface names a packet may carry: each pattern's witnesses, and names no pattern knows. */
    private static final String[] NAMES = {"eth0", "eth1", "eth7", "wg0", "wg0a", "wg1", "lo", "zz9"};
    private static final int[] PROTO_NUMBERS = {6, 17, 1, 47};

    static final int[] missed = new int[2];

    /** One generated rule: its conditions as data (for the oracle) and as text (for lint). */
    static final class Rule {
        String chain;
        int line;
        String src;
        boolean srcNeg;
        String dst;
        boolean dstNeg;
        String iif;
        boolean iifNeg;
        String oif;
        boolean oifNeg;
        String proto;
        boolean protoNeg;
        String dport;
        boolean dportNeg;
        boolean multiport;
        String states;
        boolean statesNeg;
        Boolean mark; // "-m mark [!] --mark 0x1": true = mark must be 1
        Boolean syn; // "-m tcp [!] --tcp-flags SYN,ACK SYN"
        String stateful; // "limit" or "recent"
        String target;
        boolean goTo;

        Rule copy() {
            Rule r = new Rule();
            r.chain = chain;
            r.src = src;
            r.srcNeg = srcNeg;
            r.dst = dst;
            r.dstNeg = dstNeg;
            r.iif = iif;
            r.iifNeg = iifNeg;
            r.oif = oif;
            r.oifNeg = oifNeg;
            r.proto = proto;
            r.protoNeg = protoNeg;
            r.dport = dport;
            r.dportNeg = dportNeg;
            r.multiport = multiport;
            r.states = states;
            r.statesNeg = statesNeg;
            r.mark = mark;
            r.syn = syn;
            r.stateful = stateful;
            r.target = target;
            r.goTo = goTo;
            return r;
        }

        String text() {
            StringBuilder sb = new StringBuilder("-A ").append(chain);
            if (src != null) sb.append(srcNeg ? " ! -s " : " -s ").append(src);
            if (dst != null) sb.append(dstNeg ? " ! -d " : " -d ").append(dst);
            if (iif != null) sb.append(iifNeg ? " ! -i " : " -i ").append(iif);
            if (oif != null) sb.append(oifNeg ? " ! -o " : " -o ").append(oif);
            if (proto != null) sb.append(protoNeg ? " ! -p " : " -p ").append(proto);
            if (dport != null) {
                sb.append(multiport ? " -m multiport" : " -m " + proto).append(dportNeg ? " ! " : " ").append(multiport ? "--dports " : "--dport ").append(dport);
            }
            if (syn != null) sb.append(" -m tcp").append(syn ? "" : " !").append(" --tcp-flags SYN,ACK SYN");
            if (mark != null) sb.append(" -m mark").append(mark ? "" : " !").append(" --mark 0x1");
            if (states != null) sb.append(" -m conntrack").append(statesNeg ? " ! " : " ").append("--ctstate ").append(states);
            if (stateful != null) sb.append(stateful.equals("limit") ? " -m limit --limit 1/sec" : " -m recent --rcheck --name x --mask 255.255.255.255 --rsource");
            sb.append(goTo ? " -g " : " -j ").append(target);
            if (target.equals("MARK")) sb.append(" --set-xmark 0x1/0xffffffff");
            return sb.toString();
        }
    }

    /** A packet as the oracle sees it. */
    record Packet(int proto, long src, long dst, int dport, String iif, String oif, String state, int mark, boolean syn) {
    }

    static final class Ruleset {
        final Map<String, List<Rule>> chains = new LinkedHashMap<>();
        final Map<String, String> policies = new HashMap<>();
        String text;
        final Map<Integer, Rule> byLine = new HashMap<>();
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void aRuleLintCallsUnreachableIsNeverHit(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Ruleset rs = generate(rnd);
        LintReport report = Linter.lint("random.rules", rs.text, Linter.Options.builtIn());
        assertThat(report.notUnderstood()).as("everything generated is understood:\n%s\n%s", rs.text, report.toText()).isZero();
        Map<Integer, Finding> victims = new HashMap<>();
        for (Finding f : report.findings()) {
            if (f.code().equals("unreachable")) f.victims().forEach(v -> victims.put(v, f));
        }
        // Probes: random ones, then ones aimed at each victim's own conditions.
        List<Packet> probes = new ArrayList<>();
        for (int i = 0; i < 800; i++) probes.add(packet(rnd, rs));
        for (int line : victims.keySet()) {
            Rule v = rs.byLine.get(line);
            int found = 0;
            for (int tries = 0; tries < 20_000 && found < 200; tries++) {
                Packet p = packet(rnd, rs);
                if (matchesStatically(v, p)) {
                    probes.add(p);
                    found++;
                }
            }
        }
        // Attribution: every packet the victim would match that reaches its shadowing rule is taken by it;
        // for a victim whose chain no call site lets its packets into, none of them enters the chain.
        Map<Integer, List<Rule>> atShadower = new HashMap<>();
        Map<String, List<Rule>> notEntering = new HashMap<>();
        for (Map.Entry<Integer, Finding> e : victims.entrySet()) {
            Rule v = rs.byLine.get(e.getKey());
            Finding f = e.getValue();
            if (f.message().contains("is entered only from")) notEntering.computeIfAbsent(v.chain, c -> new ArrayList<>()).add(v);
            else if (!f.related().isEmpty()) atShadower.computeIfAbsent(f.related().get(0).line(), l -> new ArrayList<>()).add(v);
        }
        Set<Integer> hit = new HashSet<>();
        List<String> wrong = new ArrayList<>();
        for (Packet p : probes) {
            for (String hook : List.of("INPUT", "FORWARD", "OUTPUT")) {
                Oracle oracle = new Oracle(rs, rnd, new HashMap<>(), hit, atShadower, notEntering, wrong);
                if (oracle.run(hook, forHook(p, hook), 0) == null) fail("oracle: loop");
            }
        }
        for (int line : victims.keySet()) {
            if (hit.contains(line)) {
                fail("seed %d: lint says line %d can never match, but a packet hits it:\n%s\n%s", seed, line, numbered(rs.text), report.toText());
            }
        }
        if (!wrong.isEmpty()) fail("seed %d: %s\n%s\n%s", seed, wrong.get(0), numbered(rs.text), report.toText());
        // Completeness, measured: modelled rules the oracle never hit that lint did not report.
        for (Rule r : rs.byLine.values()) {
            boolean modelled = r.mark == null && r.syn == null && r.stateful == null;
            boolean entered = report.findings().stream().noneMatch(f -> f.code().equals("unused-chain") && f.victims().contains(r.line));
            if (modelled && entered && !hit.contains(r.line) && !victims.containsKey(r.line)) missed[0]++;
            if (modelled && entered) missed[1]++;
        }
    }

    @AfterAll
    static void logCompleteness() {
        System.out.printf("lint completeness: %d of %d modelled rules never hit by the probes were not reported"
                + " (probes are samples: a rule they miss may still be reachable)%n", missed[0], missed[1]);
    }

    private static String numbered(String text) {
        StringBuilder sb = new StringBuilder();
        String[] lines = text.split("\n");
        for (int i = 0; i < lines.length; i++) sb.append(String.format("%3d  %s%n", i + 1, lines[i]));
        return sb.toString();
    }

    // ------------------------------------------------------------------ generator

    static Ruleset generate(SplittableRandom rnd) {
        Ruleset rs = new Ruleset();
        int users = rnd.nextInt(1, 5);
        List<String> builtins = List.of("INPUT", "FORWARD", "OUTPUT");
        for (String b : builtins) {
            rs.chains.put(b, new ArrayList<>());
            rs.policies.put(b, rnd.nextBoolean() ? "ACCEPT" : "DROP");
        }
        for (int i = 0; i < users; i++) rs.chains.put("C" + i, new ArrayList<>());
        List<Rule> all = new ArrayList<>();
        for (String chain : rs.chains.keySet()) {
            int n = rnd.nextInt(3, 13);
            List<Rule> rules = rs.chains.get(chain);
            for (int i = 0; i < n; i++) {
                Rule r;
                if (!all.isEmpty() && rnd.nextInt(10) == 0) {
                    r = all.get(rnd.nextInt(all.size())).copy(); // an exact duplicate, maybe in another chain
                    if (!legalIn(r, chain)) r = rule(rnd, chain, users);
                    r.chain = chain;
                    if (r.target.startsWith("C") && !canJump(chain, r.target)) {
                        r.target = "ACCEPT";
                        r.goTo = false;
                    }
                } else {
                    r = rule(rnd, chain, users);
                }
                rules.add(r);
                all.add(r);
            }
        }
        StringBuilder sb = new StringBuilder("*filter\n");
        int line = 1;
        for (String b : builtins) {
            sb.append(':').append(b).append(' ').append(rs.policies.get(b)).append(" [0:0]\n");
            line++;
        }
        for (int i = 0; i < users; i++) {
            sb.append(":C").append(i).append(" - [0:0]\n");
            line++;
        }
        for (List<Rule> rules : rs.chains.values()) {
            for (Rule r : rules) {
                line++;
                r.line = line;
                rs.byLine.put(line, r);
                sb.append(r.text()).append('\n');
            }
        }
        rs.text = sb.append("COMMIT\n").toString();
        return rs;
    }

    private static boolean canJump(String from, String to) {
        return !from.startsWith("C") || Integer.parseInt(to.substring(1)) > Integer.parseInt(from.substring(1));
    }

    /** iptables refuses -o in INPUT and -i in OUTPUT. */
    private static boolean legalIn(Rule r, String chain) {
        return !(chain.equals("INPUT") && r.oif != null) && !(chain.equals("OUTPUT") && r.iif != null);
    }

    private static Rule rule(SplittableRandom rnd, String chain, int users) {
        Rule r = new Rule();
        r.chain = chain;
        if (rnd.nextInt(3) == 0) {
            r.src = CIDRS[rnd.nextInt(CIDRS.length)];
            r.srcNeg = rnd.nextInt(4) == 0;
        }
        if (rnd.nextInt(3) == 0) {
            r.dst = CIDRS[rnd.nextInt(CIDRS.length)];
            r.dstNeg = rnd.nextInt(4) == 0;
        }
        if (rnd.nextInt(4) == 0 && !chain.equals("OUTPUT")) {
            r.iif = IFACES[rnd.nextInt(IFACES.length)];
            r.iifNeg = rnd.nextInt(4) == 0;
        }
        if (rnd.nextInt(5) == 0 && !chain.equals("INPUT")) {
            r.oif = IFACES[rnd.nextInt(IFACES.length)];
            r.oifNeg = rnd.nextInt(4) == 0;
        }
        if (rnd.nextInt(2) == 0) {
            r.proto = PROTOS[rnd.nextInt(PROTOS.length)];
            r.protoNeg = rnd.nextInt(6) == 0;
            if (!r.protoNeg && !r.proto.equals("icmp") && rnd.nextInt(2) == 0) {
                r.multiport = rnd.nextInt(3) == 0;
                r.dport = r.multiport ? MULTIPORTS[rnd.nextInt(MULTIPORTS.length)] : PORTS[rnd.nextInt(PORTS.length)];
                r.dportNeg = rnd.nextInt(5) == 0;
            }
            if (!r.protoNeg && r.proto.equals("tcp") && rnd.nextInt(5) == 0) r.syn = rnd.nextBoolean();
        }
        if (rnd.nextInt(4) == 0) {
            int n = rnd.nextInt(1, 3);
            Set<String> s = new java.util.TreeSet<>();
            for (int i = 0; i < n; i++) s.add(STATES[rnd.nextInt(STATES.length)]);
            if (rnd.nextInt(6) == 0) s.add("DNAT");
            r.states = String.join(",", s);
            r.statesNeg = rnd.nextInt(4) == 0;
        }
        if (rnd.nextInt(7) == 0) r.mark = rnd.nextBoolean();
        if (rnd.nextInt(9) == 0) r.stateful = rnd.nextBoolean() ? "limit" : "recent";
        int t = rnd.nextInt(10);
        List<String> callable = new ArrayList<>();
        for (int i = 0; i < users; i++) {
            if (canJump(chain, "C" + i)) callable.add("C" + i);
        }
        if (t < 3 && !callable.isEmpty()) {
            r.target = callable.get(rnd.nextInt(callable.size()));
            r.goTo = rnd.nextInt(4) == 0;
        } else {
            r.target = switch (rnd.nextInt(7)) {
                case 0, 1 -> "ACCEPT";
                case 2, 3 -> "DROP";
                case 4 -> "REJECT";
                case 5 -> rnd.nextBoolean() ? "LOG" : "MARK";
                default -> "RETURN";
            };
        }
        return r;
    }

    // ------------------------------------------------------------------ probes

    /** A packet whose fields come from the ruleset's own boundaries (each CIDR's ends and their neighbours, each range's ends). */
    static Packet packet(SplittableRandom rnd, Ruleset rs) {
        return new Packet(PROTO_NUMBERS[rnd.nextInt(PROTO_NUMBERS.length)], address(rnd), address(rnd), port(rnd),
                NAMES[rnd.nextInt(NAMES.length)], NAMES[rnd.nextInt(NAMES.length)],
                STATES[rnd.nextInt(STATES.length)] + (rnd.nextBoolean() ? "+DNAT" : ""), rnd.nextInt(2), rnd.nextBoolean());
    }

    private static long address(SplittableRandom rnd) {
        if (rnd.nextInt(8) == 0) return rnd.nextLong(1L << 32);
        String cidr = CIDRS[rnd.nextInt(CIDRS.length)];
        long[] lohi = range(cidr);
        long base = rnd.nextBoolean() ? lohi[0] : lohi[1];
        long v = base + rnd.nextInt(-1, 2);
        return Math.max(0, Math.min((1L << 32) - 1, v));
    }

    private static int port(SplittableRandom rnd) {
        int[] interesting = {0, 21, 22, 23, 79, 80, 81, 443, 999, 1000, 1001, 1099, 1100, 1101, 1499, 1500, 1501, 1999, 2000, 2001, 65535};
        return rnd.nextInt(6) == 0 ? rnd.nextInt(65536) : interesting[rnd.nextInt(interesting.length)];
    }

    /** The hook's interfaces: INPUT has no output interface, OUTPUT no input interface. */
    private static Packet forHook(Packet p, String hook) {
        String iif = hook.equals("OUTPUT") ? "" : p.iif();
        String oif = hook.equals("INPUT") ? "" : p.oif();
        return new Packet(p.proto(), p.src(), p.dst(), p.dport(), iif, oif, p.state(), p.mark(), p.syn());
    }

    // ------------------------------------------------------------------ oracle

    static long[] range(String cidr) {
        String[] ap = cidr.split("/");
        String[] o = ap[0].split("\\.");
        long a = 0;
        for (String x : o) a = a << 8 | Long.parseLong(x);
        int len = Integer.parseInt(ap[1]);
        long size = 1L << (32 - len);
        long lo = a & ~(size - 1) & 0xffffffffL;
        return new long[] {lo, lo + size - 1};
    }

    private static final Map<String, long[]> RANGES = new java.util.concurrent.ConcurrentHashMap<>();
    private static final Map<String, int[][]> PORT_SPECS = new java.util.concurrent.ConcurrentHashMap<>();

    private static boolean in(long a, String cidr) {
        long[] r = RANGES.computeIfAbsent(cidr, UnreachablePropertyTest::range);
        return a >= r[0] && a <= r[1];
    }

    private static boolean iface(String name, String pattern) {
        return pattern.endsWith("+") ? name.startsWith(pattern.substring(0, pattern.length() - 1)) : name.equals(pattern);
    }

    private static boolean ports(int port, String spec) {
        int[][] ranges = PORT_SPECS.computeIfAbsent(spec, x -> java.util.Arrays.stream(x.split(",")).map(part -> {
            String[] lohi = part.split(":");
            int lo = Integer.parseInt(lohi[0]);
            return new int[] {lo, lohi.length > 1 ? Integer.parseInt(lohi[1]) : lo};
        }).toArray(int[][]::new));
        for (int[] r : ranges) {
            if (port >= r[0] && port <= r[1]) return true;
        }
        return false;
    }

    private static int protoNumber(String name) {
        return switch (name) {
            case "tcp" -> 6;
            case "udp" -> 17;
            default -> 1;
        };
    }

    /** Everything but the stateful condition (whose value is free). */
    static boolean matchesStatically(Rule r, Packet p) {
        if (r.src != null && in(p.src(), r.src) == r.srcNeg) return false;
        if (r.dst != null && in(p.dst(), r.dst) == r.dstNeg) return false;
        if (r.iif != null && iface(p.iif(), r.iif) == r.iifNeg) return false;
        if (r.oif != null && iface(p.oif(), r.oif) == r.oifNeg) return false;
        if (r.proto != null && (p.proto() == protoNumber(r.proto)) == r.protoNeg) return false;
        if (r.dport != null && ports(p.dport(), r.dport) == r.dportNeg) return false;
        if (r.syn != null && p.syn() != r.syn) return false;
        if (r.mark != null && (p.mark() == 1) != r.mark) return false;
        if (r.states != null) {
            String state = p.state().replace("+DNAT", "");
            boolean any = false;
            for (String s : r.states.split(",")) {
                if (s.equals(state) || (s.equals("DNAT") && p.state().endsWith("+DNAT"))) any = true;
            }
            if (any == r.statesNeg) return false;
        }
        return true;
    }

    /** iptables on one packet: jumps, gotos, returns, policies; each stateful condition takes a free value. */
    static final class Oracle {
        private final Ruleset rs;
        private final SplittableRandom rnd;
        private final Map<Integer, Boolean> stateful;
        private final Set<Integer> hit;
        private final Map<Integer, List<Rule>> atShadower;
        private final Map<String, List<Rule>> notEntering;
        private final List<String> wrong;
        private static final Object RETURN = new Object();

        Oracle(Ruleset rs, SplittableRandom rnd, Map<Integer, Boolean> stateful, Set<Integer> hit,
               Map<Integer, List<Rule>> atShadower, Map<String, List<Rule>> notEntering, List<String> wrong) {
            this.rs = rs;
            this.rnd = rnd;
            this.stateful = stateful;
            this.hit = hit;
            this.atShadower = atShadower;
            this.notEntering = notEntering;
            this.wrong = wrong;
        }

        /** The packet's mark: MARK sets it, whichever chain it is in, and later rules see it. */
        private Integer mark;

        /** A verdict name, RETURN (fell off or returned), or null for a loop. */
        Object run(String chain, Packet p, int depth) {
            if (depth > 20) return null;
            if (mark == null) mark = p.mark();
            Packet atEntry = new Packet(p.proto(), p.src(), p.dst(), p.dport(), p.iif(), p.oif(), p.state(), mark, p.syn());
            for (Rule v : notEntering.getOrDefault(chain, List.of())) {
                if (matchesStatically(v, atEntry)) wrong.add("a packet line " + v.line + " would match enters " + chain + ": " + atEntry);
            }
            for (Rule r : rs.chains.get(chain)) {
                Packet packet = new Packet(p.proto(), p.src(), p.dst(), p.dport(), p.iif(), p.oif(), p.state(), mark, p.syn());
                boolean matches = matchesStatically(r, packet)
                        && (r.stateful == null || stateful.computeIfAbsent(r.line, l -> rnd.nextBoolean()));
                for (Rule v : atShadower.getOrDefault(r.line, List.of())) {
                    if (!matches && matchesStatically(v, packet)) {
                        wrong.add("line " + r.line + " is named as taking every packet line " + v.line + " would match, but lets this one pass: " + packet);
                    }
                }
                if (!matches) continue;
                hit.add(r.line);
                switch (r.target) {
                    case "ACCEPT", "DROP", "REJECT" -> {
                        return r.target;
                    }
                    case "RETURN" -> {
                        return depth == 0 ? rs.policies.get(chain) : RETURN;
                    }
                    case "LOG" -> {
                    }
                    case "MARK" -> mark = 1;
                    default -> {
                        Object v = run(r.target, p, depth + 1);
                        if (v == null) return null;
                        if (v != RETURN) return v;
                        if (r.goTo) return depth == 0 ? rs.policies.get(chain) : RETURN;
                    }
                }
            }
            return depth == 0 ? rs.policies.get(chain) : RETURN;
        }
    }
}
