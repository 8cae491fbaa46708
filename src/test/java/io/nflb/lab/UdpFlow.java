package io.nflb.lab;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * A test client: one UDP "flow" (one fixed source port) that sends a datagram every {@code intervalMs} for
 * {@code seconds} and prints who answered each ("answer s1") or "timeout". Conntrack keeps such a flow on
 * the backend its first datagram was sent to for as long as it keeps talking. Run inside the client namespace.
 */
public final class UdpFlow {

    private UdpFlow() {
    }

    /** {@code UdpFlow HOST PORT SOURCE_PORT SECONDS INTERVAL_MS} */
    public static void main(String[] args) throws Exception {
        InetSocketAddress to = new InetSocketAddress(args[0], Integer.parseInt(args[1]));
        long until = System.currentTimeMillis() + Long.parseLong(args[3]) * 1000;
        long interval = Long.parseLong(args[4]);
        try (DatagramSocket s = new DatagramSocket(Integer.parseInt(args[2]))) {
            s.setSoTimeout((int) Math.max(50, interval));
            byte[] buf = new byte[512];
            while (System.currentTimeMillis() < until) {
                s.send(new DatagramPacket(new byte[] {'?'}, 1, to));
                try {
                    DatagramPacket in = new DatagramPacket(buf, buf.length);
                    s.receive(in);
                    System.out.println("answer " + new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8).strip());
                } catch (SocketTimeoutException e) {
                    System.out.println("timeout");
                }
                System.out.flush();
                Thread.sleep(interval);
            }
        }
        System.out.println("done");
    }
}
