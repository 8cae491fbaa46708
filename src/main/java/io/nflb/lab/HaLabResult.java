package io.nflb.lab;

import io.nflb.model.Json;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What one run of the two-router lab measured, next to issue 12's goals. Every figure comes from the client's
 * record of its own connections and the routers' own view of which flow crossed which router.
 */
public record HaLabResult(String mode, String backend, boolean conntrackSync, String failure, String load,
                          Long failoverMs, Group established, int newTried, int newOk, long maxStallMs,
                          int brokenAfterReturn, int newAfterReturnTried, int newAfterReturnOk, boolean r1Ready,
                          Group r1Flows, Group r2Flows) {

    /** Flows of one kind: how many, how many lived through the run without a failed answer, kept their backend, never stalled. */
    public record Group(int total, int survived, int failedAnswers, int resets, int keptBackend, int untouched, long maxStallMs) {
        String json() {
            return "{\"total\":" + total + ",\"survived\":" + survived + ",\"failed_answers\":" + failedAnswers
                    + ",\"resets\":" + resets + ",\"kept_backend\":" + keptBackend + ",\"untouched\":" + untouched
                    + ",\"max_stall_ms\":" + maxStallMs + "}";
        }
    }

    public boolean ecmp() {
        return mode.equals("ecmp");
    }

    public String toJson() {
        StringBuilder sb = new StringBuilder("{\"mode\":").append(Json.str(mode))
                .append(",\"backend\":").append(Json.str(backend))
                .append(",\"failure\":").append(Json.str(failure))
                .append(",\"conntrack_sync\":").append(conntrackSync)
                .append(",\"failover_ms\":").append(failoverMs == null ? "null" : failoverMs.toString())
                .append(",\"established\":{\"total\":").append(established.total()).append(",\"survived\":").append(established.survived())
                .append(",\"failed_answers\":").append(established.failedAnswers()).append(",\"resets\":").append(established.resets()).append('}')
                .append(",\"new_after_failover\":{\"tried\":").append(newTried).append(",\"ok\":").append(newOk).append('}')
                .append(",\"kept_backend\":").append(ecmp() ? r1Flows.keptBackend() : established.keptBackend())
                .append(",\"max_stall_ms\":").append(maxStallMs)
                .append(",\"r1_back\":{\"established_broken\":").append(brokenAfterReturn).append(",\"new_tried\":")
                .append(newAfterReturnTried).append(",\"new_ok\":").append(newAfterReturnOk)
                .append(",\"rules_loaded\":").append(r1Ready).append('}');
        if (ecmp()) sb.append(",\"r1_flows\":").append(r1Flows.json()).append(",\"r2_flows\":").append(r2Flows.json());
        return sb.append(",\"load\":").append(Json.str(load)).append('}').toString();
    }

    /** The table: measure, goal, what this run measured. */
    public String toTable() {
        List<String[]> rows = new ArrayList<>();
        String how = failure.equals("sigkill") ? "r1's keepalived SIGKILLed" : failure.equals("linkdown") ? "r1's client link down" : "r1 gone (all links)";
        rows.add(new String[]{"new connections succeed again after " + how, ecmp() ? "-" : "<= 1 s (advert 200 ms)",
                failoverMs == null ? "never within the run" : failoverMs + " ms (" + newOk + " of " + newTried + " new connections ok after the failure)"});
        if (!ecmp()) {
            String est = established.survived() + " of " + established.total() + " survived; " + established.failedAnswers()
                    + " failed answers (" + established.resets() + " resets); worst wait " + maxStallMs + " ms";
            rows.add(new String[]{conntrackSync ? "established connections (with conntrackd)" : "established connections (without conntrackd)",
                    conntrackSync ? "50 of 50; 0 resets" : "reported honestly (they are reset)", est});
        } else {
            rows.add(new String[]{"r1's flows that kept their backend and lived on through r2", ">= 49 of 50, no state sync",
                    r1Flows.keptBackend() + " of " + r1Flows.total() + " (" + r1Flows.survived() + " survived; worst wait " + r1Flows.maxStallMs() + " ms)"});
            rows.add(new String[]{"flows that were on r2 (both ways)", "50 of 50 untouched",
                    r2Flows.untouched() + " of " + r2Flows.total() + " untouched (worst wait " + r2Flows.maxStallMs() + " ms)"});
        }
        rows.add(new String[]{"r1 comes back", "no established connection broken",
                brokenAfterReturn + " broken; " + newAfterReturnOk + " of " + newAfterReturnTried + " new connections ok; "
                        + (r1Ready ? "r1's rules loaded" + (ecmp() ? "" : ", held") + " (warm standby)" : "r1's rules NOT ready")});
        int w0 = rows.stream().mapToInt(r -> r[0].length()).max().orElse(10);
        int w1 = rows.stream().mapToInt(r -> r[1].length()).max().orElse(10);
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%s, %s%s, %s (load %s)%n", mode, backend,
                ecmp() ? "" : conntrackSync ? " with conntrackd" : " without conntrackd", how, load));
        sb.append(String.format(Locale.ROOT, "  %-" + w0 + "s | %-" + w1 + "s | %s%n", "measure", "goal", "measured"));
        for (String[] r : rows) sb.append(String.format(Locale.ROOT, "  %-" + w0 + "s | %-" + w1 + "s | %s%n", r[0], r[1], r[2]));
        return sb.toString();
    }
}
