package io.nflb.cli;

import io.nflb.config.ConfigException;
import io.nflb.config.ConfigLoader;
import io.nflb.daemon.Dataplane;
import io.nflb.daemon.Dataplanes;
import io.nflb.daemon.HealthChecker;
import io.nflb.daemon.Probes;
import io.nflb.daemon.Reconciler;
import io.nflb.kernel.Exec;
import io.nflb.kernel.Forwarding;
import io.nflb.model.Config;
import io.nflb.render.IptablesRenderer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import sun.misc.Signal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

@Command(name = "run", description = {
        "Run in the foreground: apply the config, check every backend, take failing ones out of the rules and put",
        "them back when they recover. SIGHUP (or `nflb reload`) re-reads the file; an invalid file is refused and",
        "the running rules stay. On exit the rules stay in the kernel unless --cleanup-on-exit."})
final class RunCommand implements Callable<Integer> {

    private static final Logger log = LoggerFactory.getLogger("nflb");

    @Mixin
    ConfigOption config;

    @Mixin
    NetnsOption netns;

    @Option(names = "--cleanup-on-exit", description = "Remove nflb's rules when stopping (default: leave them, fail-static).")
    boolean cleanupOnExit;

    @Option(names = "--pid-file", paramLabel = "FILE", defaultValue = ReloadCommand.DEFAULT_PID_FILE,
            description = "Where to write the daemon's pid, for `nflb reload` (default: ${DEFAULT-VALUE}).")
    Path pidFile;

    private final CountDownLatch stopped = new CountDownLatch(1);

    @Override
    public Integer call() throws Exception {
        Config c = config.load();
        Dataplane dataplane = Dataplanes.forKind(c.backend(), netns.exec());
        Reconciler reconciler = new Reconciler(dataplane, c);
        Dataplane.Outcome started = reconciler.start();
        log.info("started with {}: {}", config.file, started.changed() ? started.summary() : "the rules in the kernel were already right; adopted them");
        ensureForwarding(c);
        if (netns.netns != null && !reconciler.targets().isEmpty()) {
            log.warn("--netns moves only the kernel tools; health checks run from this process's own namespace"
                    + " (run the daemon itself with `ip netns exec {} nflb run` to check from there)", netns.netns);
        }
        writePidFile();

        HealthChecker checker = HealthChecker.standard(new Probes(Exec.host()), reconciler::report);
        checker.update(reconciler.targets());
        log.info("checking {} backends", reconciler.targets().size());

        // One reload at a time, off the signal thread; a burst of SIGHUPs queues up and each re-reads the file.
        ExecutorService reloads = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "nflb-reload");
            t.setDaemon(true);
            return t;
        });
        // sun.misc.Signal is the only way to catch SIGHUP in Java 17; it is supported (jdk.unsupported) and stable.
        Signal.handle(new Signal("HUP"), s -> reloads.execute(() -> reload(reconciler, checker)));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(checker, dataplane), "nflb-stop"));
        stopped.await();
        return Main.OK;
    }

    private void reload(Reconciler reconciler, HealthChecker checker) {
        log.info("SIGHUP: re-reading {}", config.file);
        Config next;
        try {
            next = ConfigLoader.load(config.file);
        } catch (ConfigException e) {
            e.errors().forEach(err -> log.error("{}", err));
            log.error("reload refused: {} error{}; the running rules and checks stay as they were",
                    e.errors().size(), e.errors().size() == 1 ? "" : "s");
            return;
        }
        try {
            Dataplane.Outcome o = reconciler.reload(next);
            checker.update(reconciler.targets());
            ensureForwarding(next);
            log.info("reloaded: {}", o.summary());
        } catch (RuntimeException e) {
            log.error("reload refused: {}; the running rules and checks stay as they were", e.getMessage());
        }
    }

    private void stop(HealthChecker checker, Dataplane dataplane) {
        checker.close();
        try {
            if (cleanupOnExit) log.info("stopping: {}", dataplane.flush().summary());
            else log.info("stopping; the rules stay in the kernel (fail-static)");
        } catch (RuntimeException e) {
            log.error("could not remove the rules: {}", e.getMessage());
        }
        try {
            Files.deleteIfExists(pidFile);
        } catch (IOException e) {
            log.warn("could not remove {}: {}", pidFile, e.getMessage());
        }
        stopped.countDown();
    }

    private void writePidFile() throws IOException {
        Long other = ReloadCommand.livePid(pidFile);
        if (other != null && other != ProcessHandle.current().pid()) {
            throw new Main.UsageException("another nflb (pid " + other + ") owns " + pidFile + "; stop it or use --pid-file");
        }
        Path dir = pidFile.toAbsolutePath().getParent();
        if (dir != null) Files.createDirectories(dir);
        Files.writeString(pidFile, ProcessHandle.current().pid() + "\n");
    }

    private void ensureForwarding(Config c) {
        c.services().stream().map(IptablesRenderer::family).distinct().forEach(f -> {
            // Balanced traffic is routed on to the backends: without forwarding the router drops it.
            if (Forwarding.ensure(netns.exec(), f)) log.info("{} was 0; set to 1", Forwarding.key(f));
        });
    }
}
