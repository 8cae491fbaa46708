package io.nflb.dataplane.iptables;

import io.nflb.dataplane.Dataplane;
import io.nflb.dataplane.NeighbourReader;
import io.nflb.explain.ShareReport;
import io.nflb.host.Exec;
import io.nflb.host.Forwarding;
import io.nflb.host.Tools;
import io.nflb.model.IpAddress.Family;
import io.nflb.model.Service;
import io.nflb.plan.Neighbourhood;
import io.nflb.plan.Plan;
import io.nflb.state.UnifiedDiff;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/** nflb on iptables: one kernel per address family; IPv6 is touched only when ip6tables exists. */
public final class IptablesDataplane implements Dataplane {

    private final List<IptablesKernel> kernels = new ArrayList<>();
    /** Where the tools run; null over given kernels (tests), where there is no machine to configure. */
    private final Exec exec;
    /** What the other rule language (nftables) shows of the neighbours. */
    private final NeighbourReader others;

    public IptablesDataplane(Exec exec) {
        this(exec, NeighbourReader.NONE);
    }

    /** {@code others}: the neighbours in nftables, which this dataplane's own reading of iptables cannot see. */
    public IptablesDataplane(Exec exec, NeighbourReader others) {
        this.exec = exec;
        this.others = others;
        kernels.add(new IptablesKernel(exec, Family.V4));
        if (Tools.has("ip6tables-restore")) kernels.add(new IptablesKernel(exec, Family.V6));
    }

    /** Over given kernels, e.g. fake tools in unit tests; one per family at most. */
    public IptablesDataplane(List<IptablesKernel> kernels) {
        this(kernels, NeighbourReader.NONE);
    }

    public IptablesDataplane(List<IptablesKernel> kernels, NeighbourReader others) {
        this.exec = null;
        this.others = others;
        this.kernels.addAll(kernels);
    }

    @Override
    public Neighbourhood neighbours() {
        return neighbours(saves());
    }

    /** Every family's tables, read once for recognition and the transaction alike. */
    private Map<Family, SavedTables> saves() {
        Map<Family, SavedTables> out = new EnumMap<>(Family.class);
        for (IptablesKernel k : kernels) out.put(k.family(), SavedTables.parse(k.save()));
        return out;
    }

    private Neighbourhood neighbours(Map<Family, SavedTables> saves) {
        Neighbourhood n = Neighbourhood.empty();
        for (var e : saves.entrySet()) n = n.merge(IptablesNeighbours.read(e.getKey(), e.getValue()));
        n = NeighbourReader.podNetworksFromRoutes(n.merge(others.read()), exec);
        if (n.forwardDrop().isEmpty()) return n;
        return n.withNotes(List.of("iptables FORWARD policy DROP drops what no iptables rule accepts: nflb accepts its own balanced"
                + " and forward: traffic there, in NFLB-FORWARD with a forward drop of its own, else in chain " + IptablesNames.PASS));
    }

    /**
     * {@code plan} next to the neighbours, read from {@code saves} (and the other language) unless it already is;
     * without a firewall only the FORWARD policies matter (a DROP there needs nflb's pass), and they are in the saves.
     */
    private Plan withNeighbours(Plan plan, Map<Family, SavedTables> saves) {
        if (plan.neighbours().read()) return plan;
        if (plan.firewall().isPresent()) return plan.withNeighbours(neighbours(saves));
        java.util.Set<Family> drop = java.util.EnumSet.noneOf(Family.class);
        for (var e : saves.entrySet()) drop.addAll(IptablesNeighbours.read(e.getKey(), e.getValue()).forwardDrop());
        return plan.withNeighbours(Neighbourhood.of(List.of(), List.of(), drop, List.of()));
    }

    @Override
    public String name() {
        return "iptables";
    }

