package io.nflb.kernel;

import java.util.List;

/**
 * nflb's nftables table in the kernel. A script is checked with {@code nft -c} and then loaded with one
 * {@code nft -f}, which is a single transaction: it lands whole or not at all. Only {@code table ip nflb}
 * is ever touched.
 */
public final class NftKernel {

    private final Exec exec;
    private final String table;

    public NftKernel(Exec exec, String table) {
        if (!table.matches("[a-z][a-z0-9_]{0,31}")) throw new IllegalArgumentException("bad table name: " + table);
        this.exec = exec;
        this.table = table;
    }

    /** Loads {@code script}; on refusal throws with nft's message and the kernel is as it was. */
    public void apply(String script) {
        Exec.Result check = exec.run(List.of("nft", "-c", "-f", "-"), script);
        if (!check.ok()) throw new KernelException("nft refused the script: " + check.stderr().strip());
        Exec.Result r = exec.run(List.of("nft", "-f", "-"), script);
        if (!r.ok()) throw new KernelException("nft refused the script: " + r.stderr().strip());
    }

    public boolean installed() {
        return exec.check(List.of("nft", "list", "tables")).stdout().lines().anyMatch(l -> l.strip().equals("table ip " + table));
    }

    /** Deletes nflb's table; returns whether there was one. */
    public boolean flush() {
        if (!installed()) return false;
        exec.check(List.of("nft", "delete", "table", "ip", table));
        return true;
    }

    /** {@code nft list table}: what is loaded now, with counters; "" when the table is not there. */
    public String list() {
        if (!installed()) return "";
        return exec.check(List.of("nft", "list", "table", "ip", table)).stdout();
    }
}
