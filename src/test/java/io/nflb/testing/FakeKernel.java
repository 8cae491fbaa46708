package io.nflb.testing;

import io.nflb.dataplane.Dataplane;
import io.nflb.dataplane.Dataplanes;
import io.nflb.dataplane.NeighbourReader;
import io.nflb.dataplane.iptables.FakeIptablesTool;
import io.nflb.dataplane.iptables.IptablesBridge;
import io.nflb.dataplane.iptables.IptablesNeighbours;
import io.nflb.dataplane.iptables.IptablesDataplane;
import io.nflb.dataplane.iptables.IptablesKernel;
import io.nflb.dataplane.nft.FakeNftTool;
import io.nflb.dataplane.nft.NftDataplane;
import io.nflb.dataplane.nft.NftNeighbours;
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

    /**
     * A new dataplane of this language over the shared tables (a command line's, or a daemon's), wired as
     * Dataplanes.REAL wires them: each sees what the other language shows of the neighbours, and nftables
     * keeps its pass through an iptables FORWARD policy DROP in these iptables tables.
     */
    public Dataplane dataplane() {
        return language == Language.IPTABLES ? iptablesDataplane() : nftDataplane();
    }

    private List<IptablesKernel> iptablesKernels() {
        return List.of(new IptablesKernel(iptables), new IptablesKernel(ip6tables));
    }

    private Dataplane iptablesDataplane() {
        return new IptablesDataplane(iptablesKernels(), () -> NftNeighbours.read(nft.listOtherTables()));
    }

    private Dataplane nftDataplane() {
        NeighbourReader inIptables = () -> IptablesNeighbours.read(Family.V4, iptables.save(false))
                .merge(IptablesNeighbours.read(Family.V6, ip6tables.save(false)));
        // A clock that always says "much later": every apply checks the pass against the tables.
        java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong();
        return new NftDataplane(nft, inIptables, new IptablesBridge(iptablesKernels(), () -> now.addAndGet(1_000_000_000_000L)));
    }

    /** Both languages over these tables; auto means this fixture's language. */
    public Dataplanes dataplanes() {
        return new Dataplanes(e -> iptablesDataplane(), e -> nftDataplane(), e -> language == Language.NFTABLES);
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

    public FakeIptablesTool ip6tables() {
        return ip6tables;
    }

    public FakeNftTool nft() {
        return nft;
    }
}
