package io.nflb.dataplane;

import io.nflb.plan.Plan;

/**
 * The nftables backend's small iptables part. An iptables-nft FORWARD chain with policy DROP (Docker and ufw
 * set one) is one more base chain at the forward hook, and its drop is final whatever nflb's table accepts:
 * nflb's own balanced and forward: traffic would be dropped. Only where such a policy is live, nflb keeps one
 * iptables chain of its own (NFLB-PASS) that accepts exactly that traffic, jumped to first from FORWARD;
 * nothing else writes or reads it, and flush removes it.
 */
public interface ForwardBridge {

    /** What an apply did: a one-line summary ("" when nothing changed), the text sent, and how to put it back. */
    record Change(String summary, String sent, Runnable undo) {
        public boolean changed() {
            return !sent.isEmpty();
        }
    }

    /** Brings the chain to what {@code plan} needs next to the live FORWARD policies. */
    Change apply(Plan plan);

    /** What apply would send now ("" when nothing), and the unified diff of the chain. */
    String plan(Plan plan);

    String diff(Plan plan, String source);

    /** Removes the chain and its jump; nothing else. */
    Change flush();

    ForwardBridge NONE = new ForwardBridge() {
        @Override
        public Change apply(Plan plan) {
            return new Change("", "", () -> { });
        }

        @Override
        public String plan(Plan plan) {
            return "";
        }

        @Override
        public String diff(Plan plan, String source) {
            return "";
        }

        @Override
        public Change flush() {
            return new Change("", "", () -> { });
        }
    };
}
