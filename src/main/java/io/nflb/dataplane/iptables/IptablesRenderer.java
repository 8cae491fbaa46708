package io.nflb.dataplane.iptables;

import io.nflb.model.Backend;
import io.nflb.model.IpAddress;
import io.nflb.model.Service;
import io.nflb.plan.BackendPlan;
import io.nflb.plan.Plan;
import io.nflb.plan.Rational;
import io.nflb.plan.Selection;
import io.nflb.plan.ServicePlan;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static io.nflb.dataplane.iptables.IptablesDialect.quote;

/**
 * Writes a plan as iptables nat rules. Every line is in the exact form iptables-save prints back (option
 * order, /32 suffixes, comment quoting, probabilities with 11 decimals), so the kernel step can compare
 * desired and live rules as text.
 */
public final class IptablesRenderer {

    /** xt_statistic keeps a probability as a 31-bit fixed-point number: lround(p * 2^31). */
    public static final BigInteger PROBABILITY_ONE = BigInteger.ONE.shiftLeft(31);

    static final String PORTALS_COMMENT = "nflb service portals";
    static final String MASQUERADE_COMMENT = "nflb masquerade";
    static final String REJECT_COMMENT = "nflb services without backends";

    private IptablesRenderer() {
    }

    public static IptablesRuleset render(Plan plan, IpAddress.Family family) {
        return IptablesFirewallRenderer.extend(plan, family, renderServices(plan, family));
    }

    private static IptablesRuleset renderServices(Plan plan, IpAddress.Family family) {
        List<ServicePlan> services = new ArrayList<>();
        for (ServicePlan s : plan.services()) {
            if (s.service().family() == family) services.add(s);
        }
        if (services.isEmpty()) return new IptablesRuleset(family, List.of());
        // Most specific portal first, so a port-only service never shadows one bound to an address or interface.
        services.sort(Comparator.comparingInt(IptablesRenderer::generality));

        List<String> chains = new ArrayList<>(List.of(IptablesNames.SERVICES, IptablesNames.POSTROUTING));
        List<String> portals = new ArrayList<>();
        List<String> masquerades = new ArrayList<>();
        List<String> perService = new ArrayList<>();
        List<String> rejects = new ArrayList<>();
        for (ServicePlan s : services) {
            requireDistinctBackends(s);
            if (s.backends().isEmpty()) rejects.add(reject(s.service(), family));
            String svcChain = IptablesNames.service(s.name());
            chains.add(svcChain);
            portals.add(portal(s.service(), svcChain));
            perService.addAll(serviceChain(s, svcChain, family));
            for (BackendPlan b : s.backends()) {
                if (s.service().affinity().isPresent()) {
                    // -m recent remembers a client per list: each backend keeps a chain (and list) of its own.
                    String sep = backendChain(s.service(), b.backend());
                    chains.add(sep);
                    perService.add(affinityRule(s.service(), b.backend(), sep, family));
                }
                if (s.service().snat() == io.nflb.model.Snat.MASQUERADE) {
                    masquerades.add(masquerade(s.service(), b.backend(), family));
                }
            }
        }
        requireUnique(chains);
        List<String> rules = new ArrayList<>(portals);
        rules.addAll(masquerades);
        rules.addAll(perService);
        List<IptablesRuleset.Jump> jumps = List.of(
                new IptablesRuleset.Jump("PREROUTING", "-m comment --comment " + quote(PORTALS_COMMENT) + " -j " + IptablesNames.SERVICES),
                new IptablesRuleset.Jump("OUTPUT", "-m comment --comment " + quote(PORTALS_COMMENT) + " -j " + IptablesNames.SERVICES),
                new IptablesRuleset.Jump("POSTROUTING", "-m comment --comment " + quote(MASQUERADE_COMMENT) + " -j " + IptablesNames.POSTROUTING));
        IptablesRuleset.Table nat = new IptablesRuleset.Table("nat", chains, jumps, rules);
        if (rejects.isEmpty()) return new IptablesRuleset(family, List.of(nat));
        String jump = "-m comment --comment " + quote(REJECT_COMMENT) + " -j " + IptablesNames.REJECT;
        IptablesRuleset.Table filter = new IptablesRuleset.Table("filter", List.of(IptablesNames.REJECT),
                List.of(new IptablesRuleset.Jump("INPUT", jump), new IptablesRuleset.Jump("FORWARD", jump)), rejects);
        return new IptablesRuleset(family, List.of(nat, filter));
    }

