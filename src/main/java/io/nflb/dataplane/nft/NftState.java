package io.nflb.dataplane.nft;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The objects of nflb's nft table, in the exact text nft 1.0.6 prints them ({@code nft -s list table}).
 * The renderer produces one, the kernel step parses one from the kernel's listing, and the two compare
 * object by object; that is how an incremental apply knows what changed and whether someone else edited
 * the table. Map and set elements compare as sets because nft lists hash sets in no particular order.
 */
public record NftState(Map<String, String> counters, Map<String, NftSet> sets, Map<String, Chain> chains) {

    private static final java.util.regex.Pattern ELEMENT_COUNTER = java.util.regex.Pattern.compile(" counter(?: packets \\d+ bytes \\d+)?");

    public NftState {
        counters = Collections.unmodifiableMap(new LinkedHashMap<>(counters));
        sets = Collections.unmodifiableMap(new LinkedHashMap<>(sets));
        chains = Collections.unmodifiableMap(new LinkedHashMap<>(chains));
    }

    /** A chain: {@code header} is the "type nat hook ..." line of a base chain, empty for a regular one. */
    public record Chain(String name, String header, List<String> rules) {
        public Chain {
            rules = List.copyOf(rules);
        }
    }

    /**
     * A named set or map. {@code header} holds its declaration lines (type, size, flags, timeout) as listed.
     * {@code dynamic} sets are filled by the packet path, so their elements are never compared or written.
     */
    public record NftSet(String name, boolean map, List<String> header, List<String> elements) {
        public NftSet {
            header = List.copyOf(header);
            elements = List.copyOf(elements);
        }

        public boolean dynamic() {
            return header.stream().anyMatch(h -> h.startsWith("flags") && h.contains("dynamic"));
        }

        /** Whether the kernel fills or owns the elements: they are never compared or written from here. */
        public boolean unmanaged() {
            return dynamic() || name.equals(NftNames.GEN);
        }

        public Set<String> elementSet() {
            return unmanaged() ? Set.of() : new java.util.HashSet<>(elements);
        }

        /** The key part of an element, without its comment: what {@code delete element} needs. */
        public static String key(String element) {
            int i = element.indexOf(" : ");
            String k = i < 0 ? element : element.substring(0, i);
            int c = k.indexOf(" comment \"");
            return c < 0 ? k : k.substring(0, c);
        }

        boolean sameAs(NftSet o) {
            return map == o.map && header.equals(o.header) && (elements.equals(o.elements) || elementSet().equals(o.elementSet()));
        }
    }

    /** Whether {@code o} holds the same objects with the same content (counter values are never compared). */
    public boolean sameAs(NftState o) {
        if (!counters.keySet().equals(o.counters.keySet()) || !chains.equals(o.chains)
                || !sets.keySet().equals(o.sets.keySet())) {
            return false;
        }
        for (NftSet s : sets.values()) {
            if (!s.sameAs(o.sets.get(s.name()))) return false;
        }
        return true;
    }

    /** The whole table as an nft script body ({@code table inet nflb { ... }}). */
    public String toText() {
        return appendText(new StringBuilder(textSize())).toString();
    }

    /** About the length of {@link #toText()}, so the text is built without growing its buffer again and again. */
    int textSize() {
        long n = 64;
        for (NftSet s : sets.values()) n += 128 + 40L * s.elements().size();
        for (Chain c : chains.values()) n += 128 + 64L * c.rules().size();
        return (int) Math.min(n, Integer.MAX_VALUE - 16);
    }

    /** Appends {@link #toText()} to {@code sb}. */
    StringBuilder appendText(StringBuilder sb) {
        sb.append("table ").append(NftNames.QUALIFIED).append(" {\n");
        String sep = "";
        for (String c : counters.keySet()) {
            sb.append(sep).append("\tcounter ").append(c).append(" {\n\t}\n");
            sep = "\n";
        }
        for (NftSet s : sets.values()) {
            sb.append(sep);
            appendSet(sb, s, "\t");
            sep = "\n";
        }
        for (Chain c : chains.values()) {
            sb.append(sep);
            appendChain(sb, c, "\t");
            sep = "\n";
        }
        return sb.append("}\n");
    }

    static void appendSet(StringBuilder sb, NftSet s, String indent) {
        sb.append(indent).append(s.map() ? "map " : "set ").append(s.name()).append(" {\n");
        for (String h : s.header()) sb.append(indent).append('\t').append(h).append('\n');
        if (!s.elements().isEmpty() && !s.unmanaged()) {
            sb.append(indent).append("\telements = { ");
            String wrap = ",\n" + indent + "\t\t     ";
            List<String> elements = s.elements();
            for (int i = 0; i < elements.size(); i++) {
                if (i > 0) sb.append(i % 4 == 0 ? wrap : ", ");
                sb.append(elements.get(i));
            }
            sb.append(" }\n");
        }
        sb.append(indent).append("}\n");
    }

