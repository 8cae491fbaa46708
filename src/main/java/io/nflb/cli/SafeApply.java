package io.nflb.cli;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.Dataplane;
import io.nflb.dataplane.Dataplanes;
import io.nflb.host.Exec;
import io.nflb.model.Config;
import io.nflb.model.IpAddress;
import io.nflb.plan.Planner;
import io.nflb.state.Generations;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What apply --confirm, confirm and rollback share. */
final class SafeApply {

    private static final Pattern DURATION = Pattern.compile("([0-9]{1,6})(ms|s|m|h)");
    static final String TIMER_LOG = "confirm-timer.log";

    private SafeApply() {
    }

    static Duration duration(String text) {
        Matcher m = DURATION.matcher(text == null ? "" : text);
        if (!m.matches()) throw new Main.UsageException("'" + text + "' is not a duration; expected e.g. 60s, 2m or 500ms");
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        };
        if (d.isZero()) throw new Main.UsageException("the confirmation time must be positive");
        return d;
    }

    /**
     * Puts generation {@code target} (0: nothing of nflb's) in the kernel in place of {@code from}: the target's
     * config goes through the normal apply, which touches only nflb's own rules; if {@code from} used the other
     * backend, that backend's rules are removed.
     */
    static String rollback(Dataplanes dataplanes, Generations g, int from, int target, Exec exec) throws Exception {
        String fromBackend = from > 0 && java.nio.file.Files.isDirectory(g.path(from)) ? g.backend(from) : "";
        String summary;
        String used = "";
        if (target == 0) {
            StringBuilder sb = new StringBuilder();
            List<Dataplane> loaded = fromBackend.isEmpty() ? dataplanes.all(exec) : List.of(dataplanes.named(fromBackend, exec));
            for (Dataplane dp : loaded) sb.append(dp.flush().summary()).append('\n');
            summary = sb.toString().strip();
        } else {
            Config c = ConfigLoader.parse(g.path(target).resolve(Generations.CONFIG).toString(), g.config(target));
            Dataplane dp = dataplanes.forKind(c.backend(), exec);
            summary = dp.apply(Planner.plan(c)).summary();
            used = dp.name();
        }
        if (!fromBackend.isEmpty() && target != 0 && !fromBackend.equals(used)) {
            summary += "\n" + dataplanes.named(fromBackend, exec).flush().summary();
        }
        g.setCurrent(target);
        return "rolled back from generation " + from + " to " + (target == 0 ? "0 (nothing of nflb's)" : "generation " + target)
                + "\n" + summary;
    }

    /**
     * Starts the confirmation timer as a process of its own, in a new session (setsid) with no terminal and
     * its output in the state directory: losing the SSH session that started it does not stop it.
     */
    static long startTimer(Generations g, String token, Duration after, Optional<String> netns) throws IOException {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> argv = new ArrayList<>(List.of("setsid", java, "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "rollback", "--unless-confirmed", token, "--after", after.toMillis() + "ms",
                "--state-dir", g.dir().toString()));
        netns.ifPresent(n -> argv.addAll(List.of("--netns", n)));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectInput(new File("/dev/null")).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(g.dir().resolve(TIMER_LOG).toFile()));
        return pb.start().pid();
    }

    /**
     * What is wrong with an `apply --confirm` waiting in {@code g}: its timer process is gone (killed, or the
     * machine rebooted), or it is past its time and has not acted. Empty when nothing waits or the timer is fine.
     */
    static Optional<String> deadTimer(Generations g) {
        Optional<Generations.Pending> p = g.pending();
        if (p.isEmpty() || p.get().timerPid() == 0) return Optional.empty();
        Generations.Pending w = p.get();
        boolean alive = ProcessHandle.of(w.timerPid()).filter(ProcessHandle::isAlive)
                .filter(h -> h.info().commandLine().map(cl -> cl.contains(w.token())).orElse(true)).isPresent();
        String what = "generation " + w.applied() + " waits for `nflb confirm`, but its rollback timer (pid " + w.timerPid() + ")";
        String then = ": nothing will roll it back by itself. Run `nflb confirm` to keep it or `nflb rollback` to go back to "
                + (w.previous() == 0 ? "none of nflb's rules" : "generation " + w.previous()) + ".";
        if (!alive) return Optional.of("WARNING: " + what + " is gone" + then);
        long late = System.currentTimeMillis() - w.deadlineMillis();
        if (w.deadlineMillis() > 0 && late > 60_000) {
            return Optional.of("WARNING: " + what + " is " + late / 1000 + " s late and has not acted" + then);
        }
        return Optional.empty();
    }

    /** The interface the kernel routes {@code a} through, from {@code ip -o route get}. */
    static Optional<String> routeInterface(Exec exec, IpAddress a) {
        Exec.Result r = exec.run(List.of("ip", "-o", "route", "get", a.toString()));
        if (!r.ok()) return Optional.empty();
        String[] w = r.stdout().split("\\s+");
        for (int i = 0; i + 1 < w.length; i++) if (w[i].equals("dev")) return Optional.of(w[i + 1]);
        return Optional.empty();
    }
}
