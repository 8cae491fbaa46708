package io.nflb.lab;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A test client for the daemon lab tests: one long-lived HTTP/1.1 connection that sends a request every
 * {@code intervalMs} for {@code seconds}, printing who answered each ("answer s2"), or "failed ..." and
 * exit 1 the moment the connection breaks. Run inside the client namespace.
 */
public final class HoldConnection {

    private HoldConnection() {
    }

    /** {@code HoldConnection HOST PORT SECONDS INTERVAL_MS} */
    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        long until = System.currentTimeMillis() + Long.parseLong(args[2]) * 1000;
        long interval = Long.parseLong(args[3]);
        int answers = 0;
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 2000);
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
            while (System.currentTimeMillis() < until) {
                out.write(("GET / HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: nflb-hold\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                int length = -1;
                for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
                    if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) length = Integer.parseInt(line.substring(15).strip());
                }
                if (length < 0) throw new IllegalStateException("no Content-Length: the connection broke");
                char[] body = new char[length];
                int n = 0;
                while (n < length) {
                    int r = in.read(body, n, length - n);
                    if (r < 0) throw new IllegalStateException("the connection closed mid-answer");
                    n += r;
                }
                System.out.println("answer " + new String(body).strip());
                System.out.flush();
                answers++;
                Thread.sleep(interval);
            }
        } catch (Exception e) {
            System.out.println("failed after " + answers + " answers: " + e);
            System.out.flush();
            System.exit(1);
        }
        System.out.println("done " + answers);
    }
}