    /**
     * A service with no usable backend: its portal still leads to its (empty) chain, so nothing is DNATed
     * and the packet goes on to INPUT (a local address) or FORWARD, where REJECT is allowed (the nat table
     * cannot reject). Only a connection's first packet is refused; others to the same address are not touched.
     */
    private static String reject(Service service, IpAddress.Family family) {
        StringBuilder r = new StringBuilder("-A ").append(IptablesNames.REJECT);
        service.listen().address().ifPresent(a -> r.append(" -d ").append(host(a)));
        service.listen().iface().ifPresent(i -> r.append(" -i ").append(i));
        String proto = service.protocol().keyword();
        r.append(" -p ").append(proto).append(" -m comment --comment ").append(quote(IptablesNames.rejectComment(service.name())))
                .append(" -m conntrack --ctstate NEW");
        if (service.listen().address().isEmpty() && service.listen().iface().isEmpty()) {
            r.append(" -m addrtype ! --src-type LOCAL"); // as in the portal
        }
        r.append(" -m ").append(proto).append(" --dport ").append(service.listen().port()).append(" -j REJECT --reject-with ");
        if (service.protocol() == io.nflb.model.Protocol.TCP) r.append("tcp-reset");
        else r.append(family == IpAddress.Family.V4 ? "icmp-port-unreachable" : "icmp6-port-unreachable");
        return r.toString();
    }

    /** The whole ruleset as iptables-restore input for an empty table: what golden files and tests load. */
    public static String restoreText(IptablesRuleset ruleset) {
        StringBuilder sb = new StringBuilder();
        for (IptablesRuleset.Table t : ruleset.tables()) {
            sb.append('*').append(t.name()).append('\n');
            for (String c : t.chains()) sb.append(':').append(c).append(" - [0:0]\n");
            for (IptablesRuleset.Jump j : t.jumps()) sb.append("-A ").append(j.chain()).append(' ').append(j.spec()).append('\n');
            for (String r : t.rules()) sb.append(r).append('\n');
            sb.append("COMMIT\n");
        }
        return sb.toString();
    }


    /**
     * The kernel's own probability for a conditional share: lround(p * 2^31) / 2^31, exactly. Refuses shares
     * the 31-bit field cannot tell from 0 or 1, which would silently starve or swallow a backend.
     */
    public static Rational quantize(Rational p) {
        BigInteger scaled = p.num().shiftLeft(32).add(p.den()).divide(p.den().shiftLeft(1)); // round half up
        if (scaled.signum() <= 0 || scaled.compareTo(PROBABILITY_ONE) >= 0) {
            throw new IllegalArgumentException("probability " + p + " cannot be written as a 31-bit share");
        }
        return new Rational(scaled, PROBABILITY_ONE);
    }

    /** iptables-save prints the stored value with printf("%.11f"), which rounds the exact binary value half-even. */
    static String probabilityText(Rational quantized) {
        return new BigDecimal(quantized.num()).divide(new BigDecimal(quantized.den()))
                .setScale(11, RoundingMode.HALF_EVEN).toPlainString();
    }


    private static int generality(ServicePlan s) {
        return (s.service().listen().address().isPresent() ? 0 : 2) + (s.service().listen().iface().isPresent() ? 0 : 1);
    }

    private static String portal(Service service, String svcChain) {
        StringBuilder r = new StringBuilder("-A ").append(IptablesNames.SERVICES);
        service.listen().address().ifPresent(a -> r.append(" -d ").append(host(a)));
        service.listen().iface().ifPresent(i -> r.append(" -i ").append(i));
        String proto = service.protocol().keyword();
        r.append(" -p ").append(proto).append(" -m comment --comment ").append(quote(service.name() + " portal"))
                .append(" -m ").append(proto).append(" --dport ").append(service.listen().port());
        if (service.listen().address().isEmpty() && service.listen().iface().isEmpty()) {
            // Bound to nothing but a port, the rule would also catch every connection the router itself opens
            // to that port anywhere (OUTPUT jumps here too); those come from a local address, routed ones do not.
            r.append(" -m addrtype ! --src-type LOCAL");
        }
        return r.append(" -j ").append(svcChain).toString();
    }

    private static List<String> serviceChain(ServicePlan s, String svcChain, IpAddress.Family family) {
        Service service = s.service();
        List<BackendPlan> backends = s.backends();
        List<String> rules = new ArrayList<>();
        String head = "-A " + svcChain + " -m comment --comment ";
        if (service.affinity().isPresent()) {
            long seconds = affinitySeconds(service.affinity().get());
            // A client seen recently goes back to its backend before any new choice is drawn.
            for (BackendPlan b : backends) {
                String sep = backendChain(service, b.backend());
                rules.add(head + comment(service, b.backend()) + " -m recent --rcheck --seconds " + seconds
                        + " --reap --name " + sep + " --mask " + hostMask(family) + " --rsource -j " + sep);
            }
        }
        Selection selection = s.selection();
        if (backends.isEmpty()) return rules; // no usable backend: see reject()
        if (selection instanceof Selection.Random random) {
            for (int i = 0; i < backends.size(); i++) {
                Backend b = backends.get(i).backend();
                String match = i == backends.size() - 1 ? ""
                        : " -m statistic --mode random --probability " + probabilityText(quantize(random.conditional().get(i)));
                rules.add(pick(svcChain, service, b, match));
            }
        } else if (selection instanceof Selection.Cycle cycle) {
            // Rule k has its own counter and sees only what rules 0..k-1 left, W-k of every W connections:
            // "--every (W-k) --packet 0" takes the first of those, so connection k of each cycle lands on slot k.
            int w = cycle.slots().size();
            for (int k = 0; k < w; k++) {
                Backend b = backends.get(cycle.slots().get(k)).backend();
                String match = k == w - 1 ? "" : " -m statistic --mode nth --every " + (w - k) + " --packet 0";
                rules.add(pick(svcChain, service, b, match));
            }
        } else {
            throw new IllegalArgumentException("service " + service.name() + ": maglev needs the nftables backend");
        }
        return rules;
    }

