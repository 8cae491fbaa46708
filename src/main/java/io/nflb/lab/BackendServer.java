package io.nflb.lab;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;

/**
 * The lab's web server: answers every HTTP request with its own name, so a client can tell which backend
 * took its connection. With {@code udp} it answers every datagram with its name instead.
 */
public final class BackendServer {

    private BackendServer() {
    }

    /** Serves until the process is killed; prints "ready" once it listens, which the lab waits for. */
    public static void serve(String name, String bind, int port, boolean udp) throws IOException, InterruptedException {
        byte[] answer = (name + "\n").getBytes(StandardCharsets.UTF_8);
        if (udp) {
            serveUdp(answer, bind, port);
            return;
        }
        HttpServer server = HttpServer.create(new InetSocketAddress(bind, port), 1024);
        server.createContext("/", exchange -> {
            try (OutputStream body = exchange.getResponseBody()) {
                exchange.getRequestBody().readAllBytes();
                exchange.getResponseHeaders().set("Content-Type", "text/plain");
                exchange.sendResponseHeaders(200, answer.length);
                body.write(answer);
            }
        });
        server.setExecutor(Executors.newFixedThreadPool(Math.max(4, Runtime.getRuntime().availableProcessors() * 2)));
        server.start();
        System.out.println("ready " + name + " tcp " + bind + ":" + port);
        System.out.flush();
        new CountDownLatch(1).await();
    }

    private static void serveUdp(byte[] answer, String bind, int port) throws IOException {
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(bind, port))) {
            System.out.println("ready udp " + bind + ":" + port);
            System.out.flush();
            byte[] buf = new byte[2048];
            while (true) {
                DatagramPacket in = new DatagramPacket(buf, buf.length);
                socket.receive(in);
                socket.send(new DatagramPacket(answer, answer.length, in.getSocketAddress()));
            }
        }
    }

    /** At most this many connections at once in line mode; more are closed at once. */
    static final int MAX_LINE_CONNECTIONS = 2000;

    /**
     * Line mode, for the two-router lab's long-lived flows: every line "X" is answered "NAME X" on the same
     * connection, so a client can check every answer and see which backend holds its connection.
     */
    static void serveLines(String name, int port) throws IOException {
        java.util.concurrent.Semaphore slots = new java.util.concurrent.Semaphore(MAX_LINE_CONNECTIONS);
        try (java.net.ServerSocket server = new java.net.ServerSocket()) {
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress("0.0.0.0", port), 1024);
            System.out.println("ready " + name + " lines :" + port);
            System.out.flush();
            while (true) {
                java.net.Socket s = server.accept();
                if (!slots.tryAcquire()) {
                    s.close();
                    continue;
                }
                Thread t = new Thread(() -> {
                    try (s; java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8))) {
                        s.setTcpNoDelay(true);
                        OutputStream out = s.getOutputStream();
                        for (String line = in.readLine(); line != null; line = in.readLine()) {
                            out.write((name + " " + line + "\n").getBytes(StandardCharsets.UTF_8));
                            out.flush();
                        }
                    } catch (IOException e) {
                        // the client went away
                    } finally {
                        slots.release();
                    }
                }, "line");
                t.setDaemon(true);
                t.start();
            }
        }
    }

    /** {@code BackendServer NAME PORT [udp|lines]}: what the lab starts inside each server namespace. */
    public static void main(String[] args) throws Exception {
        if (args.length > 2 && args[2].equals("lines")) {
            serveLines(args[0], Integer.parseInt(args[1]));
            return;
        }
        serve(args[0], "0.0.0.0", Integer.parseInt(args[1]), args.length > 2 && args[2].equals("udp"));
    }
}
