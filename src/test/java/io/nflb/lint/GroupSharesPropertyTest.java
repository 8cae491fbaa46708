package io.nflb.lint;

import io.nflb.plan.Rational;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Property: for random balancing groups (2-8 members, --probability or nth, right and wrong patterns, with
 * or without an unconditional last member, DNAT in the member or in endpoint chains whose DNAT rule names a
 * protocol, sometimes the other one so that part falls through, MARK jumps and session-affinity rules before
 * the group), the exact shares lint computes match 100,000 new connections sent through the same rules by
 * this class's own simulation of the kernel (31 random bits against the stored probability; per-rule nth
 * counters as xt_statistic keeps them): within 4 sigma for chance, exactly over whole periods for nth.
 */
class GroupSharesPropertyTest {

    private static final int N = 100_000;

    static LongStream seeds() {
        SplittableRandom seeds = new SplittableRandom(20261201L);
        return LongStream.generate(seeds::nextLong).limit(200);
    }

    /** One rule of the service chain as the simulation runs it. */
    record Member(String text, boolean random, long k, long every, long packet, String dnat, String endpoint) {
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void sharesMatchASimulationOfTheKernel(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        String proto = rnd.nextBoolean() ? "tcp" : "udp";
        int port = proto.equals("tcp") ? 80 : 53;
        int n = rnd.nextInt(2, 9);
        boolean random = rnd.nextBoolean();
        boolean last = rnd.nextInt(3) != 0;
        int pattern = rnd.nextInt(4);
        List<Member> members = new ArrayList<>();
        Map<String, String> endpointDnat = new LinkedHashMap<>(); // endpoint chain -> protocol of its DNAT rule
        StringBuilder chains = new StringBuilder();
        StringBuilder rules = new StringBuilder();
        for (int i = 0; i < n; i++) {
            boolean conditional = !(last && i == n - 1);
            String stat = "";
            long k = 0;
            long every = 0;
            long packet = 0;
            if (conditional && random) {
                double p = switch (pattern) {
                    case 0 -> 1.0 / (n - i); // the right cascade
                    case 1 -> 1.0 / n; // the tutorial's mistake
                    case 2 -> rnd.nextDouble();
                    default -> new double[] {0, 1, 1e-9, 0.5}[rnd.nextInt(4)];
                };
                String text = rnd.nextBoolean() ? LargeDump.kernelProbability(p) : String.format(Locale.ROOT, "%.6f", p);
                k = Math.round(Double.parseDouble(text) * 2147483648.0);
                stat = " -m statistic --mode random --probability " + text;
            } else if (conditional) {
                switch (pattern) {
                    case 0 -> {
                        every = n - i;
                        packet = 0;
                    }
                    case 1 -> {
                        every = n;
                        packet = i;
                    }
                    default -> {
                        every = rnd.nextInt(1, 6);
                        packet = rnd.nextInt((int) every);
                    }
                }
                stat = " -m statistic --mode nth --every " + every + " --packet " + packet;
            }
            String endpoint = "10.244.0." + (i + 2) + ":8080";
            String target;
            String dnat = null;
            String chain = null;
            if (rnd.nextInt(3) == 0) {
                dnat = endpoint;
                target = "-j DNAT --to-destination " + endpoint;
            } else {
                chain = "EP-" + i;
                String epProto = rnd.nextInt(5) == 0 ? (proto.equals("tcp") ? "udp" : "tcp") : proto;
                endpointDnat.put(chain, epProto);
                chains.append(':').append(chain).append(" - [0:0]\n");
                target = "-j " + chain;
            }
            String text = "-A SVC -m comment --comment \"svc -> " + endpoint + "\"" + stat + " " + target;
            members.add(new Member(text, conditional && random, k, every, packet, dnat, chain));
        }
        boolean affinity = rnd.nextInt(3) == 0;
        if (affinity) {
            for (Member m : members) {
                if (m.endpoint() != null) {
                    rules.append("-A SVC -m recent --rcheck --seconds 10800 --reap --name ").append(m.endpoint())
                            .append(" --mask 255.255.255.255 --rsource -j ").append(m.endpoint()).append('\n');
                }
            }
        }
        for (Member m : members) rules.append(m.text()).append('\n');
        int e = 0;
        for (Map.Entry<String, String> ep : endpointDnat.entrySet()) {
            String address = "10.244.0." + (Integer.parseInt(ep.getKey().substring(3)) + 2);
            rules.append("-A ").append(ep.getKey()).append(" -s ").append(address).append("/32 -j MARKMASQ\n");
            rules.append("-A ").append(ep.getKey()).append(" -p ").append(ep.getValue()).append(" -m ").append(ep.getValue())
                    .append(" -j DNAT --to-destination ").append(address).append(":8080\n");
            e++;
        }
        String dump = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
                + ":MARKMASQ - [0:0]\n:SVC - [0:0]\n" + chains
                + "-A PREROUTING -d 10.96.0.1/32 -p " + proto + " -m " + proto + " --dport " + port + " -j SVC\n"
                + "-A MARKMASQ -j MARK --set-xmark 0x4000/0x4000\n" + rules + "COMMIT\n";

        LintReport report = Linter.lint("group.rules", dump, Linter.Options.builtIn());
        assertThat(report.groups()).as("%s%s", dump, report.toText()).hasSize(1);
        LintReport.Group g = report.groups().get(0);
        assertThat(g.evaluated()).as(report.toText()).isTrue();
        assertThat(g.probe()).startsWith(proto + "/" + port + " to 10.96.0.1");
        Map<String, Rational> exact = new LinkedHashMap<>(g.shares());
        exact.merge("not balanced", g.unbalanced(), Rational::add);

        boolean chance = members.stream().anyMatch(Member::random);
        int connections = chance ? N : Math.max(1, N / g.period()) * g.period(); // whole periods of the nth counters
        Map<String, Integer> counts = simulate(members, endpointDnat, proto, connections, new SplittableRandom(seed ^ 0x5DEECE66DL));
        for (String outcome : counts.keySet()) {
            assertThat(exact).as("seed %d: an outcome lint does not list\n%s%s", seed, dump, report.toText()).containsKey(outcome);
        }
        for (Map.Entry<String, Rational> x : exact.entrySet()) {
            int count = counts.getOrDefault(x.getKey(), 0);
            double s = x.getValue().toDouble();
            String why = String.format(Locale.ROOT, "seed %d, %s: lint %s (%.6f), simulated %d of %d%n%s%s", seed, x.getKey(), x.getValue(), s,
                    count, connections, dump, report.toText());
            if (!chance) {
                assertThat(Rational.of(count, connections)).as(why).isEqualTo(x.getValue());
            } else if (x.getValue().isZero()) {
                assertThat(count).as(why).isZero();
            } else if (x.getValue().equals(Rational.ONE)) {
                assertThat(count).as(why).isEqualTo(connections);
            } else {
                assertThat(Math.abs((double) count / connections - s)).as(why).isLessThanOrEqualTo(4 * Math.sqrt(s * (1 - s) / connections));
            }
        }
    }

