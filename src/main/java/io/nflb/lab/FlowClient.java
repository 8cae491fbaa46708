package io.nflb.lab;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The two-router lab's client (issue 12): FLOWS long-lived TCP connections, each sending "f&lt;i&gt; &lt;seq&gt;" every
 * INTERVAL and checking that the answer is "&lt;backend&gt; f&lt;i&gt; &lt;seq&gt;" within ANSWER_TIMEOUT; in parallel a new
 * connection every NEW_INTERVAL, one request each. Bounded: it runs DURATION, at most {@value #MAX_IN_FLIGHT}
 * new connections in flight, at most {@value #MAX_FLOWS} flows. Writes OUT.ready (each flow's source port)
 * once every flow has its first answer, and OUT at the end, one line per flow and per new connection, times
 * in epoch milliseconds:
 * <pre>
 * flow ID SPORT OK FAILED ERROR|- ERROR_AT|- MAX_WAIT_MS MAX_WAIT_AT|- BACKEND,BACKEND...
 * new START END RESULT BACKEND|-
 * </pre>
 * Usage: FlowClient HOST PORT FLOWS DURATION_MS OUT [INTERVAL_MS ANSWER_TIMEOUT_MS NEW_INTERVAL_MS NEW_TIMEOUT_MS]
 */
public final class FlowClient {

    static final int MAX_FLOWS = 500;
    static final int MAX_IN_FLIGHT = 64;

    /** Set when OUT.stop appears: the lab ends the run when its measurements are done. */
    private static volatile boolean stopped;

    private FlowClient() {
    }

    private static boolean running(long end) {
        return !stopped && System.currentTimeMillis() < end;
    }

    static final class Flow {
        final int id;
        volatile int sport = -1;
        volatile int ok;
        volatile int failed;
        volatile String error;
        volatile long errorAt;
        volatile long maxWait;
        volatile long maxWaitAt;
        final List<String> backends = Collections.synchronizedList(new ArrayList<>());

        Flow(int id) {
            this.id = id;
        }
    }

    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        int flows = Integer.parseInt(args[2]);
        long duration = Long.parseLong(args[3]);
        Path out = Path.of(args[4]);
        long interval = args.length > 5 ? Long.parseLong(args[5]) : 100;
        int answerTimeout = args.length > 6 ? Integer.parseInt(args[6]) : 5000;
        long newInterval = args.length > 7 ? Long.parseLong(args[7]) : 25;
        int newTimeout = args.length > 8 ? Integer.parseInt(args[8]) : 1000;
        if (flows < 1 || flows > MAX_FLOWS || duration > 300_000) throw new IllegalArgumentException("at most " + MAX_FLOWS + " flows and 300 s");

        long end = System.currentTimeMillis() + duration;
        Path stopFile = Path.of(out + ".stop");
        Thread watcher = new Thread(() -> {
            while (!stopped) {
                if (Files.exists(stopFile)) stopped = true;
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "stop");
        watcher.setDaemon(true);
        watcher.start();
        List<Flow> all = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < flows; i++) {
            Flow f = new Flow(i);
            all.add(f);
            Thread t = new Thread(() -> run(f, host, port, end, interval, answerTimeout), "flow-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
        long readyBy = System.currentTimeMillis() + 10_000;
        while (System.currentTimeMillis() < readyBy && !all.stream().allMatch(f -> f.ok > 0 || f.error != null)) Thread.sleep(20);
        StringBuilder ready = new StringBuilder();
        for (Flow f : all) ready.append(f.id).append(' ').append(f.sport).append('\n');
        Files.writeString(Path.of(out + ".ready"), ready.toString());

        List<String> news = Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(MAX_IN_FLIGHT, r -> {
            Thread t = new Thread(r, "new");
            t.setDaemon(true);
            return t;
        });
        Semaphore inFlight = new Semaphore(MAX_IN_FLIGHT);
        int k = 0;
        long next = System.currentTimeMillis();
        while (newInterval > 0 && running(end)) {
            long now = System.currentTimeMillis();
            if (now >= next) {
                next += newInterval;
                int n = ++k;
                if (inFlight.tryAcquire()) {
                    pool.execute(() -> {
                        try {
                            news.add(newConnection(n, host, port, newTimeout));
                        } finally {
                            inFlight.release();
                        }
                    });
                } else {
                    news.add("new " + now + " " + now + " skipped -");
                }
            }
            Thread.sleep(Math.max(1, Math.min(5, next - System.currentTimeMillis())));
        }
        for (Thread t : threads) t.join(answerTimeout + 2000L);
        pool.shutdown();
        pool.awaitTermination(newTimeout + 2000L, TimeUnit.MILLISECONDS);
        StringBuilder sb = new StringBuilder();
        for (Flow f : all) {
            sb.append("flow ").append(f.id).append(' ').append(f.sport).append(' ').append(f.ok).append(' ').append(f.failed).append(' ')
                    .append(f.error == null ? "-" : f.error).append(' ').append(f.error == null ? "-" : String.valueOf(f.errorAt)).append(' ')
                    .append(f.maxWait).append(' ').append(f.maxWaitAt == 0 ? "-" : String.valueOf(f.maxWaitAt)).append(' ')
                    .append(f.backends.isEmpty() ? "-" : String.join(",", f.backends)).append('\n');
        }
        synchronized (news) {
            for (String n : news) sb.append(n).append('\n');
        }
        Files.writeString(out, sb.toString());
        System.exit(0);
    }

    private static void run(Flow f, String host, int port, long end, long interval, int answerTimeout) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), answerTimeout);
            s.setSoTimeout(answerTimeout);
            s.setTcpNoDelay(true);
            f.sport = s.getLocalPort();
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            OutputStream os = s.getOutputStream();
            long next = System.currentTimeMillis();
            for (int seq = 1; running(end); seq++) {
                String msg = "f" + f.id + " " + seq;
                long t0 = System.currentTimeMillis();
                os.write((msg + "\n").getBytes(StandardCharsets.UTF_8));
                os.flush();
                String line;
                try {
                    line = in.readLine();
                } catch (SocketTimeoutException e) {
                    fail(f, "timeout", t0);
                    return;
                }
                long t1 = System.currentTimeMillis();
                if (line == null) {
                    fail(f, "eof", t1);
                    return;
                }
                String[] w = line.split(" ");
                if (w.length != 3 || !(w[1] + " " + w[2]).equals(msg)) {
                    fail(f, "wrong", t1);
                    return;
                }
                f.ok++;
                if (f.backends.isEmpty() || !f.backends.get(f.backends.size() - 1).equals(w[0])) f.backends.add(w[0]);
                if (t1 - t0 > f.maxWait) {
                    f.maxWait = t1 - t0;
                    f.maxWaitAt = t0;
                }
                next += interval;
                long sleep = next - System.currentTimeMillis();
                if (sleep > 0) Thread.sleep(sleep);
                else next = System.currentTimeMillis();
            }
        } catch (IOException e) {
            fail(f, f.sport < 0 ? "connect" : "reset", System.currentTimeMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void fail(Flow f, String error, long at) {
        f.failed++;
        f.error = error;
        f.errorAt = at;
    }

    private static String newConnection(int k, String host, int port, int timeout) {
        long t0 = System.currentTimeMillis();
        String result = "ok";
        String backend = "-";
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), timeout);
            s.setSoTimeout(Math.max(1, timeout - (int) (System.currentTimeMillis() - t0)));
            PrintWriter w = new PrintWriter(s.getOutputStream(), true, StandardCharsets.UTF_8);
            w.print("n" + k + " 1\n");
            w.flush();
            String line = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
            String[] p = line == null ? new String[0] : line.split(" ");
            if (p.length == 3 && p[1].equals("n" + k)) backend = p[0];
            else result = "bad";
        } catch (SocketTimeoutException e) {
            result = "timeout";
        } catch (java.net.ConnectException e) {
            result = e.getMessage() != null && e.getMessage().contains("timed out") ? "timeout" : "refused";
        } catch (IOException e) {
            result = "reset";
        }
        return "new " + t0 + " " + System.currentTimeMillis() + " " + result + " " + backend;
    }
}
