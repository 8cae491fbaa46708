package io.nflb.host;

import io.nflb.model.IpAddress;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Deletes the conntrack entries of UDP flows that a service's DNAT sent to a backend which has left it.
 * Without this a client that keeps sending (DNS, syslog, games) keeps refreshing the entry, and its
 * datagrams go to the dead backend for as long as it keeps talking: kube-proxy's well-known UDP blackhole.
 * TCP entries are left alone: a TCP connection to a dead server ends by itself, and a drained one must live.
 */
public final class Conntrack {

    private static final Pattern DELETED = Pattern.compile("(\\d+) flow entries have been deleted");

    private Conntrack() {
    }

    /**
     * Deletes UDP entries that were DNAT'ed from {@code listenPort} to {@code backend}:{@code backendPort};
     * returns how many went. The reply direction's source is the backend, which is what identifies them.
     */
    public static int forgetUdp(Exec exec, int listenPort, IpAddress backend, int backendPort) {
        Exec.Result r = exec.run(command(listenPort, backend, backendPort));
        // conntrack exits 1 when nothing matched; that is a success here.
        Matcher m = DELETED.matcher(r.stderr() + r.stdout());
        if (m.find()) return Integer.parseInt(m.group(1));
        throw new KernelException("conntrack could not delete the flows to " + backend + ":" + backendPort + ": "
                + r.describeFailure());
    }

    static List<String> command(int listenPort, IpAddress backend, int backendPort) {
        List<String> argv = new ArrayList<>(List.of("conntrack", "-D",
                "-f", backend.family() == IpAddress.Family.V6 ? "ipv6" : "ipv4",
                "-p", "udp", "--orig-port-dst", String.valueOf(listenPort),
                "--reply-src", backend.toString(), "--reply-port-src", String.valueOf(backendPort), "--dst-nat"));
        return List.copyOf(argv);
    }
}
