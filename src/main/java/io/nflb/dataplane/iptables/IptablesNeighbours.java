package io.nflb.dataplane.iptables;

import io.nflb.model.IpAddress.Family;
import io.nflb.model.NeighbourKind;
import io.nflb.model.PortRange;
import io.nflb.model.Prefix;
import io.nflb.model.Protocol;
import io.nflb.plan.Neighbour;
import io.nflb.plan.Neighbourhood;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Recognises the neighbours in one family's iptables-save output by the chains they own and the shapes of
 * their rules (Docker's DOCKER* chains, libvirt's LIBVIRT_*, kube-proxy's KUBE-*, ufw's ufw-* and ufw6-*,
 * firewalld's iptables backend, fail2ban's f2b-*, sshguard and CrowdSec), and reads from those rules what
 * nflb needs: bridges, subnets, published and node ports, services, kube-proxy's mark and pod network.
 * Chains and rules nobody claims are reported as others. Reads only; nflb's own chains are skipped.
 */
public final class IptablesNeighbours {

    private IptablesNeighbours() {
    }

    /** What {@code saved} (the iptables nflb writes, of {@code family}) shows of the neighbours. */
    public static Neighbourhood read(Family family, String saved) {
        return read(family, SavedTables.parse(saved));
    }

    static Neighbourhood read(Family family, SavedTables saved) {
        return new Reader(family, saved).read();
    }

    private static final class Reader {
        private final Family family;
        private final SavedTables saved;
        private final String via;
        private final Map<NeighbourKind, Neighbour.Builder> found = new EnumMap<>(NeighbourKind.class);
        /** Rules (by table and text) and chains that a neighbour accounts for. */
        private final Set<String> claimed = new LinkedHashSet<>();
        private final Set<Family> forwardDrop = new java.util.HashSet<>();
        private final List<Neighbourhood.Foreign> others = new ArrayList<>();

        Reader(Family family, SavedTables saved) {
            this.family = family;
            this.saved = saved;
            this.via = IptablesTool.command(family);
        }

        Neighbourhood read() {
            docker();
            libvirt();
            kubeProxy();
            ufw();
            firewalld();
            denyLists();
            policies();
            unclaimed();
            List<Neighbour> out = new ArrayList<>();
            for (Neighbour.Builder b : found.values()) out.add(b.build());
            return Neighbourhood.of(out, others, forwardDrop, List.of());
        }

        private Neighbour.Builder neighbour(NeighbourKind kind) {
            return found.computeIfAbsent(kind, k -> Neighbour.builder(k, via));
        }

        private Map<String, SavedTables.Chain> chains(String table) {
            SavedTables.Table t = saved.tables().get(table);
            return t == null ? Map.of() : t.chains();
        }

        private List<SavedTables.Rule> rules(String table, String chain) {
            SavedTables.Chain c = chains(table).get(chain);
            return c == null ? List.of() : c.rules();
        }

        private void claim(String table, SavedTables.Rule r) {
            claimed.add(table + " " + r.text());
        }

        /** Chains of {@code table} whose names {@code owner} recognises: evidence, and claimed with their rules. */
        private List<String> owned(String table, java.util.function.Predicate<String> owner) {
            List<String> out = new ArrayList<>();
            for (SavedTables.Chain c : chains(table).values()) {
                if (c.builtin() || IptablesNames.isOwnChain(c.name()) || !owner.test(c.name())) continue;
                out.add(c.name());
                claimed.add(table + " :" + c.name());
                c.rules().forEach(r -> claim(table, r));
            }
            return out;
        }

        /** Rules of built-in chains that jump to one of {@code targets}. */
        private void claimJumps(String table, Set<String> targets) {
            for (SavedTables.Chain c : chains(table).values()) {
                if (!c.builtin()) continue;
                for (SavedTables.Rule r : c.rules()) {
                    if (targets.contains(Words.of(r).target())) claim(table, r);
                }
            }
        }