    /**
     * What iptables would refuse in a valid config: two services or backends whose shortened chain names (or
     * hashlimit table names) come out the same. Said before anything is applied, at the second of each pair.
     */
    public static List<io.nflb.model.Refusal> refusals(io.nflb.model.Config config) {
        List<io.nflb.model.Refusal> out = new ArrayList<>();
        java.util.Map<String, String> owners = new java.util.HashMap<>();
        for (Service s : config.services()) {
            List<String[]> names = new ArrayList<>();
            names.add(new String[] {IptablesNames.service(s.name()), null});
            s.limits().ifPresent(l -> {
                names.add(new String[] {IptablesNames.limits(s.name()), null});
                if (l.perSourceRate().isPresent()) names.add(new String[] {IptablesNames.hashlimit(s.name()), null});
            });
            for (io.nflb.model.Backend b : s.backends()) names.add(new String[] {IptablesNames.backend(s.name(), b.endpoint()), b.endpoint()});
            for (String[] n : names) {
                String who = "service '" + s.name() + "'" + (n[1] == null ? "" : " backend " + n[1]);
                String first = owners.putIfAbsent(n[0], who);
                if (first == null || first.equals(who)) continue;
                String message = "iptables would name " + who + " and " + first + " the same (" + n[0]
                        + ", shortened to fit iptables' limit); rename the service, or use 'backend: nftables'";
                out.add(n[1] == null ? io.nflb.model.Refusal.ofService(s.name(), message)
                        : io.nflb.model.Refusal.ofBackend(s.name(), n[1], message));
            }
        }
        return out;
    }

    @Override
    public String plan(Plan plan, boolean live) {
        StringBuilder sb = new StringBuilder();
        Map<Family, SavedTables> saves = live ? saves() : Map.of();
        if (live) plan = withNeighbours(plan, saves);
        for (Family family : Family.values()) {
            IptablesRuleset wanted = IptablesRenderer.render(plan, family);
            SavedTables current = SavedTables.parse("");
            if (live) {
                if (!saves.containsKey(family)) continue;
                current = saves.get(family);
            } else if (wanted.tables().isEmpty()) {
                continue;
            }
            String tx = IptablesTransaction.between(wanted, current).text();
            if (tx.isEmpty()) continue;
            if (family == Family.V6 || sb.length() > 0) sb.append("# ").append(IptablesTool.command(family)).append("-restore --noflush\n");
            sb.append(tx);
        }
        return sb.toString();
    }

    @Override
    public Outcome apply(Plan plan) {
        // Refuse before touching anything: half a config applied is worse than none.
        if (plan.services().stream().anyMatch(s -> s.service().family() == Family.V6) && kernel(Family.V6) == null) {
            throw new IllegalStateException("the config has IPv6 services but ip6tables is not installed");
        }
        if (plan.firewall().isPresent() && kernel(Family.V6) == null) {
            // IPv4 filtered and IPv6 wide open would be worse than an error.
            throw new IllegalStateException("the firewall needs ip6tables to filter IPv6, and it is not installed");
        }
        StringBuilder sent = new StringBuilder();
        List<String> summary = new ArrayList<>();
        Map<Family, SavedTables> saves = saves();
        plan = withNeighbours(plan, saves);
        for (IptablesKernel k : kernels) {
            long start = System.nanoTime();
            IptablesTransaction tx = k.apply(IptablesRenderer.render(plan, k.family()), saves.get(k.family()));
            if (tx.isEmpty()) continue;
            sent.append(tx.text());
            summary.add(IptablesTool.command(k.family()) + ": " + tx.chainsWritten() + " chains written, " + tx.chainsRemoved()
                    + " removed, " + tx.jumpsInserted() + " jumps added, " + tx.jumpsDeleted() + " removed in "
                    + (System.nanoTime() - start) / 1_000_000 + " ms");
        }
        boolean changed = !summary.isEmpty();
        return new Outcome(changed, sent.toString(), changed ? String.join("; ", summary) : "iptables: already up to date");
    }

    /** Every apply already diffs against iptables-save: a transaction that is not empty is a repair. */
    @Override
    public Outcome verify(Plan plan) {
        return apply(plan);
    }

    @Override
    public List<String> enableForwarding(List<Service> services) {
        return exec == null ? List.of() : Forwarding.ensureFor(exec, services);
    }

    @Override
    public Outcome flush() {
        StringBuilder sent = new StringBuilder();
        List<String> summary = new ArrayList<>();
        for (IptablesKernel k : kernels) {
            IptablesTransaction tx = k.flush();
            if (tx.isEmpty()) continue;
            sent.append(tx.text());
            summary.add(IptablesTool.command(k.family()) + ": " + tx.chainsRemoved() + " chains and " + tx.jumpsDeleted() + " jumps removed");
        }
        return new Outcome(!summary.isEmpty(), sent.toString(), summary.isEmpty() ? "iptables: nothing of nflb's installed" : String.join("; ", summary));
    }

