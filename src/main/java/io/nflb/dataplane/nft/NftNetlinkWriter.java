package io.nflb.dataplane.nft;

import io.nflb.host.Exec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes partial syncs straight to nf_tables over netlink ({@link NftNetlink}): no nft process and no fetch of
 * the ruleset's chains, so a sync costs the same at 100 and 100,000 services. What it does not encode (new or
 * deleted chains and sets, rules other than a round-robin service's) goes through nft's text instead, as does
 * everything once netlink misbehaved: no socket (no JNA, no namespace), an answer that makes no sense, or a
 * batch the kernel refused that nft then took. It says so once. A refused batch changed nothing (the kernel
 * aborts it whole), so the text retry is safe; after an answer that makes no sense the batch may have been
 * committed, and then the text retry fails on the generation token like any other stale write.
 */
final class NftNetlinkWriter implements NftWriter {

    private static final Logger log = LoggerFactory.getLogger("nflb");
    private static final Map<Integer, String> ERRNO = Map.of(1, "EPERM", 2, "ENOENT (No such file or directory)", 12, "ENOMEM",
            16, "EBUSY", 17, "EEXIST (File exists)", 22, "EINVAL", 34, "ERANGE", 85, "ERESTART (the ruleset changed)",
            95, "EOPNOTSUPP", 105, "ENOBUFS");

    private final NftTool tool;
    private final NftWriter text;
    private final NftNetlink encoder = new NftNetlink(ThreadLocalRandom.current().nextInt(1 << 30));
    private final byte[] answer = new byte[64 << 10];
    private final Set<String> told = new HashSet<>();
    private NftNetlinkChannel channel;
    /** Why netlink is no longer used, or null while it is. */
    private String disabled;
    private long batches;
    private long textFallbacks;

    NftNetlinkWriter(NftTool tool) {
        this.tool = tool;
        this.text = new NftWriter.Text(tool);
    }

    @Override
    public synchronized Exec.Result write(NftChange change, String expected, String next) {
        if (disabled != null) return viaText(change, expected, next);
        NftNetlink.Batch batch;
        try {
            batch = encoder.batch(change, expected, next);
        } catch (NftNetlink.Unsupported e) {
            if (told.add(e.getMessage())) {
                log.info("nftables: a partial sync with {} goes through nft (netlink writes elements and round-robin rules)", e.getMessage());
            }
            return viaText(change, expected, next);
        }
        int error;
        try {
            if (channel == null) channel = tool.netlink();
            error = exchange(batch);
        } catch (IOException | RuntimeException | LinkageError e) {
            disable("netlink failed (" + e.getMessage() + ")");
            return viaText(change, expected, next);
        }
        batches++;
        if (error == 0) return new Exec.Result(List.of("netlink"), 0, "", "");
        // Refused and aborted as a whole. nft decides: if it takes the same transaction, netlink got it wrong here.
        Exec.Result r = viaText(change, expected, next);
        if (r.ok()) disable("the kernel refused a netlink batch (" + errno(error) + ") that nft then wrote");
        return r;
    }

    private int exchange(NftNetlink.Batch batch) throws IOException {
        channel.send(batch.bytes(), batch.length());
        NftNetlink.Answers answers = new NftNetlink.Answers(batch);
        while (!answers.complete()) answers.read(answer, channel.receive(answer));
        return answers.error();
    }

    private Exec.Result viaText(NftChange change, String expected, String next) {
        textFallbacks++;
        return text.write(change, expected, next);
    }

    private void disable(String why) {
        disabled = why;
        closeChannel();
        log.warn("nftables: partial syncs go through nft from now on: {}", why);
    }

    private static String errno(int negative) {
        return ERRNO.getOrDefault(-negative, "errno " + -negative);
    }

    /** Batches the kernel answered (taken or refused). */
    synchronized long batches() {
        return batches;
    }

    /** Syncs that went through nft's text instead. */
    synchronized long textFallbacks() {
        return textFallbacks;
    }

    /** Why netlink is no longer used, or null. */
    synchronized String disabled() {
        return disabled;
    }

    private void closeChannel() {
        if (channel != null) channel.close();
        channel = null;
    }

    @Override
    public synchronized void close() {
        closeChannel();
    }
}