        private void docker() {
            List<String> filter = owned("filter", n -> n.startsWith("DOCKER"));
            List<String> nat = owned("nat", n -> n.startsWith("DOCKER"));
            if (filter.isEmpty() && nat.isEmpty()) return;
            Neighbour.Builder d = neighbour(NeighbourKind.DOCKER);
            filter.forEach(c -> d.evidence("filter " + c));
            nat.forEach(c -> d.evidence("nat " + c));
            if (filter.contains("DOCKER-FORWARD")) d.derived("layout: Docker 28 or later (DOCKER-FORWARD)");
            else if (filter.contains("DOCKER-ISOLATION-STAGE-1")) d.derived("layout: Docker 27 or earlier (DOCKER-ISOLATION-STAGE-1)");
            if (filter.contains("DOCKER-USER")) d.userChain(family);
            Set<String> targets = new java.util.HashSet<>(filter);
            targets.addAll(nat);
            claimJumps("filter", targets);
            claimJumps("nat", targets);
            Set<String> bridges = new LinkedHashSet<>();
            for (String c : filter) for (SavedTables.Rule r : rules("filter", c)) interfaces(Words.of(r), bridges);
            for (String c : nat) for (SavedTables.Rule r : rules("nat", c)) interfaces(Words.of(r), bridges);
            for (SavedTables.Rule r : rules("filter", "FORWARD")) {
                Words w = Words.of(r);
                if (targets.contains(w.target())) interfaces(w, bridges);
            }
            // Docker 27 and earlier accept a bridge's traffic with rules of their own in FORWARD.
            for (SavedTables.Rule r : rules("filter", "FORWARD")) {
                Words w = Words.of(r);
                if (w.value("-i").map(bridges::contains).orElse(false) || w.value("-o").map(bridges::contains).orElse(false)) claim("filter", r);
            }
            bridges.forEach(d::iface);
            for (SavedTables.Rule r : rules("nat", "POSTROUTING")) {
                Words w = Words.of(r);
                Optional<String> out = w.value("-o");
                if (w.target().equals("MASQUERADE") && w.negated("-o") && out.isPresent() && bridges.contains(out.get())) {
                    w.value("-s").flatMap(Prefix::parse).ifPresent(p -> d.network(p, "nat POSTROUTING MASQUERADE ! -o " + out.get()));
                    claim("nat", r);
                } else if (w.target().equals("MASQUERADE") && w.value("-s").isPresent() && w.value("-s").equals(w.value("-d"))) {
                    claim("nat", r); // hairpin of a published port, Docker 27 and earlier
                }
            }
            for (String c : nat) {
                for (SavedTables.Rule r : rules("nat", c)) {
                    Words w = Words.of(r);
                    if (!w.target().equals("DNAT")) continue;
                    Optional<Protocol> proto = w.protocol();
                    Optional<PortRange> port = w.value("--dport").flatMap(Words::ports);
                    if (proto.isEmpty() || port.isEmpty()) continue;
                    Optional<String> into = w.negated("-i") ? w.value("-i") : Optional.empty();
                    String to = w.value("--to-destination").orElse("?");
                    d.published(new Neighbour.Port(proto.get(), port.get(), into.filter(i -> bridges.contains(i)),
                            "-> " + to + w.value("-d").map(a -> " on " + a).orElse("") + " (nat " + c + ")"));
                }
            }
            // Docker 28 drops direct access to a container's address from outside its bridge in raw PREROUTING.
            for (SavedTables.Rule r : rules("raw", "PREROUTING")) {
                Words w = Words.of(r);
                if (w.target().equals("DROP") && w.negated("-i") && w.value("-i").map(bridges::contains).orElse(false)) claim("raw", r);
            }
        }