    static void appendChain(StringBuilder sb, Chain c, String indent) {
        sb.append(indent).append("chain ").append(c.name()).append(" {\n");
        if (!c.header().isEmpty()) sb.append(indent).append('\t').append(c.header()).append('\n');
        for (String r : c.rules()) sb.append(indent).append('\t').append(r).append('\n');
        sb.append(indent).append("}\n");
    }

    /**
     * Parses {@code table inet nflb} out of an nft listing (or out of a script this class wrote). Anything
     * outside that table is ignored; anything inside that is not a counter, set, map or chain makes the
     * listing foreign, reported as an {@link IllegalArgumentException}.
     */
    public static NftState parse(String text) {
        return parse(text, false);
    }

    /** As {@link #parse(String)}, keeping each element's "counter packets N bytes M" when {@code counters}. */
    public static NftState parse(String text, boolean withCounters) {
        List<String> lines = logicalLines(text);
        Map<String, String> counters = new LinkedHashMap<>();
        Map<String, NftSet> sets = new LinkedHashMap<>();
        Map<String, Chain> chains = new LinkedHashMap<>();
        int i = 0;
        String head = "table " + NftNames.QUALIFIED + " {";
        while (i < lines.size() && !lines.get(i).equals(head)) i++;
        if (i == lines.size()) throw new IllegalArgumentException("no table " + NftNames.QUALIFIED + " in the listing");
        i++;
        while (i < lines.size() && !lines.get(i).equals("}")) {
            String line = lines.get(i);
            String[] w = line.split(" ");
            if (w.length != 3 || !w[2].equals("{")) throw new IllegalArgumentException("unexpected line: " + line);
            List<String> body = new ArrayList<>();
            for (i++; i < lines.size() && !lines.get(i).equals("}"); i++) body.add(lines.get(i));
            if (i == lines.size()) throw new IllegalArgumentException("unterminated " + w[0] + " " + w[1]);
            i++;
            switch (w[0]) {
                case "counter" -> counters.put(w[1], w[1]);
                case "set", "map" -> sets.put(w[1], parseSet(w[1], w[0].equals("map"), body, withCounters));
                case "chain" -> chains.put(w[1], parseChain(w[1], body));
                default -> throw new IllegalArgumentException("unexpected object: " + line);
            }
        }
        return new NftState(counters, sets, chains);
    }

    private static NftSet parseSet(String name, boolean map, List<String> body, boolean counters) {
        List<String> header = new ArrayList<>();
        List<String> elements = new ArrayList<>();
        for (String b : body) {
            if (b.startsWith("elements = {") && b.endsWith("}")) {
                String inner = b.substring("elements = {".length(), b.length() - 1).strip();
                for (String e : inner.split(",")) {
                    String t = e.strip();
                    // Per-element counters are state, not configuration: "-s" prints a bare "counter", plain listings the values.
                    if (!t.isEmpty()) elements.add(counters ? t : ELEMENT_COUNTER.matcher(t).replaceFirst(""));
                }
            } else {
                header.add(b);
            }
        }
        return new NftSet(name, map, header, elements);
    }

    private static Chain parseChain(String name, List<String> body) {
        String header = "";
        List<String> rules = new ArrayList<>();
        for (String b : body) {
            if (header.isEmpty() && rules.isEmpty() && b.startsWith("type ")) header = b;
            else rules.add(b);
        }
        return new Chain(name, header, rules);
    }

    /** Trimmed non-empty lines, with a line that opens more braces than it closes joined to its continuation. */
    private static List<String> logicalLines(String text) {
        List<String> out = new ArrayList<>();
        StringBuilder pending = null;
        int depth = 0;
        for (String raw : text.split("\n")) {
            String t = raw.strip();
            if (t.isEmpty() || t.startsWith("#")) continue;
            if (pending != null) {
                pending.append(pending.charAt(pending.length() - 1) == ',' ? " " : "").append(t);
                depth += balance(t);
                if (depth <= 0) {
                    out.add(pending.toString());
                    pending = null;
                }
                continue;
            }
            int b = balance(t);
            // "x {" opens a block; "elements = { a," or "... vmap { 0 : goto a," continues onto the next line.
            if (b > 0 && !t.endsWith("{")) {
                pending = new StringBuilder(t);
                depth = b;
            } else {
                out.add(t);
            }
        }
        if (pending != null) throw new IllegalArgumentException("unbalanced braces in listing");
        return out;
    }

    private static int balance(String t) {
        int d = 0;
        boolean quoted = false;
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c == '"') quoted = !quoted;
            else if (!quoted && c == '{') d++;
            else if (!quoted && c == '}') d--;
        }
        return d;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NftState s && sameAs(s);
    }

    @Override
    public int hashCode() {
        return Objects.hash(counters.keySet(), sets.keySet(), chains);
    }
}
