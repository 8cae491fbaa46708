package io.nflb.firewall;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Run inside a test namespace: {@code listen PORT...} accepts and closes TCP connections on every address
 * (IPv4 and IPv6) of each port; {@code scan TIMEOUT_MS HOST,PORT...} prints "open HOST,PORT" for each that
 * completes a handshake within the timeout, all at once; {@code burst HOST PORT N} connects N times in a row
 * and prints "ok K refused M"; {@code hold HOST PORT N} does the same but keeps them open while it counts;
 * {@code listen-hold PORT...} keeps every accepted connection open.
 */
public final class ScanTool {

    private ScanTool() {
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "listen" -> listen(args, false);
            case "listen-hold" -> listen(args, true);
            case "hold" -> hold(args);
            case "scan" -> scan(args);
            case "burst" -> burst(args);
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    private static void listen(String[] args, boolean keepOpen) throws Exception {
        List<Socket> held = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int i = 1; i < args.length; i++) {
            ServerSocket s = new ServerSocket();
            s.bind(new InetSocketAddress("::", Integer.parseInt(args[i])), 512);
            Thread t = new Thread(() -> {
                while (true) {
                    try {
                        Socket c = s.accept();
                        c.getOutputStream().write('x');
                        if (keepOpen) held.add(c); // the connection stays established until the process ends
                        else c.close();
                    } catch (IOException e) {
                        // a client that went away: keep serving
                    }
                }
            });
            t.setDaemon(true);
            t.start();
        }
        System.out.println("ready");
        System.out.flush();
        new CountDownLatch(1).await();
    }

    private static void scan(String[] args) throws Exception {
        int timeout = Integer.parseInt(args[1]);
        ExecutorService pool = Executors.newFixedThreadPool(64);
        List<Future<String>> results = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            String target = args[i];
            results.add(pool.submit(() -> {
                int comma = target.lastIndexOf(',');
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress(target.substring(0, comma), Integer.parseInt(target.substring(comma + 1))), timeout);
                    return "open " + target;
                } catch (IOException e) {
                    return null;
                }
            }));
        }
        for (Future<String> f : results) {
            String r = f.get();
            if (r != null) System.out.println(r);
        }
        pool.shutdown();
    }

    /** Opens N connections one after another and keeps them all open until it has counted. */
    private static void hold(String[] args) throws IOException {
        List<Socket> open = new ArrayList<>();
        int refused = 0;
        for (int i = 0; i < Integer.parseInt(args[3]); i++) {
            Socket s = new Socket();
            try {
                s.connect(new InetSocketAddress(args[1], Integer.parseInt(args[2])), 1000);
                open.add(s);
            } catch (IOException e) {
                s.close();
                refused++;
            }
        }
        System.out.println("ok " + open.size() + " refused " + refused);
        for (Socket s : open) s.close();
    }

    private static void burst(String[] args) {
        int ok = 0, refused = 0;
        for (int i = 0; i < Integer.parseInt(args[3]); i++) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(args[1], Integer.parseInt(args[2])), 1000);
                ok++;
            } catch (IOException e) {
                refused++;
            }
        }
        System.out.println("ok " + ok + " refused " + refused);
    }
}
