package io.nflb.cli;

import io.nflb.config.ConfigException;
import io.nflb.config.ConfigLoader;
import io.nflb.daemon.ControlSocket;
import io.nflb.daemon.Daemon;
import io.nflb.daemon.HealthChecks;
import io.nflb.daemon.WebServer;
import io.nflb.dataplane.Dataplane;
import io.nflb.host.Exec;
import io.nflb.model.Config;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import sun.misc.Signal;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

@Command(name = "run", description = {
        "Run the daemon in the foreground: apply the config, then keep the rules in step with the backends' health.",
        "Every backend is checked; failing ones are taken out of the rules and put back when they recover. "
                + "SIGHUP (or `nflb reload`) re-reads the file; an invalid file is refused and the running rules stay. "
                + "On exit the rules stay in the kernel unless --cleanup-on-exit.",
        "The status page and Prometheus metrics are served on --listen (default 127.0.0.1:9140)."})
final class RunCommand implements Callable<Integer> {

    private static final Logger log = LoggerFactory.getLogger("nflb");

    @ParentCommand
    Main main;

    @Mixin
    ConfigOption config;

    @Mixin
    NetnsOption netns;

    @Option(names = "--cleanup-on-exit", description = "Remove nflb's rules when stopping (default: leave them, fail-static).")
    boolean cleanupOnExit;

    @Option(names = "--pid-file", paramLabel = "FILE", defaultValue = ReloadCommand.DEFAULT_PID_FILE,
            description = "Where to write the daemon's pid, for `nflb reload` (default: ${DEFAULT-VALUE}).")
    Path pidFile;

    @Option(names = "--socket", paramLabel = "FILE", defaultValue = DEFAULT_SOCKET,
            description = "The control socket for `nflb backend drain|enable|disable` and `nflb status`; root only (default: ${DEFAULT-VALUE}).")
    Path socket;

    @Option(names = "--listen", paramLabel = "HOST:PORT", defaultValue = WebServer.DEFAULT_ADDRESS,
            description = "Where the status page (/) and Prometheus metrics (/metrics) are served, or 'off' (default: ${DEFAULT-VALUE}).")
    String listen;

    @Option(names = "--sample-every-ms", hidden = true, defaultValue = "5000",
            description = "How often the kernel's counters are read for the status page.")
    int sampleEveryMillis;

    @Option(names = "--ha", paramLabel = "supervise|external", defaultValue = "supervise",
            description = "With an ha: section: supervise starts keepalived and conntrackd with the files nflb renders and restarts them"
                    + " (a SIGKILLed keepalived's addresses removed first); external leaves them to their own units, whose notify"
                    + " hooks run `nflb ha notify` (default: ${DEFAULT-VALUE}).")
    String haMode;

    @Option(names = "--ha-state", paramLabel = "DIR", defaultValue = io.nflb.ha.HaLayout.DEFAULT_DIR,
            description = "Where the ha engines' files, pid files, socket, lock and the role live (default: ${DEFAULT-VALUE}).")
    Path haState;

    static final String DEFAULT_SOCKET = "/run/nflb/nflb.sock";

    private final CountDownLatch stopped = new CountDownLatch(1);