    /**
     * A selection rule of the service chain ({@code match}: its statistic match, empty for the last). Without
     * affinity it DNATs straight away: iptables-nft's restore time grows with the square of the number of
     * chains, and a rule's own counter still counts what it picked (status sums a backend's rules).
     */
    private static String pick(String svcChain, Service service, Backend b, String match) {
        if (service.affinity().isPresent()) {
            return "-A " + svcChain + " -m comment --comment " + comment(service, b) + match + " -j " + backendChain(service, b);
        }
        String proto = service.protocol().keyword();
        return "-A " + svcChain + " -p " + proto + " -m comment --comment " + comment(service, b) + match
                + " -m " + proto + " -j DNAT --to-destination " + b.endpoint();
    }

    /** An affinity backend's chain: remembers the client in the backend's list, then DNATs. */
    private static String affinityRule(Service service, Backend b, String sep, IpAddress.Family family) {
        String proto = service.protocol().keyword();
        return "-A " + sep + " -p " + proto + " -m comment --comment " + comment(service, b)
                + " -m recent --set --name " + sep + " --mask " + hostMask(family) + " --rsource"
                + " -m " + proto + " -j DNAT --to-destination " + b.endpoint();
    }

    /**
     * Masquerade only what nflb balanced for this service: connections whose DNAT came from the service's
     * own address and port and went to this backend. Without a listen address, the original port and the
     * backend are all conntrack remembers, so any DNAT to this backend from that port is masqueraded too.
     */
    private static String masquerade(Service service, Backend b, IpAddress.Family family) {
        String proto = service.protocol().keyword();
        StringBuilder r = new StringBuilder("-A ").append(IptablesNames.POSTROUTING)
                .append(" -d ").append(host(b.address())).append(" -p ").append(proto)
                .append(" -m comment --comment ").append(quote(service.name() + " -> " + b.endpoint() + " masquerade"))
                .append(" -m conntrack --ctstate DNAT");
        service.listen().address().ifPresent(a -> r.append(" --ctorigdst ").append(a));
        r.append(" --ctorigdstport ").append(service.listen().port())
                .append(" -m ").append(proto).append(" --dport ").append(b.port()).append(" -j MASQUERADE");
        return r.toString();
    }

    private static String backendChain(Service service, Backend b) {
        return IptablesNames.backend(service.name(), b.endpoint());
    }

    private static String comment(Service service, Backend b) {
        return quote(IptablesNames.backendComment(service.name(), b.endpoint()));
    }

    private static String host(IpAddress a) {
        return a + (a.family() == IpAddress.Family.V4 ? "/32" : "/128");
    }

    private static String hostMask(IpAddress.Family family) {
        return family == IpAddress.Family.V4 ? "255.255.255.255" : "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    }

    private static long affinitySeconds(Duration d) {
        long s = d.toSeconds() + (d.toNanosPart() > 0 ? 1 : 0);
        if (s < 1 || s > Integer.MAX_VALUE) throw new IllegalArgumentException("affinity out of range: " + d);
        return s;
    }

    /** Two rules with one backend's comment would count it twice (the config step refuses this already). */
    private static void requireDistinctBackends(ServicePlan s) {
        Set<String> seen = new HashSet<>();
        for (BackendPlan b : s.backends()) {
            if (!seen.add(b.backend().endpoint())) {
                throw new IllegalArgumentException("service " + s.name() + " lists backend " + b.backend().endpoint() + " twice");
            }
        }
    }

    private static void requireUnique(List<String> chains) {
        Set<String> seen = new HashSet<>();
        for (String c : chains) {
            if (c.length() > IptablesNames.MAX_LENGTH) throw new IllegalStateException("chain name too long: " + c);
            if (!seen.add(c)) {
                throw new IllegalArgumentException("two chains would be named " + c + " (duplicate backend or service?)");
            }
        }
    }
}