        private void libvirt() {
            List<String> filter = owned("filter", n -> n.startsWith("LIBVIRT_"));
            List<String> nat = owned("nat", n -> n.startsWith("LIBVIRT_"));
            List<String> mangle = owned("mangle", n -> n.startsWith("LIBVIRT_"));
            if (filter.isEmpty() && nat.isEmpty() && mangle.isEmpty()) return;
            Neighbour.Builder l = neighbour(NeighbourKind.LIBVIRT);
            filter.forEach(c -> l.evidence("filter " + c));
            nat.forEach(c -> l.evidence("nat " + c));
            mangle.forEach(c -> l.evidence("mangle " + c));
            for (String t : List.of("filter", "nat", "mangle")) {
                claimJumps(t, new java.util.HashSet<>(t.equals("filter") ? filter : t.equals("nat") ? nat : mangle));
            }
            Set<String> bridges = new LinkedHashSet<>();
            for (String c : List.of("LIBVIRT_FWO", "LIBVIRT_FWI", "LIBVIRT_FWX")) {
                for (SavedTables.Rule r : rules("filter", c)) interfaces(Words.of(r), bridges);
            }
            bridges.forEach(l::iface);
            for (SavedTables.Rule r : rules("filter", "LIBVIRT_FWO")) {
                Words w = Words.of(r);
                if (w.target().equals("ACCEPT") && !w.negated("-s")) {
                    w.value("-s").flatMap(Prefix::parse).ifPresent(p -> l.network(p, "filter LIBVIRT_FWO -s " + p + " -j ACCEPT"));
                }
            }
            for (SavedTables.Rule r : rules("filter", "LIBVIRT_INP")) {
                Words w = Words.of(r);
                Optional<PortRange> port = w.value("--dport").flatMap(Words::ports);
                if (w.target().equals("ACCEPT") && w.protocol().isPresent() && port.isPresent()) {
                    l.service(new Neighbour.Port(w.protocol().get(), port.get(), w.value("-i").filter(bridges::contains),
                            "(" + serviceName(port.get().first()) + ", filter LIBVIRT_INP)"));
                }
            }
        }

        private void kubeProxy() {
            List<String> filter = owned("filter", n -> n.startsWith("KUBE-"));
            List<String> nat = owned("nat", n -> n.startsWith("KUBE-"));
            List<String> mangle = owned("mangle", n -> n.startsWith("KUBE-"));
            if (filter.isEmpty() && nat.isEmpty() && mangle.isEmpty()) return;
            Neighbour.Builder k = neighbour(NeighbourKind.KUBE_PROXY);
            evidence(k, "filter", filter);
            evidence(k, "nat", nat);
            evidence(k, "mangle", mangle);
            claimJumps("filter", new java.util.HashSet<>(filter));
            claimJumps("nat", new java.util.HashSet<>(nat));
            claimJumps("mangle", new java.util.HashSet<>(mangle));
            for (SavedTables.Rule r : rules("nat", "KUBE-MARK-MASQ")) {
                Words w = Words.of(r);
                w.value("--set-xmark").map(v -> v.split("/")[0]).flatMap(Words::hex).ifPresent(m -> {
                    k.mark(m);
                    k.derived("mark 0x" + Long.toHexString(m) + " from nat KUBE-MARK-MASQ");
                });
            }
            for (SavedTables.Rule r : rules("nat", "KUBE-NODEPORTS")) {
                Words w = Words.of(r);
                Optional<PortRange> port = w.value("--dport").flatMap(Words::ports);
                if (w.protocol().isPresent() && port.isPresent()) {
                    k.published(new Neighbour.Port(w.protocol().get(), port.get(), Optional.empty(),
                            "(" + IptablesDialect.comment(r.text()).map(c -> c + ", ").orElse("") + "nat KUBE-NODEPORTS)"));
                }
            }
            // kube-proxy masquerades service traffic from outside the cluster CIDR: "! -s CIDR ... -j KUBE-MARK-MASQ".
            for (String c : nat) {
                for (SavedTables.Rule r : rules("nat", c)) {
                    Words w = Words.of(r);
                    if (w.target().equals("KUBE-MARK-MASQ") && w.negated("-s")) {
                        w.value("-s").flatMap(Prefix::parse).ifPresent(p -> k.network(p, "nat " + c + " (! -s " + p + ", kube-proxy's cluster CIDR)"));
                    }
                }
            }
        }

