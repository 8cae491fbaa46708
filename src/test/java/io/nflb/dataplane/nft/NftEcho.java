package io.nflb.dataplane.nft;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A tiny TCP server and client run in test namespaces with {@code ip netns exec ... java}. The server answers
 * every connection with "local-address peer-address" and exits after a connection count or a deadline; the
 * client makes N sequential connections and prints how many answers named each server address.
 */
public final class NftEcho {

    public static void main(String[] args) throws Exception {
        if (args[0].equals("serve")) serve(args);
        else if (args[0].equals("probe")) probe(args);
        else connect(args);
    }

    /** serve PORT MAX_CONNECTIONS SECONDS ADDR... */
    private static void serve(String[] args) throws Exception {
        int port = Integer.parseInt(args[1]);
        int max = Integer.parseInt(args[2]);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[3]));
        AtomicInteger served = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(1);
        List<ServerSocket> sockets = new ArrayList<>();
        for (int i = 4; i < args.length; i++) {
            ServerSocket ss = new ServerSocket();
            ss.setReuseAddress(true);
            ss.bind(new InetSocketAddress(InetAddress.getByName(args[i]), port), 1024);
            sockets.add(ss);
            Thread t = new Thread(() -> {
                while (!ss.isClosed()) {
                    try (Socket s = ss.accept(); OutputStream out = s.getOutputStream()) {
                        out.write((s.getLocalAddress().getHostAddress() + " " + s.getInetAddress().getHostAddress() + "\n")
                                .getBytes(StandardCharsets.US_ASCII));
                        if (served.incrementAndGet() >= max) done.countDown();
                    } catch (Exception e) {
                        return;
                    }
                }
            });
            t.setDaemon(true);
            t.start();
        }
        System.out.println("ready");
        System.out.flush();
        done.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        for (ServerSocket ss : sockets) ss.close();
        System.out.println("served " + served.get());
    }

    /** connect ADDR PORT COUNT: prints "server-address peer-seen-by-server count" lines, then "retries N". */
    private static void connect(String[] args) throws Exception {
        String addr = args[1];
        int port = Integer.parseInt(args[2]);
        int n = Integer.parseInt(args[3]);
        Map<String, Integer> seen = new TreeMap<>();
        int retries = 0;
        for (int i = 0; i < n; i++) {
            String line = null;
            for (int attempt = 0; attempt < 50 && line == null; attempt++) {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress(addr, port), 2000);
                    s.setSoTimeout(2000);
                    line = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
                } catch (java.net.ConnectException e) {
                    retries++; // the server may still be starting; the refused attempt was nat'ed all the same
                    Thread.sleep(100);
                }
            }
            seen.merge(String.valueOf(line), 1, Integer::sum);
        }
        seen.forEach((k, v) -> System.out.println(k + " " + v));
        System.out.println("retries " + retries);
    }

    /**
     * probe tcp|udp ADDR PORT: one attempt, 3 s at most; prints "refused MS" (TCP reset), "unreachable MS"
     * (ICMP port unreachable on a connected UDP socket), "open MS" or "timeout MS", and how long it took.
     */
    private static void probe(String[] args) throws Exception {
        InetSocketAddress to = new InetSocketAddress(args[2], Integer.parseInt(args[3]));
        long t0 = System.nanoTime();
        String what;
        if (args[1].equals("tcp")) {
            try (Socket s = new Socket()) {
                s.connect(to, 3000);
                what = "open";
            } catch (java.net.ConnectException e) {
                what = e.getMessage() != null && e.getMessage().contains("refused") ? "refused" : "other:" + e.getMessage();
            } catch (java.net.SocketTimeoutException e) {
                what = "timeout";
            } catch (java.io.IOException e) {
                what = "other:" + e.getMessage().replace(' ', '_');
            }
        } else {
            try (java.net.DatagramSocket d = new java.net.DatagramSocket()) {
                d.connect(to);
                d.setSoTimeout(3000);
                d.send(new java.net.DatagramPacket(new byte[]{1}, 1));
                d.receive(new java.net.DatagramPacket(new byte[64], 64));
                what = "open";
            } catch (java.net.PortUnreachableException e) {
                what = "unreachable";
            } catch (java.net.SocketTimeoutException e) {
                what = "timeout";
            }
        }
        System.out.println(what + " " + (System.nanoTime() - t0) / 1_000_000);
    }
}
