package io.nflb.model;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * {@code firewall.neighbours}: how nflb's drop policies treat the traffic each neighbour manages. Every key is
 * optional: a neighbour's default is what its users expect (containers, VMs and pods keep working; a host
 * firewall stays the authority for the router's own input), and {@link NeighbourKind#OTHER} is only reported.
 */
public record NeighbourModes(Map<NeighbourKind, Setting> settings) {

    /**
     * allow: nflb's drop policies leave the neighbour's traffic to the neighbour's own rules (for a host
     * firewall: nflb defers the router's input to it). restrict: as allow, but connections into the
     * neighbour's network through its published ports or node ports need an entry of {@code firewall.allow}
     * (for a host firewall: both policies apply). ignore: nflb's policies treat it like any other traffic.
     */
    public enum Mode {
        ALLOW, RESTRICT, IGNORE;

        public String keyword() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * One neighbour's setting. {@code interfaces} and {@code networks}, when given, are what the neighbour
     * manages in place of what nflb derives from its rules; {@code explicit}: the config named the neighbour.
     */
    public record Setting(Mode mode, List<String> interfaces, List<Prefix> networks, boolean explicit) {
        public Setting {
            if (mode == null) throw new IllegalArgumentException("mode is null");
            interfaces = List.copyOf(interfaces);
            interfaces.forEach(Names::requireInterface);
            networks = List.copyOf(networks);
        }

        /** How messages say it: "allow (default)", "restrict". */
        public String describe() {
            return mode.keyword() + (explicit ? "" : " (default)");
        }
    }

    public NeighbourModes {
        Map<NeighbourKind, Setting> copy = new EnumMap<>(NeighbourKind.class);
        copy.putAll(settings);
        for (NeighbourKind k : copy.keySet()) {
            if (!k.hasMode()) throw new IllegalArgumentException(k.keyword() + " has no mode");
        }
        settings = java.util.Collections.unmodifiableMap(copy);
    }

    public static NeighbourModes defaults() {
        return new NeighbourModes(Map.of());
    }

    /** The default for a neighbour the config does not name: allow, except for unrecognised ones (ignore). */
    public static Mode defaultMode(NeighbourKind kind) {
        return kind == NeighbourKind.OTHER ? Mode.IGNORE : Mode.ALLOW;
    }

    public Setting of(NeighbourKind kind) {
        Setting s = settings.get(kind);
        return s != null ? s : new Setting(defaultMode(kind), List.of(), List.of(), false);
    }

    public Mode mode(NeighbourKind kind) {
        return of(kind).mode();
    }
}
