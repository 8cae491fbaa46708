package io.nflb.lab;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The lab's client: opens {@code count} new TCP connections one after another, one HTTP request each, and
 * records who answered each one. Bounded in count and in time. Runs inside the client namespace.
 */
public final class LabClient {

    /** What answered connection i: a backend's name, or one of these failure kinds. */
    public static final String REFUSED = "refused";
    public static final String TIMEOUT = "timeout";
    public static final String RESET = "reset";
    public static final String NOT_SENT = "not-sent";

    private LabClient() {
    }

    public static List<String> run(String host, int port, int count, int timeoutMillis, long deadlineMillis) {
        List<String> answers = new ArrayList<>(count);
        long deadline = System.currentTimeMillis() + deadlineMillis;
        byte[] request = ("GET / HTTP/1.0\r\nHost: " + host + "\r\nUser-Agent: nflb-probe\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < count; i++) {
            if (System.currentTimeMillis() > deadline) {
                answers.add(NOT_SENT);
                continue;
            }
            answers.add(once(host, port, timeoutMillis, request));
        }
        return answers;
    }

    private static String once(String host, int port, int timeoutMillis, byte[] request) {
        try (Socket s = new Socket()) {
            s.setSoLinger(true, 0); // no TIME_WAIT pile-up on the client: 1000s of connections stay cheap
            s.connect(new InetSocketAddress(host, port), timeoutMillis);
            s.setSoTimeout(timeoutMillis);
            OutputStream out = s.getOutputStream();
            out.write(request);
            out.flush();
            InputStream in = s.getInputStream();
            String response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            int body = response.indexOf("\r\n\r\n");
            String name = body < 0 ? "" : response.substring(body + 4).strip();
            return name.isEmpty() || name.contains(" ") ? RESET : name;
        } catch (ConnectException e) {
            return REFUSED;
        } catch (SocketTimeoutException e) {
            return TIMEOUT;
        } catch (IOException e) {
            return RESET;
        }
    }

    /** Counts per answer, in order of first appearance. */
    public static Map<String, Integer> tally(List<String> answers) {
        Map<String, Integer> t = new LinkedHashMap<>();
        for (String a : answers) t.merge(a, 1, Integer::sum);
        return t;
    }

    /** {@code LabClient HOST PORT COUNT TIMEOUT_MS DEADLINE_MS}: prints one answer per line, then "done". */
    public static void main(String[] args) {
        List<String> answers = run(args[0], Integer.parseInt(args[1]), Integer.parseInt(args[2]),
                Integer.parseInt(args[3]), Long.parseLong(args[4]));
        StringBuilder sb = new StringBuilder(answers.size() * 4);
        for (String a : answers) sb.append(a).append('\n');
        sb.append("done\n");
        System.out.print(sb);
        System.out.flush();
    }
}
