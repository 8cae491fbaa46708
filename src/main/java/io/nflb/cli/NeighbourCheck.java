package io.nflb.cli;

import io.nflb.config.ConfigException;
import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.Dataplane;
import io.nflb.model.Firewall;
import io.nflb.plan.NeighbourGuard;
import io.nflb.plan.Neighbourhood;
import io.nflb.plan.Plan;
import io.nflb.state.Generations;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What apply and diff say about the neighbours: what was found and where each fact came from, the flows
 * whose fate the new firewall changes (against the firewall installed now: the current generation's, or
 * none when nflb has nothing in the kernel), and warnings that change no flow.
 */
record NeighbourCheck(Neighbourhood found, Plan plan, List<NeighbourGuard.Change> changes, List<String> warnings) {

    static NeighbourCheck of(Dataplane dp, Plan plan, Generations g) {
        Neighbourhood found = dp.neighbours();
        Plan p = plan.withNeighbours(found);
        // No neighbour, no flow whose fate could change: the installed firewall (a config to read) is not needed.
        Optional<Firewall> installed = found.found().isEmpty() ? Optional.empty() : installedFirewall(dp, g);
        List<NeighbourGuard.Change> changes = NeighbourGuard.changes(found, installed, plan.firewall());
        return new NeighbourCheck(found, p, changes, NeighbourGuard.warnings(p));
    }

    /** The firewall nflb has in the kernel now, as far as the generations know; empty when nflb has none there. */
    static Optional<Firewall> installedFirewall(Dataplane dp, Generations g) {
        int current = g.current();
        if (current == 0 || !dp.installed()) return Optional.empty();
        try {
            return ConfigLoader.parse(g.path(current).resolve(Generations.CONFIG).toString(), g.config(current)).firewall();
        } catch (IOException | ConfigException | RuntimeException e) {
            // Unknown: taken as no firewall, so that every neighbour flow it would drop is said.
            return Optional.empty();
        }
    }

    List<NeighbourGuard.Change> drops() {
        return changes.stream().filter(NeighbourGuard.Change::dropsNow).toList();
    }

    List<NeighbourGuard.Change> opens() {
        return changes.stream().filter(c -> !c.dropsNow()).toList();
    }

    /** The neighbours as found, and the tables nflb does not own that also filter. */
    List<String> description() {
        return found.describe(plan.firewall(), false);
    }

    /** diff's block, every line a comment: what apply would change in the neighbours' traffic, the warnings. */
    String diffBlock() {
        List<String> lines = new ArrayList<>();
        if (!drops().isEmpty()) {
            lines.add("neighbour traffic apply would DROP (apply refuses without --force):");
            drops().forEach(c -> lines.add(c.line()));
        }
        if (!opens().isEmpty()) {
            lines.add("neighbour traffic apply would let through:");
            opens().forEach(c -> lines.add(c.line()));
        }
        warnings.forEach(w -> lines.add("warning: " + w));
        StringBuilder sb = new StringBuilder();
        for (String l : lines) sb.append("# ").append(l).append('\n');
        return sb.toString();
    }
}
