package io.nflb.lab;

import io.nflb.host.Exec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The lab's web servers, one {@link BackendServer} process per server namespace, and the JVM command lines
 * the lab starts its own helpers with. Stop kills one server; start brings it back on the same port.
 */
public final class Servers implements AutoCloseable {

    private static final Duration READY_WITHIN = Duration.ofSeconds(30);

    private final Topology topology;
    private final int port;
    private final boolean udp;
    private final Process[] processes;
    private final Path[] logs;

    public Servers(Topology topology, int port) {
        this(topology, port, false);
    }

    /** {@code udp}: each server answers datagrams on {@code port} with its name instead of HTTP. */
    public Servers(Topology topology, int port, boolean udp) {
        this.topology = topology;
        this.port = port;
        this.udp = udp;
        this.processes = new Process[topology.servers()];
        this.logs = new Path[topology.servers()];
    }

    /** Starts every server and waits until each listens. */
    public void startAll() throws IOException, InterruptedException {
        for (int i = 0; i < processes.length; i++) launch(i);
        for (int i = 0; i < processes.length; i++) awaitReady(i);
    }

    /** Starts server i (again) and waits until it listens. */
    public void start(int i) throws IOException, InterruptedException {
        launch(i);
        awaitReady(i);
    }

    /** Kills server i at once (SIGKILL): its kernel answers new connections with a reset from then on. */
    public void kill(int i) throws InterruptedException {
        Process p = processes[i];
        if (p == null) return;
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor();
        processes[i] = null;
    }

    /** Forgets the processes without stopping them: the lab's --keep leaves them to `lab down`. */
    public void release() {
        java.util.Arrays.fill(processes, null);
    }

    @Override
    public void close() {
        for (int i = 0; i < processes.length; i++) {
            Process p = processes[i];
            if (p == null) continue;
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            processes[i] = null;
        }
    }

    private void launch(int i) throws IOException {
        if (logs[i] == null) logs[i] = Files.createTempFile("nflb-lab-" + Topology.serverName(i) + "-", ".log");
        else Files.writeString(logs[i], "");
        List<String> cmd = Exec.inNetns(topology.server(i)).command(
                udp ? java("io.nflb.lab.BackendServer", Topology.serverName(i), String.valueOf(port), "udp")
                        : java("io.nflb.lab.BackendServer", Topology.serverName(i), String.valueOf(port)));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logs[i].toFile()));
        processes[i] = pb.start();
    }

    private void awaitReady(int i) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + READY_WITHIN.toNanos();
        while (!Files.readString(logs[i]).contains("ready")) {
            if (System.nanoTime() > deadline || !processes[i].isAlive()) {
                throw new IllegalStateException("web server " + Topology.serverName(i) + " did not start: " + Files.readString(logs[i]));
            }
            Thread.sleep(50);
        }
    }

    /** A JVM command line for one of nflb's own main classes, on the classpath nflb runs from. */
    public static List<String> java(String mainClass, String... args) {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(javaBin, "-Xmx96m", "-Xss512k", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), mainClass));
        cmd.addAll(List.of(args));
        return cmd;
    }
}
