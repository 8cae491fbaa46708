package io.nflb.dataplane.nft;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * What nflb wants in nftables: the whole {@code table inet nflb} as a script ({@link #text()}) and the same
 * objects in structured form ({@link #state()}) for the kernel step's comparison with what is live. Both are
 * built on first use: a partial sync sends a difference and never needs the whole table. A script rendered by
 * a long-lived renderer right after another one also knows the transaction from that one ({@link #changeFrom}),
 * computed from the services that changed only.
 */
public final class NftScript {

    private static final AtomicLong SERIALS = new AtomicLong();

    /** Tells scripts apart without holding on to them: a script names the one it was rendered after by this. */
    private final long serial = SERIALS.incrementAndGet();
    private final long baseSerial;
    private final NftChange changeFromBase;
    private Supplier<NftState> source;
    private NftState state;
    private String text;
    private String fullReplace;

    private NftScript(Supplier<NftState> source, long baseSerial, NftChange changeFromBase) {
        this.source = source;
        this.baseSerial = baseSerial;
        this.changeFromBase = changeFromBase;
    }

    public static NftScript of(NftState state) {
        NftScript s = new NftScript(null, 0, null);
        s.state = state;
        return s;
    }

    /** A script whose state {@code source} builds when first asked, rendered right after {@code base} (or null). */
    static NftScript lazy(Supplier<NftState> source, NftScript base, NftChange changeFromBase) {
        return new NftScript(source, base == null ? 0 : base.serial, base == null ? null : changeFromBase);
    }

    public synchronized NftState state() {
        if (state == null) {
            state = source.get();
            source = null;
        }
        return state;
    }

    public synchronized String text() {
        if (text == null) text = fullReplace != null ? fullReplace.substring(REPLACE_PREFIX.length()) : state().toText();
        return text;
    }

    /** The transaction that turns {@code base}'s table into this one, when this script was rendered right after it; else null. */
    NftChange changeFrom(NftScript base) {
        return base != null && changeFromBase != null && base.serial == baseSerial ? changeFromBase : null;
    }

    /**
     * One {@code nft -f} transaction that replaces whatever table inet nflb holds with this script.
     * {@code table x {}} first makes the delete valid when the table does not exist yet.
     */
    public synchronized String fullReplace() {
        if (fullReplace == null) {
            NftState st = state();
            fullReplace = st.appendText(new StringBuilder(REPLACE_PREFIX.length() + st.textSize()).append(REPLACE_PREFIX)).toString();
        }
        return fullReplace;
    }

    private static final String REPLACE_PREFIX = "table " + NftNames.QUALIFIED + " {\n}\n" + "delete table " + NftNames.QUALIFIED + "\n";

    /** The script a {@link #fullReplace} text replaces the table with, read back (empty when it is no such text). */
    static Optional<NftScript> ofFullReplace(String fullReplace) {
        if (!fullReplace.startsWith(REPLACE_PREFIX)) return Optional.empty();
        NftScript s = new NftScript(() -> NftState.parse(fullReplace.substring(REPLACE_PREFIX.length())), 0, null);
        s.fullReplace = fullReplace;
        return Optional.of(s);
    }
}
