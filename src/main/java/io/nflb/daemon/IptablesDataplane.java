package io.nflb.daemon;

import io.nflb.kernel.ApplyResult;
import io.nflb.kernel.Exec;
import io.nflb.kernel.FlushResult;
import io.nflb.kernel.IptablesKernel;
import io.nflb.kernel.RuleCounters;
import io.nflb.kernel.Tools;
import io.nflb.plan.Plan;
import io.nflb.render.IptablesRenderer;
import io.nflb.render.IptablesRuleset;
import io.nflb.render.IptablesRuleset.Family;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** nflb on iptables: one kernel per address family; IPv6 is touched only when ip6tables exists. */
public final class IptablesDataplane implements Dataplane {

    /** The renderer's comment on backend rules: "service -> endpoint". */
    private static final Pattern BACKEND_COMMENT = Pattern.compile("(\\S+) -> (\\S+)");

    private static final String NO_BACKEND = " has no usable backend";

    private final List<IptablesKernel> kernels = new ArrayList<>();

    public IptablesDataplane(Exec exec) {
        kernels.add(new IptablesKernel(exec, Family.IPV4));
        if (Tools.has("ip6tables-restore")) kernels.add(new IptablesKernel(exec, Family.IPV6));
    }

    /** Over given kernels, e.g. {@link io.nflb.kernel.FakeIptablesTool}s in unit tests; one per family at most. */
    public IptablesDataplane(List<IptablesKernel> kernels) {
        this.kernels.addAll(kernels);
    }

    @Override
    public String name() {
        return "iptables";
    }

    @Override
    public String preview(Plan plan, boolean live) {
        StringBuilder sb = new StringBuilder();
        for (Family family : Family.values()) {
            IptablesRuleset wanted = IptablesRenderer.render(plan, family);
            String current = "";
            if (live) {
                IptablesKernel k = kernel(family);
                if (k == null) continue;
                current = k.save();
            } else if (wanted.tables().isEmpty()) {
                continue;
            }
            String tx = IptablesKernel.transaction(wanted, current);
            if (tx.isEmpty()) continue;
            if (family == Family.IPV6 || sb.length() > 0) sb.append("# ").append(family.tool()).append("-restore --noflush\n");
            sb.append(tx);
        }
        return sb.toString();
    }

    @Override
    public Outcome apply(Plan plan) {
        // Refuse before touching anything: half a config applied is worse than none.
        if (plan.services().stream().anyMatch(s -> IptablesRenderer.family(s.service()) == Family.IPV6) && kernel(Family.IPV6) == null) {
            throw new IllegalStateException("the config has IPv6 services but ip6tables is not installed");
        }
        if (plan.firewall().isPresent() && kernel(Family.IPV6) == null) {
            // IPv4 filtered and IPv6 wide open would be worse than an error.
            throw new IllegalStateException("the firewall needs ip6tables to filter IPv6, and it is not installed");
        }
        StringBuilder sent = new StringBuilder();
        List<String> summary = new ArrayList<>();
        boolean changed = false;
        for (IptablesKernel k : kernels) {
            ApplyResult r = k.apply(IptablesRenderer.render(plan, k.family()));
            if (!r.changed()) continue;
            changed = true;
            sent.append(r.transaction());
            summary.add(k.family().tool() + ": " + r.chainsWritten() + " chains written, " + r.chainsRemoved()
                    + " removed, " + r.jumpsInserted() + " jumps added, " + r.jumpsDeleted() + " removed in "
                    + r.took().toMillis() + " ms");
        }
        return new Outcome(changed, sent.toString(), changed ? String.join("; ", summary) : "iptables: already up to date");
    }

    @Override
    public Outcome flush() {
        StringBuilder sent = new StringBuilder();
        List<String> summary = new ArrayList<>();
        for (IptablesKernel k : kernels) {
            FlushResult r = k.flush();
            if (!r.changed()) continue;
            sent.append(r.transaction());
            summary.add(k.family().tool() + ": " + r.chainsRemoved() + " chains and " + r.jumpsDeleted() + " jumps removed");
        }
        return new Outcome(!summary.isEmpty(), sent.toString(), summary.isEmpty() ? "iptables: nothing of nflb's installed" : String.join("; ", summary));
    }

    @Override
    public boolean installed() {
        for (IptablesKernel k : kernels) {
            if (!k.installed().tables().isEmpty()) return true;
        }
        return false;
    }

    @Override
    public List<BackendTraffic> traffic() {
        List<BackendTraffic> out = new ArrayList<>();
        for (IptablesKernel k : kernels) {
            for (RuleCounters c : k.counters()) {
                if (!c.rule().contains("-j DNAT") || c.comment().isEmpty()) continue;
                Matcher m = BACKEND_COMMENT.matcher(c.comment().get());
                if (m.matches()) out.add(new BackendTraffic(m.group(1), m.group(2), c.packets(), c.bytes()));
            }
        }
        return out;
    }

    /** From the comments of the NFLB-REJECT rules: "NAME has no usable backend". */
    @Override
    public List<String> rejecting() {
        List<String> out = new ArrayList<>();
        for (IptablesKernel k : kernels) {
            for (RuleCounters c : k.counters()) {
                if (!c.chain().equals(io.nflb.render.ChainNames.REJECT) || c.comment().isEmpty()) continue;
                String comment = c.comment().get();
                if (comment.endsWith(NO_BACKEND)) out.add(comment.substring(0, comment.length() - NO_BACKEND.length()));
            }
        }
        return out;
    }

    private IptablesKernel kernel(Family family) {
        return kernels.stream().filter(k -> k.family() == family).findFirst().orElse(null);
    }
}
