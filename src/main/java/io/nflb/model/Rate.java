package io.nflb.model;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * A rate such as 50/s or 30/m. Kept in the smallest unit the count is whole in, because that is how
 * iptables prints a rate back (60/m would read back as 1/sec and never compare equal).
 */
public record Rate(long count, Unit unit) {

    public static final long MAX_COUNT = 1_000_000;

    public enum Unit {
        SECOND("sec", "second", 1, "s", "sec", "second"), MINUTE("min", "minute", 60, "m", "min", "minute"),
        HOUR("hour", "hour", 3600, "h", "hour");

        private final String iptables;
        private final String nft;
        private final long seconds;
        /** How nflb.yaml may write the unit, in any case. */
        private final List<String> spellings;

        Unit(String iptables, String nft, long seconds, String... spellings) {
            this.iptables = iptables;
            this.nft = nft;
            this.seconds = seconds;
            this.spellings = List.of(spellings);
        }

        public List<String> spellings() {
            return spellings;
        }
    }

    public Rate {
        if (unit == null) throw new IllegalArgumentException("unit is null");
        if (count < 1 || count > MAX_COUNT) throw new IllegalArgumentException("rate count out of 1.." + MAX_COUNT + ": " + count);
    }

    /** "50/s", "50/second", "3/m", "3/min", "3/minute", "1/h", "1/hour"; normalized to the largest whole-count unit. */
    public static Optional<Rate> parse(String text) {
        int slash = text.indexOf('/');
        if (slash <= 0 || slash > 7) return Optional.empty();
        String n = text.substring(0, slash);
        if (!n.chars().allMatch(Character::isDigit)) return Optional.empty();
        long count = Long.parseLong(n);
        if (count < 1 || count > MAX_COUNT) return Optional.empty();
        String word = text.substring(slash + 1).toLowerCase(Locale.ROOT);
        for (Unit unit : Unit.values()) {
            if (unit.spellings.contains(word)) return Optional.of(normalize(count, unit));
        }
        return Optional.empty();
    }

    private static Rate normalize(long count, Unit unit) {
        List<Unit> units = List.of(Unit.values());
        int i = units.indexOf(unit);
        while (i > 0) {
            long factor = units.get(i).seconds / units.get(i - 1).seconds;
            if (count % factor != 0) break;
            count /= factor;
            i--;
        }
        return new Rate(count, units.get(i));
    }

    public String iptables() {
        return count + "/" + unit.iptables;
    }

    public String nft() {
        return count + "/" + unit.nft;
    }

    @Override
    public String toString() {
        return count + "/" + unit.name().substring(0, 1).toLowerCase(Locale.ROOT);
    }
}