        private void ufw() {
            String prefix = family == Family.V4 ? "ufw-" : "ufw6-";
            List<String> filter = owned("filter", n -> n.startsWith(prefix));
            if (filter.isEmpty()) return;
            Neighbour.Builder u = neighbour(NeighbourKind.UFW);
            u.evidence("filter " + prefix + "* (" + filter.size() + " chains)");
            claimJumps("filter", new java.util.HashSet<>(filter));
            for (SavedTables.Rule r : rules("filter", prefix + "user-input")) accepted(u, Words.of(r), "filter " + prefix + "user-input");
            policyNote(u);
        }

        private void firewalld() {
            // firewalld's iptables backend: zone chains IN_ZONE*, FWD_ZONE*, and the *_direct chains.
            List<String> filter = owned("filter", n -> n.endsWith("_direct") || n.endsWith("_ZONES") || n.matches("(IN|FWD|FWDI|FWDO|OUT)_[A-Za-z0-9_-]+"));
            if (filter.isEmpty()) return;
            Neighbour.Builder f = neighbour(NeighbourKind.FIREWALLD);
            f.evidence("filter " + String.join(", ", filter.size() > 6 ? filter.subList(0, 6) : filter) + (filter.size() > 6 ? ", ..." : ""));
            claimJumps("filter", new java.util.HashSet<>(filter));
            for (String c : filter) {
                if (c.startsWith("IN_") && c.endsWith("_allow")) for (SavedTables.Rule r : rules("filter", c)) accepted(f, Words.of(r), "filter " + c);
            }
            policyNote(f);
        }

        private void accepted(Neighbour.Builder b, Words w, String chain) {
            if (!w.target().equals("ACCEPT") || w.protocol().isEmpty()) return;
            Optional<String> ports = w.value("--dport").or(() -> w.value("--dports"));
            if (ports.isEmpty()) return;
            for (String p : ports.get().split(",")) {
                Words.ports(p).ifPresent(r -> b.service(new Neighbour.Port(w.protocol().get(), r, Optional.empty(), "")));
            }
            b.derived("allowed ports from " + chain);
        }

        private void policyNote(Neighbour.Builder b) {
            SavedTables.Chain input = chains("filter").get("INPUT");
            SavedTables.Chain forward = chains("filter").get("FORWARD");
            if (input != null && input.policy().equals("DROP")) b.derived("filter INPUT policy DROP");
            if (forward != null && forward.policy().equals("DROP")) b.derived("filter FORWARD policy DROP");
        }

        private void denyLists() {
            List<String> f2b = owned("filter", n -> n.startsWith("f2b-"));
            List<String> other = owned("filter", n -> IptablesNames.isDenyListChain(n) && !n.startsWith("f2b-"));
            for (var e : Map.of(NeighbourKind.FAIL2BAN, f2b, NeighbourKind.DENY_LIST, other).entrySet()) {
                if (e.getValue().isEmpty()) continue;
                Neighbour.Builder b = neighbour(e.getKey());
                for (String c : e.getValue()) {
                    List<String> from = new ArrayList<>();
                    for (SavedTables.Chain builtin : chains("filter").values()) {
                        if (!builtin.builtin()) continue;
                        for (SavedTables.Rule r : builtin.rules()) {
                            Words w = Words.of(r);
                            if (!w.target().equals(c)) continue;
                            claim("filter", r);
                            String ports = w.value("--dports").or(() -> w.value("--dport")).map(p -> " " + w.protocol().map(Protocol::keyword).orElse("") + "/" + p).orElse("");
                            from.add(builtin.name() + ports);
                        }
                    }
                    long banned = rules("filter", c).stream().filter(r -> Set.of("REJECT", "DROP").contains(Words.of(r).target())).count();
                    b.evidence("filter " + c + (from.isEmpty() ? "" : " (from " + String.join(", ", from) + ")") + ", " + banned
                            + (banned == 1 ? " address" : " addresses") + " refused");
                }
                b.derived("nflb's INPUT and FORWARD jumps stay below its jumps, so its bans hold");
            }
        }

        private void policies() {
            SavedTables.Chain forward = chains("filter").get("FORWARD");
            if (forward != null && forward.policy().equals("DROP")) forwardDrop.add(family);
        }

