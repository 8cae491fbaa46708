package io.nflb.ha;

import io.nflb.host.Exec;
import io.nflb.model.Config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** Writes a router's ha files (keepalived.conf, conntrackd.conf when synced, ha.properties) and checks keepalived's. */
public record HaFiles(HaLayout layout, HaPlan plan, String keepalived, Optional<String> conntrackd) {

    public static HaFiles render(Config config, HaFacts facts, HaLayout layout, String routerName, KeepalivedConf.Hooks hooks) {
        boolean synced = config.ha().orElseThrow().sync().isPresent();
        Optional<String> ctd = synced ? Optional.of(ConntrackdConf.render(config, facts, layout)) : Optional.empty();
        HaPlan plan = HaPlan.of(config, facts, synced ? Optional.of(layout.conntrackdConf()) : Optional.empty());
        return new HaFiles(layout, plan, KeepalivedConf.render(config, facts, routerName, hooks), ctd);
    }

    /** Renders and writes them; {@code exec} (where keepalived will run) checks keepalived.conf with {@code keepalived -t}. */
    public static HaFiles write(Config config, HaFacts facts, HaLayout layout, String routerName, KeepalivedConf.Hooks hooks,
                                Exec exec) throws IOException {
        HaFiles f = render(config, facts, layout, routerName, hooks);
        Files.createDirectories(layout.dir());
        Files.writeString(layout.keepalivedConf(), f.keepalived());
        if (f.conntrackd().isPresent()) Files.writeString(layout.conntrackdConf(), f.conntrackd().get());
        else Files.deleteIfExists(layout.conntrackdConf());
        f.plan().write(layout.dir());
        if (exec != null) {
            Exec.Result r = exec.run(List.of("keepalived", "-t", "-f", layout.keepalivedConf().toString()), null, Duration.ofSeconds(20));
            if (!r.ok()) throw new IllegalStateException("keepalived refuses " + layout.keepalivedConf() + ": " + r.describeFailure());
        }
        return f;
    }

    /** ha.properties, what `nflb ha notify` reads, into {@code dir}. */
    public static void writePlan(HaPlan plan, Path dir) throws IOException {
        plan.write(dir);
    }

    public static HaPlan readPlan(Path dir) throws IOException {
        return HaPlan.read(dir);
    }
}
