package io.nflb.testing;

import io.nflb.dataplane.Dataplane;
import io.nflb.dataplane.Dataplanes;
import io.nflb.dataplane.iptables.FakeIptablesTool;
import io.nflb.dataplane.iptables.IptablesDataplane;
import io.nflb.dataplane.iptables.IptablesKernel;
import io.nflb.dataplane.nft.FakeNftTool;
import io.nflb.dataplane.nft.NftDataplane;
import io.nflb.model.IpAddress.Family;

import java.util.List;

/**
 * A kernel in memory for one rule language: the in-memory tools (each applying all or nothing), a dataplane
 * over them, and what a test asks of the rules as text. One instance per test: the tools keep their tables
 * across dataplanes made from {@link #dataplanes()}, as the real kernel keeps them across commands.
 */
public final class FakeKernel {

    public enum Language { IPTABLES, NFTABLES }

    private final Language language;
    private final FakeIptablesTool iptables = new FakeIptablesTool(Family.V4);
    private final FakeIptablesTool ip6tables = new FakeIptablesTool(Family.V6);
    private final FakeNftTool nft = new FakeNftTool();

    public FakeKernel(Language language) {
        this.language = language;
    }

    public Language language() {
        return language;
    }

    /** A new dataplane of this language over the shared tables (a command line's, or a daemon's). */
    public Dataplane dataplane() {
        return language == Language.IPTABLES ? iptablesDataplane() : new NftDataplane(nft);
    }

    private Dataplane iptablesDataplane() {
        return new IptablesDataplane(List.of(new IptablesKernel(iptables), new IptablesKernel(ip6tables)));
    }

    /** Both languages over these tables; auto means this fixture's language. */
    public Dataplanes dataplanes() {
        return new Dataplanes(e -> iptablesDataplane(), e -> new NftDataplane(nft), e -> language == Language.NFTABLES);
    }

    /**
     * Everything of this language in the kernel, as its save or list command prints it (IPv4 for iptables), but
     * nft's generation token, which every write changes.
     */
    public String rules() {
        if (language == Language.IPTABLES) return iptables.save(false);
        return nft.listTable().orElse("").replaceAll("(\tset gen \\{\n\t\ttype mark\n)\t\telements = \\{ [^}]* \\}\n", "$1");
    }

    /** How a backend "ADDRESS:PORT" appears in this language's rules. */
    public String endpoint(String endpoint) {
        if (language == Language.IPTABLES) return endpoint;
        int colon = endpoint.lastIndexOf(':');
        return endpoint.substring(0, colon) + " . " + endpoint.substring(colon + 1);
    }

    /** Every transaction the kernel took. */
    public List<String> committed() {
        return language == Language.IPTABLES ? iptables.committed() : nft.committed();
    }

    /** From now on, refuse any transaction with a line containing {@code text}; null to stop. */
    public void refuseLinesContaining(String text) {
        if (language == Language.IPTABLES) iptables.refuseLinesContaining(text);
        else nft.refuseLinesContaining(text);
    }

    public FakeIptablesTool iptables() {
        return iptables;
    }

    public FakeNftTool nft() {
        return nft;
    }
}
