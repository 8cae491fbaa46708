package io.nflb.dataplane.nft;

import java.util.List;

/**
 * One transaction between two states of table inet nflb, as {@link NftDiff} computed it: what to add, flush,
 * rewrite and delete, object by object, each list sorted by name (elements by their text) so that the same
 * two states always give the same text, however they were computed. {@link #text()} is the nft script; a
 * writer that talks netlink encodes the same objects. {@link #replaceWhole()}: a declaration changed (a base
 * chain's hook or a set's type cannot be edited in place), only a full replace will do.
 */
final class NftChange {

    private static final String T = NftNames.QUALIFIED;

    static final NftChange REPLACE_WHOLE = new NftChange(List.of(), List.of(), List.of(), List.of(), List.of(), List.of(),
            List.of(), List.of(), List.of(), List.of());

    /**
     * Elements of one set or map, added (whole elements, with comment and data) or deleted (keys only).
     * {@code header}: the set's declaration lines, which say how its keys and data are typed.
     */
    record Elements(String set, List<String> header, List<String> elements) {
        Elements {
            header = List.copyOf(header);
            elements = List.copyOf(elements);
        }
    }

    /** New chains (header only), new sets and counters; then element deletes; chains flushed to be rewritten. */
    private final List<NftState.Chain> newChains;
    private final List<NftState.NftSet> newSets;
    private final List<String> newCounters;
    private final List<Elements> deletedElements;
    private final List<String> flushedChains;
    /** Chains whose rules are written: the new ones and the flushed ones. */
    private final List<NftState.Chain> rewrittenChains;
    private final List<Elements> addedElements;
    /** Flushed, then deleted, once nothing refers to them any more. */
    private final List<String> deletedChains;
    private final List<NftState.NftSet> deletedSets;
    private final List<String> deletedCounters;

    NftChange(List<NftState.Chain> newChains, List<NftState.NftSet> newSets, List<String> newCounters,
              List<Elements> deletedElements, List<String> flushedChains, List<NftState.Chain> rewrittenChains,
              List<Elements> addedElements, List<String> deletedChains, List<NftState.NftSet> deletedSets,
              List<String> deletedCounters) {
        this.newChains = List.copyOf(newChains);
        this.newSets = List.copyOf(newSets);
        this.newCounters = List.copyOf(newCounters);
        this.deletedElements = List.copyOf(deletedElements);
        this.flushedChains = List.copyOf(flushedChains);
        this.rewrittenChains = List.copyOf(rewrittenChains);
        this.addedElements = List.copyOf(addedElements);
        this.deletedChains = List.copyOf(deletedChains);
        this.deletedSets = List.copyOf(deletedSets);
        this.deletedCounters = List.copyOf(deletedCounters);
    }

    boolean replaceWhole() {
        return this == REPLACE_WHOLE;
    }

    boolean isEmpty() {
        return !replaceWhole() && newChains.isEmpty() && newSets.isEmpty() && newCounters.isEmpty() && deletedElements.isEmpty()
                && flushedChains.isEmpty() && rewrittenChains.isEmpty() && addedElements.isEmpty() && deletedChains.isEmpty()
                && deletedSets.isEmpty() && deletedCounters.isEmpty();
    }

    List<NftState.Chain> newChains() {
        return newChains;
    }

    List<NftState.NftSet> newSets() {
        return newSets;
    }

    List<String> newCounters() {
        return newCounters;
    }

    List<Elements> deletedElements() {
        return deletedElements;
    }

    List<String> flushedChains() {
        return flushedChains;
    }

    List<NftState.Chain> rewrittenChains() {
        return rewrittenChains;
    }

    List<Elements> addedElements() {
        return addedElements;
    }

    List<String> deletedChains() {
        return deletedChains;
    }

    List<NftState.NftSet> deletedSets() {
        return deletedSets;
    }

    List<String> deletedCounters() {
        return deletedCounters;
    }

    /**
     * The transaction as nft commands. Order matters: objects exist before anything refers to them, references
     * go before their targets.
     */
    String text() {
        if (replaceWhole()) throw new IllegalStateException("a declaration changed: the table is replaced whole");
        StringBuilder sb = new StringBuilder();
        for (NftState.Chain c : newChains) {
            sb.append("add chain ").append(T).append(' ').append(c.name());
            if (!c.header().isEmpty()) sb.append(" { ").append(c.header()).append(" }");
            sb.append('\n');
        }
        for (NftState.NftSet s : newSets) {
            sb.append("add ").append(s.map() ? "map " : "set ").append(T).append(' ').append(s.name())
                    .append(" { ").append(String.join("; ", s.header())).append("; }\n");
        }
        for (String c : newCounters) sb.append("add counter ").append(T).append(' ').append(c).append('\n');
        for (Elements e : deletedElements) elements(sb, "delete", e);
        for (String c : flushedChains) sb.append("flush chain ").append(T).append(' ').append(c).append('\n');
        for (String c : deletedChains) sb.append("flush chain ").append(T).append(' ').append(c).append('\n');
        for (NftState.Chain c : rewrittenChains) {
            for (String r : c.rules()) sb.append("add rule ").append(T).append(' ').append(c.name()).append(' ').append(r).append('\n');
        }
        for (Elements e : addedElements) elements(sb, "add", e);
        for (String c : deletedChains) sb.append("delete chain ").append(T).append(' ').append(c).append('\n');
        for (NftState.NftSet s : deletedSets) {
            sb.append("delete ").append(s.map() ? "map " : "set ").append(T).append(' ').append(s.name()).append('\n');
        }
        for (String c : deletedCounters) sb.append("delete counter ").append(T).append(' ').append(c).append('\n');
        return sb.toString();
    }

    private static void elements(StringBuilder sb, String verb, Elements e) {
        sb.append(verb).append(" element ").append(T).append(' ').append(e.set()).append(" { ");
        for (int i = 0; i < e.elements().size(); i++) {
            if (i > 0) sb.append(", ");
            sb.append(e.elements().get(i));
        }
        sb.append(" }\n");
    }

    @Override
    public String toString() {
        return replaceWhole() ? "(replace whole)" : text();
    }
}