    @Override
    public Integer call() throws Exception {
        Config c = config.load();
        InetSocketAddress web = listen.equals("off") ? null : parseListen();
        if (sampleEveryMillis < 100) throw new Main.UsageException("--sample-every-ms must be at least 100");
        Dataplane dataplane = main.dataplanes.forKind(c.backend(), netns.exec());
        Daemon daemon = new Daemon(dataplane, c, new HealthChecks(Exec.host()), netns.exec(), Duration.ofMillis(sampleEveryMillis));
        writePidFile();
        Dataplane.Outcome started = daemon.start();
        log.info("started with {}: {}", config.file, started.changed() ? started.summary() : "the rules in the kernel were already right; adopted them");
        dataplane.enableForwarding(c.services()).forEach(log::info);
        if (netns.netns != null && !c.services().isEmpty()) {
            log.warn("--netns moves only the kernel tools; health checks run from this process's own namespace"
                    + " (run the daemon itself with `ip netns exec {} nflb run` to check from there)", netns.netns);
        }
        io.nflb.ha.Supervisor supervisor = c.ha().isPresent() ? startHa(c, daemon) : null;
        ControlSocket control = ControlSocket.open(socket, daemon);
        log.info("control socket {}", socket);
        WebServer server = null;
        if (web != null) {
            server = WebServer.start(web, daemon);
            InetSocketAddress at = server.address();
            log.info("status page http://{}:{}/ and metrics at /metrics", at.getHostString(), at.getPort());
        }

        // One reload at a time, off the signal thread; a burst of SIGHUPs queues up and each re-reads the file.
        ExecutorService reloads = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "nflb-reload");
            t.setDaemon(true);
            return t;
        });
        // sun.misc.Signal is the only way to catch SIGHUP in Java 17; it is supported (jdk.unsupported) and stable.
        Signal.handle(new Signal("HUP"), s -> reloads.execute(() -> reload(daemon, dataplane)));
        WebServer finalServer = server;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (supervisor != null) supervisor.close();
            stop(daemon, dataplane, control, finalServer);
        }, "nflb-stop"));
        stopped.await();
        return Main.OK;
    }

    /**
     * This router's ha engines, once its rules are loaded (warm standby: a backup's rules are ready, its checks run).
     * supervise: nflb runs keepalived and conntrackd; external: their own units do, and nflb keeps the hold in place
     * until the notify hook of a takeover removes it.
     */
    private io.nflb.ha.Supervisor startHa(Config c, Daemon daemon) throws IOException {
        io.nflb.ha.HaLayout layout = new io.nflb.ha.HaLayout(haState);
        Exec exec = netns.exec();
        io.nflb.ha.HaChecks.warnings(c, io.nflb.ha.HaChecks.read(exec, c)).forEach(w -> log.warn("ha: {}", w));
        if (haMode.equals("external")) {
            java.nio.file.Files.createDirectories(layout.dir());
            boolean primary = io.nflb.ha.HaStatus.read(layout).map(h -> h.role().equals("primary")).orElse(false);
            io.nflb.ha.HaPlan plan = io.nflb.ha.HaPlan.of(c, io.nflb.ha.HaFacts.read(exec, c),
                    c.ha().get().sync().map(x -> layout.conntrackdConf()));
            if (!primary) new io.nflb.ha.Transitions(plan, layout, exec, io.nflb.dataplane.Dataplanes.hold(exec)).holdAtStart();
            daemon.haSource(() -> io.nflb.ha.HaStatus.read(layout));
            log.info("ha: keepalived and conntrackd run under their own units; the role comes from `nflb ha notify` in {}", layout.dir());
            return null;
        }
        if (!haMode.equals("supervise")) throw new Main.UsageException("--ha must be supervise or external, not '" + haMode + "'");
        String name = "nflb_" + java.net.InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9_.-]", "_");
        io.nflb.ha.Supervisor supervisor = new io.nflb.ha.Supervisor(c, layout, exec, io.nflb.dataplane.Dataplanes.hold(exec), name, why -> {
            log.error("ha: {}; stopping, so that the peer serves alone", why);
            System.exit(Main.FAILURE);
        });
        supervisor.start();
        daemon.haSource(() -> java.util.Optional.of(supervisor.status()));
        log.info("ha: keepalived{} running, files in {}", c.ha().get().sync().isPresent() ? " and conntrackd" : "", layout.dir());
        return supervisor;
    }

    private InetSocketAddress parseListen() {
        try {
            return WebServer.parseAddress(listen);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageException("--listen: " + e.getMessage());
        }
    }

    private void reload(Daemon daemon, Dataplane dataplane) {
        log.info("SIGHUP: re-reading {}", config.file);
        Config next;
        try {
            next = ConfigLoader.load(config.file);
        } catch (ConfigException e) {
            e.errors().forEach(err -> log.error("{}", err));
            log.error("reload refused: {} error{}; the running rules and checks stay as they were",
                    e.errors().size(), e.errors().size() == 1 ? "" : "s");
            daemon.reloadRefused(e.errors().size() + " error(s) in " + config.file + ", the first: " + e.errors().get(0));
            return;
        }
        if (!next.ha().equals(daemon.config().ha())) {
            log.warn("ha: the ha section changed; keepalived and conntrackd keep the old one until nflb restarts");
        }
        try {
            Dataplane.Outcome o = daemon.reload(next);
            dataplane.enableForwarding(next.services()).forEach(log::info);
            log.info("reloaded: {}", o.summary());
        } catch (RuntimeException e) {
            log.error("reload refused: {}; the running rules and checks stay as they were", e.getMessage());
        }
    }

    private void stop(Daemon daemon, Dataplane dataplane, ControlSocket control, WebServer server) {
        daemon.close();
        control.close();
        if (server != null) server.close();
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
}
