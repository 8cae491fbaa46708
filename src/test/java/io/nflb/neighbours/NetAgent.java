package io.nflb.neighbours;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * One test namespace's servers and client, run inside it for a whole test class: {@code NAME SPEC...} serves
 * each SPEC ({@code tcp:ADDR:PORT} answers every connection with NAME and closes it; {@code udp:ADDR:PORT}
 * echoes NAME), prints "ready", then runs each command read from stdin in parallel (at most 16 at once):
 * {@code ID TIMEOUT_MS tcp HOST PORT [SOURCE]} or {@code ID TIMEOUT_MS udp HOST PORT} prints {@code ID ok PEER}
 * or {@code ID fail WHY}; the connect and the read each time out after TIMEOUT_MS. Ends when stdin closes.
 */
public final class NetAgent {

    private NetAgent() {
    }

    public static void main(String[] args) throws Exception {
        String name = args[0];
        ExecutorService servers = Executors.newCachedThreadPool(r -> daemon(new Thread(r, "serve")));
        for (int i = 1; i < args.length; i++) {
            String[] s = args[i].split(":");
            InetSocketAddress at = new InetSocketAddress(InetAddress.getByName(s[1]), Integer.parseInt(s[2]));
            if (s[0].equals("tcp")) {
                ServerSocket ss = new ServerSocket();
                ss.setReuseAddress(true);
                ss.bind(at, 64);
                servers.submit(() -> serveTcp(ss, name));
            } else {
                DatagramSocket ds = new DatagramSocket(at);
                servers.submit(() -> serveUdp(ds, name));
            }
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        out.println("ready");
        ExecutorService clients = Executors.newFixedThreadPool(16, r -> daemon(new Thread(r, "probe")));
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            String[] w = line.strip().split("\\s+");
            clients.submit(() -> {
                String result;
                try {
                    int timeout = Math.max(100, Math.min(10_000, Integer.parseInt(w[1])));
                    String[] c = java.util.Arrays.copyOfRange(w, 1, w.length);
                    result = c[1].equals("tcp") ? tcp(c, timeout) : udp(c, timeout);
                } catch (IOException | RuntimeException e) {
                    result = "fail " + e.getClass().getSimpleName();
                }
                synchronized (out) {
                    out.println(w[0] + " " + result);
                }
            });
        }
        System.exit(0);
    }

    private static Thread daemon(Thread t) {
        t.setDaemon(true);
        return t;
    }

    /** {@code w}: TIMEOUT tcp HOST PORT [SOURCE]. */
    private static String tcp(String[] w, int timeout) throws IOException {
        try (Socket s = new Socket()) {
            if (w.length > 4) s.bind(new InetSocketAddress(InetAddress.getByName(w[4]), 0));
            s.connect(new InetSocketAddress(InetAddress.getByName(w[2]), Integer.parseInt(w[3])), timeout);
            s.setSoTimeout(timeout);
            String peer = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
            return peer == null ? "fail closed" : "ok " + peer;
        } catch (SocketTimeoutException e) {
            return "fail timeout";
        }
    }

    private static String udp(String[] w, int timeout) throws IOException {
        try (DatagramSocket s = new DatagramSocket()) {
            s.setSoTimeout(timeout);
            byte[] q = "q".getBytes(StandardCharsets.UTF_8);
            s.send(new DatagramPacket(q, q.length, InetAddress.getByName(w[2]), Integer.parseInt(w[3])));
            DatagramPacket p = new DatagramPacket(new byte[256], 256);
            s.receive(p);
            return "ok " + new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8);
        } catch (SocketTimeoutException e) {
            return "fail timeout";
        }
    }

    private static void serveTcp(ServerSocket ss, String name) {
        byte[] answer = (name + "\n").getBytes(StandardCharsets.UTF_8);
        while (true) {
            try (Socket c = ss.accept()) {
                c.getOutputStream().write(answer);
            } catch (IOException e) {
                // one client's trouble is not the server's
            }
        }
    }

    private static void serveUdp(DatagramSocket ds, String name) {
        byte[] answer = name.getBytes(StandardCharsets.UTF_8);
        byte[] buf = new byte[256];
        while (true) {
            try {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                ds.receive(p);
                ds.send(new DatagramPacket(answer, answer.length, p.getSocketAddress()));
            } catch (IOException e) {
                // keep serving
            }
        }
    }
}