    @Override
    public boolean installed() {
        for (IptablesKernel k : kernels) {
            for (IptablesRuleset.Table t : k.installed().tables()) {
                // The nftables backend's pass through a FORWARD policy DROP is not this backend's rules.
                if (t.chains().stream().anyMatch(c -> !c.equals(IptablesNames.PASS))) return true;
                if (t.jumps().stream().anyMatch(j -> !j.spec().endsWith(" -j " + IptablesNames.PASS))) return true;
            }
        }
        return false;
    }

    @Override
    public String diff(Plan plan, String source) {
        StringBuilder out = new StringBuilder();
        Map<Family, SavedTables> saves = saves();
        plan = withNeighbours(plan, saves);
        for (IptablesKernel k : kernels) {
            SavedTables save = saves.get(k.family());
            IptablesRuleset want = IptablesRenderer.render(plan, k.family());
            if (IptablesTransaction.between(want, save).isEmpty()) continue; // the kernel's own word: nothing to do
            String tool = IptablesTool.command(k.family());
            String live = canonical(IptablesKernel.installed(save, k.family()));
            out.append(UnifiedDiff.of(tool + " (live, nflb's chains)", live, tool + " (" + source + ")", canonical(want)));
        }
        return out.toString();
    }

    /** Tables and chains by name (iptables-save's order is not nflb's), each chain's rules in their order. */
    private static String canonical(IptablesRuleset r) {
        StringBuilder sb = new StringBuilder();
        List<IptablesRuleset.Table> tables = new ArrayList<>(r.tables());
        tables.sort(Comparator.comparing(IptablesRuleset.Table::name));
        for (IptablesRuleset.Table t : tables) {
            sb.append('*').append(t.name()).append('\n');
            List<String> chains = new ArrayList<>(t.chains());
            chains.sort(null);
            for (String c : chains) sb.append(':').append(c).append(" - [0:0]\n");
            for (IptablesRuleset.Jump j : t.jumps()) sb.append("-A ").append(j.chain()).append(' ').append(j.spec()).append('\n');
            for (String c : chains) {
                for (String rule : t.rules()) if (rule.startsWith("-A " + c + " ")) sb.append(rule).append('\n');
            }
            sb.append("COMMIT\n");
        }
        return sb.toString();
    }

    @Override
    public ShareReport explain(Plan plan) {
        return IptablesExplainer.explain(plan);
    }

    /**
     * Per backend: the sum of the counters of its DNAT rules, found by the comment nflb gives them (a
     * round-robin backend has one rule per slot of the cycle, any other one rule).
     */
    @Override
    public List<BackendTraffic> traffic() {
        java.util.Map<List<String>, long[]> sums = new java.util.LinkedHashMap<>();
        for (IptablesKernel k : kernels) {
            for (RuleCounters c : k.counters()) {
                if (c.comment().isEmpty() || !"DNAT".equals(IptablesDialect.target(c.rule()).orElse(""))) continue;
                IptablesNames.parseBackendComment(c.comment().get()).ifPresent(sb -> {
                    long[] sum = sums.computeIfAbsent(List.of(sb[0], sb[1]), key -> new long[2]);
                    sum[0] += c.packets();
                    sum[1] += c.bytes();
                });
            }
        }
        List<BackendTraffic> out = new ArrayList<>();
        sums.forEach((key, sum) -> out.add(new BackendTraffic(key.get(0), key.get(1), sum[0], sum[1])));
        return out;
    }

    /** From the comments of the {@link IptablesNames#REJECT} rules. */
    @Override
    public List<String> rejecting() {
        List<String> out = new ArrayList<>();
        for (IptablesKernel k : kernels) {
            for (RuleCounters c : k.counters()) {
                if (!c.chain().equals(IptablesNames.REJECT)) continue;
                c.comment().flatMap(IptablesNames::parseRejectComment).ifPresent(out::add);
            }
        }
        return out;
    }

    private IptablesKernel kernel(Family family) {
        return kernels.stream().filter(k -> k.family() == family).findFirst().orElse(null);
    }
}
