package io.nflb.dataplane.nft;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * An AF_NETLINK / NETLINK_NETFILTER socket through libc (Java has no netlink sockets; JNA calls socket, bind,
 * setsockopt, send, recv, setns and close, nothing else). A socket belongs to the network namespace it was
 * created in, whatever thread uses it later: for a named namespace a thread of its own enters it
 * ({@code setns}), creates the socket and ends.
 */
final class NetlinkSocket implements NftNetlinkChannel {

    private static final int AF_NETLINK = 16;
    private static final int SOCK_RAW = 3;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int NETLINK_NETFILTER = 12;
    private static final int SOL_SOCKET = 1;
    private static final int SO_SNDBUF = 7;
    private static final int SO_RCVBUF = 8;
    private static final int SO_RCVTIMEO = 20;
    private static final int SO_SNDBUFFORCE = 32;
    private static final int SO_RCVBUFFORCE = 33;
    private static final int SOL_NETLINK = 270;
    /** Error answers carry the refused message's header only, not the whole message. */
    private static final int NETLINK_CAP_ACK = 10;
    private static final int CLONE_NEWNET = 0x40000000;
    private static final int O_RDONLY_CLOEXEC = 0x80000;
    private static final int EAGAIN = 11;
    private static final int EINTR = 4;
    private static final int BUFFER = NftNetlink.MAX_BATCH + (64 << 10);

    /** libc, loaded on first use: a JVM that never writes nft over netlink never loads JNA. */
    interface LibC extends Library {
        int socket(int domain, int type, int protocol) throws LastErrorException;

        int bind(int fd, byte[] address, int length) throws LastErrorException;

        int setsockopt(int fd, int level, int name, byte[] value, int length) throws LastErrorException;

        long send(int fd, byte[] buffer, long length, int flags) throws LastErrorException;

        long recv(int fd, byte[] buffer, long length, int flags) throws LastErrorException;

        int open(String path, int flags) throws LastErrorException;

        int setns(int fd, int nstype) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    private static final class Holder {
        static final LibC C = Native.load("c", LibC.class);
    }

    private final int fd;
    private boolean closed;

    private NetlinkSocket(int fd) {
        this.fd = fd;
    }

    /**
     * A socket in namespace {@code netns} (a name under /run/netns, as {@code ip netns} makes them), or in this
     * process's own namespace when null. {@code timeout}: how long {@link #receive} waits for an answer.
     */
    static NetlinkSocket open(String netns, Duration timeout) throws IOException {
        LibC c;
        try {
            c = Holder.C;
        } catch (LinkageError e) {
            throw new IOException("libc through JNA is not available: " + e, e);
        }
        int fd = netns == null ? create(c) : createIn(c, netns);
        NetlinkSocket s = new NetlinkSocket(fd);
        try {
            byte[] address = new byte[12]; // sockaddr_nl: family, padding, port 0 (the kernel assigns one), no groups
            ByteBuffer.wrap(address).order(ByteOrder.nativeOrder()).putShort((short) AF_NETLINK);
            c.bind(fd, address, address.length);
            // A batch goes out as one datagram: the send buffer must hold the biggest. Forcing past the system's
            // limit needs CAP_NET_ADMIN, which writing rules needs anyway; without it, the plain size.
            buffer(c, fd, SO_SNDBUFFORCE, SO_SNDBUF);
            buffer(c, fd, SO_RCVBUFFORCE, SO_RCVBUF);
            c.setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, int32(1), 4);
            byte[] tv = ByteBuffer.allocate(16).order(ByteOrder.nativeOrder())
                    .putLong(timeout.toSeconds()).putLong(timeout.toMillisPart() * 1000L).array();
            c.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, tv.length);
            return s;
        } catch (LastErrorException e) {
            s.close();
            throw new IOException("netlink socket: " + e.getMessage(), e);
        }
    }

    private static int create(LibC c) throws IOException {
        try {
            return c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
        } catch (LastErrorException e) {
            throw new IOException("netlink socket: " + e.getMessage(), e);
        }
    }

    /** On a thread of its own, which enters the namespace, creates the socket and ends with the namespace it entered. */
    private static int createIn(LibC c, String netns) throws IOException {
        if (!netns.matches("[A-Za-z0-9_.-]{1,64}")) throw new IOException("bad namespace name " + netns);
        CompletableFuture<Integer> fd = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                int ns = c.open("/run/netns/" + netns, O_RDONLY_CLOEXEC);
                try {
                    c.setns(ns, CLONE_NEWNET);
                } finally {
                    c.close(ns);
                }
                fd.complete(create(c));
            } catch (Throwable e) {
                fd.completeExceptionally(e);
            }
        }, "nflb-netns-" + netns);
        t.setDaemon(true);
        t.start();
        try {
            return fd.get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while entering namespace " + netns, e);
        } catch (Exception e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new IOException("netlink socket in namespace " + netns + ": " + cause.getMessage(), cause);
        }
    }

    private static void buffer(LibC c, int fd, int force, int plain) {
        try {
            c.setsockopt(fd, SOL_SOCKET, force, int32(BUFFER), 4);
        } catch (LastErrorException e) {
            c.setsockopt(fd, SOL_SOCKET, plain, int32(BUFFER), 4);
        }
    }

    private static byte[] int32(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(v).array();
    }

    @Override
    public synchronized void send(byte[] batch, int length) throws IOException {
        try {
            long n = Holder.C.send(fd, batch, length, 0);
            if (n != length) throw new IOException("netlink send: " + n + " of " + length + " bytes");
        } catch (LastErrorException e) {
            throw new IOException("netlink send: " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized int receive(byte[] into) throws IOException {
        for (int tries = 0; ; tries++) {
            try {
                long n = Holder.C.recv(fd, into, into.length, 0);
                if (n <= 0) throw new IOException("netlink recv: " + n);
                return (int) n;
            } catch (LastErrorException e) {
                if (e.getErrorCode() == EINTR && tries < 3) continue;
                throw new IOException(e.getErrorCode() == EAGAIN ? "no netlink answer in time" : "netlink recv: " + e.getMessage(), e);
            }
        }
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            Holder.C.close(fd);
        } catch (LastErrorException ignored) {
            // nothing left to do with it
        }
    }
}