        private void unclaimed() {
            for (SavedTables.Table t : saved.tables().values()) {
                Set<String> userChains = new TreeSet<>();
                Set<String> ruleChains = new LinkedHashSet<>();
                boolean filters = false;
                for (SavedTables.Chain c : t.chains().values()) {
                    if (IptablesNames.isOwnChain(c.name())) continue;
                    if (!c.builtin()) {
                        if (!claimed.contains(t.name() + " :" + c.name())) userChains.add(c.name());
                        continue;
                    }
                    boolean attributed = found.containsKey(NeighbourKind.UFW) || found.containsKey(NeighbourKind.FIREWALLD)
                            || (c.name().equals("FORWARD") && found.containsKey(NeighbourKind.DOCKER));
                    if (t.name().equals("filter") && c.policy().equals("DROP") && !c.name().equals("OUTPUT") && !attributed) {
                        ruleChains.add(c.name() + " policy DROP");
                        filters = true;
                    }
                    for (SavedTables.Rule r : c.rules()) {
                        if (IptablesNames.targetsOwnChain(r.text()) || claimed.contains(t.name() + " " + r.text())) continue;
                        ruleChains.add("rules in " + c.name());
                        String target = Words.of(r).target();
                        if (t.name().equals("filter") && !c.name().equals("OUTPUT") && (target.equals("DROP") || target.equals("REJECT"))) filters = true;
                    }
                }
                if (userChains.isEmpty() && ruleChains.isEmpty()) continue;
                List<String> what = new ArrayList<>();
                if (!userChains.isEmpty()) what.add("chains " + String.join(", ", userChains));
                what.addAll(ruleChains);
                others.add(new Neighbourhood.Foreign(via + " " + t.name(), String.join("; ", what), filters));
            }
        }

        private static void evidence(Neighbour.Builder b, String table, List<String> chains) {
            // KUBE-SVC-*, KUBE-SEP-*, KUBE-EXT-* are one per service or endpoint: counted, not listed.
            Map<String, Integer> perService = new java.util.TreeMap<>();
            for (String c : chains) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("(KUBE-(?:SVC|SEP|EXT|FW|SVL|XLB)-).*").matcher(c);
                if (m.matches()) perService.merge(m.group(1) + "*", 1, Integer::sum);
                else b.evidence(table + " " + c);
            }
            perService.forEach((p, n) -> b.evidence(table + " " + p + " (" + n + ")"));
        }

        private static void interfaces(Words w, Set<String> into) {
            w.value("-i").ifPresent(into::add);
            w.value("-o").ifPresent(into::add);
        }

        private static String serviceName(int port) {
            return switch (port) {
                case 53 -> "DNS";
                case 67 -> "DHCP";
                case 547 -> "DHCPv6";
                default -> "port " + port;
            };
        }
    }

    /** One rule's words, with the value of an option and whether it is negated ("! -i docker0"). */
    record Words(List<String> words) {

        static Words of(SavedTables.Rule r) {
            try {
                return new Words(IptablesDialect.words(r.text()));
            } catch (IllegalArgumentException unterminated) {
                return new Words(List.of());
            }
        }

        Optional<String> value(String option) {
            int i = words.indexOf(option);
            return i >= 0 && i + 1 < words.size() ? Optional.of(words.get(i + 1)) : Optional.empty();
        }

        boolean negated(String option) {
            int i = words.indexOf(option);
            return i > 0 && words.get(i - 1).equals("!");
        }

        String target() {
            return value("-j").or(() -> value("-g")).orElse("");
        }

        Optional<Protocol> protocol() {
            return value("-p").flatMap(p -> java.util.Arrays.stream(Protocol.values()).filter(x -> x.keyword().equals(p)).findFirst());
        }

        static Optional<PortRange> ports(String text) {
            String[] p = text.split(":");
            try {
                if (p.length == 1) return Optional.of(PortRange.of(Integer.parseInt(p[0])));
                if (p.length == 2) return Optional.of(new PortRange(Integer.parseInt(p[0]), Integer.parseInt(p[1])));
            } catch (IllegalArgumentException e) {
                return Optional.empty();
            }
            return Optional.empty();
        }

        static Optional<Long> hex(String text) {
            try {
                return Optional.of(Long.decode(text));
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        }
    }
}