    /** New connections through the service chain, as the kernel runs it: affinity rules never match a new client. */
    private static Map<String, Integer> simulate(List<Member> members, Map<String, String> endpointDnat, String proto, int connections,
                                                 SplittableRandom rnd) {
        Map<String, Integer> counts = new HashMap<>();
        long[] count = new long[members.size()];
        for (int i = 0; i < members.size(); i++) {
            Member m = members.get(i);
            if (m.every() > 0) count[i] = (m.every() - 1) - m.packet(); // what iptables gives the kernel
        }
        for (int c = 0; c < connections; c++) {
            String outcome = "not balanced";
            for (int i = 0; i < members.size(); i++) {
                Member m = members.get(i);
                boolean match;
                if (m.random()) {
                    match = (rnd.nextInt() & 0x7fffffff) < m.k();
                } else if (m.every() > 0) {
                    count[i] = count[i] == m.every() - 1 ? 0 : count[i] + 1;
                    match = count[i] == 0;
                } else {
                    match = true;
                }
                if (!match) continue;
                if (m.dnat() != null) {
                    outcome = m.dnat();
                    break;
                }
                // The endpoint chain: the MARK jump goes on; its DNAT rule takes the connection if the protocol is right.
                if (endpointDnat.get(m.endpoint()).equals(proto)) {
                    outcome = "10.244.0." + (Integer.parseInt(m.endpoint().substring(3)) + 2) + ":8080";
                    break;
                }
            }
            counts.merge(outcome, 1, Integer::sum);
        }
        return counts;
    }
}
