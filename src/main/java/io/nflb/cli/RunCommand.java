package io.nflb.cli;

import io.nflb.config.ConfigException;
import io.nflb.daemon.ControlSocket;
import io.nflb.daemon.Daemon;
import io.nflb.daemon.WebServer;
import io.nflb.dataplane.Dataplane;
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
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

@Command(name = "run", description = {
        "Run the daemon in the foreground: apply the config, then keep the rules in step with the backends' health.",
        "Every backend is checked; failing ones are taken out of the rules and put back when they recover. "
                + "`nflb reload` (or SIGHUP) re-reads the file; an invalid file is refused and the running rules stay. "
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

    @Mixin
    StateDirOption state;

    @Option(names = "--cleanup-on-exit", description = "Remove nflb's rules when stopping (default: leave them, fail-static).")
    boolean cleanupOnExit;

    @Option(names = "--pid-file", paramLabel = "FILE", defaultValue = ReloadCommand.DEFAULT_PID_FILE,
            description = "Where to write the daemon's pid, for `nflb reload` (default: ${DEFAULT-VALUE}).")
    Path pidFile;

    @Option(names = "--socket", paramLabel = "FILE", defaultValue = DEFAULT_SOCKET,
            description = "The control socket for `nflb backend drain|enable|disable`, `nflb status` and `nflb reload`; root only (default: ${DEFAULT-VALUE}).")
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
    /** How often the daemon looks at an `apply --confirm` waiting in --state-dir. */
    static final Duration CONFIRM_WATCH = Duration.ofSeconds(10);

    private final CountDownLatch stopped = new CountDownLatch(1);

    @Override
    public Integer call() throws Exception {
        Config c = config.load();
        main.dataplanes.fastpathRefusal(c, netns.exec()).ifPresent(why -> {
            throw new IllegalStateException(why);
        });
        InetSocketAddress web = listen.equals("off") ? null : parseListen();
        if (sampleEveryMillis < 100) throw new Main.UsageException("--sample-every-ms must be at least 100");
        // Everything that can be refused is refused before the kernel is touched: the pid file, the port, the socket.
        writePidFile();
        WebServer server = null;
        ControlSocket control = null;
        Daemon daemon = null;
        Dataplane dataplane = null;
        io.nflb.ha.Supervisor supervisor = null;
        boolean running = false;
        try {
            if (web != null) {
                try {
                    server = WebServer.bind(web);
                } catch (IOException e) {
                    throw new IllegalStateException("cannot listen on " + listen + " (" + e.getMessage() + "); use --listen");
                }
            }
            try {
                control = ControlSocket.bind(socket);
            } catch (IOException e) {
                throw new IllegalStateException("cannot open the control socket " + socket + ": " + e.getMessage());
            }
            dataplane = main.dataplanes.forKind(c.backend(), netns.exec());
            daemon = new Daemon(dataplane, c, null, netns.exec(), Duration.ofMillis(sampleEveryMillis));
            Dataplane.Outcome started = daemon.start();
            log.info("started with {}: {}", config.file, started.changed() ? started.summary() : "the rules in the kernel were already right; adopted them");
            dataplane.enableForwarding(c.services()).forEach(log::info);
            if (netns.netns != null && !c.services().isEmpty()) {
                log.warn("--netns moves only the kernel tools; health checks run from this process's own namespace"
                        + " (run the daemon itself with `ip netns exec {} nflb run` to check from there)", netns.netns);
            }
            if (c.ha().isPresent()) supervisor = startHa(c, daemon);
            Daemon d = daemon;
            Dataplane dp = dataplane;
            control.serve(daemon, () -> reload(d, dp));
            log.info("control socket {}", socket);
            if (server != null) {
                server.serve(daemon);
                InetSocketAddress at = server.address();
                log.info("status page http://{}:{}/ and metrics at /metrics", at.getHostString(), at.getPort());
            }
            running = true;
        } finally {
            if (!running) {
                if (supervisor != null) supervisor.close();
                if (daemon != null) daemon.close();
                if (control != null) control.close();
                if (server != null) server.close();
                if (dataplane != null) dataplane.close();
                deletePidFile();
            }
        }

        // One reload at a time, off the signal thread; while one waits, more SIGHUPs add nothing (it re-reads the file).
        ThreadPoolExecutor reloads = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(1), r -> {
            Thread t = new Thread(r, "nflb-reload");
            t.setDaemon(true);
            return t;
        }, new ThreadPoolExecutor.DiscardPolicy());
        Daemon d = daemon;
        Dataplane dp = dataplane;
        // sun.misc.Signal is the only way to catch SIGHUP in Java 17; it is supported (jdk.unsupported) and stable.
        Signal.handle(new Signal("HUP"), s -> {
            try {
                reloads.execute(() -> {
                    log.info("SIGHUP: re-reading {}", config.file);
                    try {
                        log.info("{}", reload(d, dp));
                    } catch (Exception e) {
                        log.error("{}", e.getMessage());
                    }
                });
            } catch (RejectedExecutionException e) {
                // stopping
            }
        });
        ScheduledThreadPoolExecutor watch = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "nflb-watch");
            t.setDaemon(true);
            return t;
        });
        watch.scheduleWithFixedDelay(() -> {
            try {
                d.confirmTimer(SafeApply.deadTimer(state.generations()));
            } catch (RuntimeException e) {
                log.debug("cannot look at {}: {}", state.dir, e.getMessage());
            }
        }, 0, CONFIRM_WATCH.toMillis(), TimeUnit.MILLISECONDS);
        WebServer finalServer = server;
        ControlSocket finalControl = control;
        io.nflb.ha.Supervisor finalSupervisor = supervisor;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            watch.shutdownNow();
            reloads.shutdownNow();
            if (finalSupervisor != null) finalSupervisor.close();
            stop(d, dp, finalControl, finalServer);
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
        io.nflb.host.Exec exec = netns.exec();
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

    /** Re-reads the config file and applies it; returns what happened, throws with every reason it was refused. */
    private String reload(Daemon daemon, Dataplane dataplane) throws Exception {
        Config next;
        try {
            next = config.load();
        } catch (ConfigException e) {
            String errors = String.join("\n", e.errors().stream().map(Object::toString).toList());
            daemon.reloadRefused(e.errors().size() + " error(s) in " + config.file + ", the first: " + e.errors().get(0));
            log.error("reload refused: {} error{} in {}; the running rules and checks stay as they were\n{}",
                    e.errors().size(), e.errors().size() == 1 ? "" : "s", config.file, errors);
            throw new Exception(errors + "\nreload refused: " + e.errors().size() + " error" + (e.errors().size() == 1 ? "" : "s")
                    + " in " + config.file + "; the running rules and checks stay as they were");
        } catch (RuntimeException | Error e) {
            daemon.reloadRefused(config.file + " could not be read: " + e);
            throw new Exception("reload refused: " + config.file + " could not be read (" + e + "); the running rules stay");
        }
        Optional<String> fastpath = main.dataplanes.fastpathRefusal(next, netns.exec());
        if (fastpath.isPresent()) {
            daemon.reloadRefused(fastpath.get());
            throw new Exception("reload refused: " + fastpath.get() + "; the running rules and checks stay as they were");
        }
        if (!next.ha().equals(daemon.config().ha())) {
            log.warn("ha: the ha section changed; keepalived and conntrackd keep the old one until nflb restarts");
        }
        try {
            Dataplane.Outcome o = daemon.reload(next);
            dataplane.enableForwarding(next.services()).forEach(log::info);
            String done = "reloaded " + config.file + " (generation " + daemon.generation() + "): " + o.summary();
            log.info("{}", done);
            return done;
        } catch (RuntimeException e) {
            log.error("reload refused: {}; the running rules and checks stay as they were", e.getMessage());
            throw new Exception("reload refused: " + e.getMessage() + "; the running rules and checks stay as they were");
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
        dataplane.close();
        deletePidFile();
        stopped.countDown();
    }

    private void deletePidFile() {
        try {
            Files.deleteIfExists(pidFile);
        } catch (IOException e) {
            log.warn("could not remove {}: {}", pidFile, e.getMessage());
        }
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
