package io.nflb.config;

import io.nflb.config.Schema.AnyOf;
import io.nflb.config.Schema.Int;
import io.nflb.config.Schema.Key;
import io.nflb.config.Schema.Keyword;
import io.nflb.config.Schema.ListOf;
import io.nflb.config.Schema.MapSpec;
import io.nflb.config.Schema.Text;
import io.nflb.config.Schema.Type;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.snakeyaml.engine.v2.api.Dump;
import org.snakeyaml.engine.v2.api.DumpSettings;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.common.FlowStyle;
import org.snakeyaml.engine.v2.schema.CoreSchema;

/**
 * Configs made by walking {@link ConfigSchema} over one valid file that has every mapping of the schema, each
 * changed in one key: what the binder and the JSON Schema must both accept, and what both must refuse.
 */
final class SchemaCases {

    /** Valid, with every mapping of the schema; lists as lists, so that their length can be changed. */
    static final String EVERY_MAPPING = """
            backend: nftables
            services:
              - name: web
                listen: {port: 80}
                scheduler: maglev
                maglev: {table_size: 251}
                affinity: {timeout: 1h}
                health: {type: http}
                limits: {per_source_rate: 10/s, max_connections_per_source: 5}
                backends:
                  - address: 10.0.0.1
              # A backend's health keys fall back to its service's: here to the documented defaults.
              - name: api
                listen: {port: 81}
                backends:
                  - address: 10.0.0.2
                    health: {type: http}
            firewall:
              policy: {}
              allow: [{ports: [22], from: [10.0.0.0/8]}]
              forward: [{ports: [443], to: [192.168.2.0/24]}]
              log_drops: {}
              neighbours: {docker: {}, libvirt: {}, kube-proxy: {}, ufw: {}, firewalld: {}, other: {}}
            daemon: {}
            ha:
              interface: eth0
              router_id: 51
              priority: 150
              peers: [192.168.1.12]
              gateway: {interface: eth1, address: 192.168.2.1/24}
              sync: {interface: eth2, peer: 10.9.0.2}
            """;

    /** A mapping of the loaded file, with its spec and where it is ("services[].listen"): the first one there. */
    record Place(String path, MapSpec spec, Map<String, Object> mapping) {
    }

    /** {@code yaml} with one thing changed, and what the binder's error then says ({@code null}: any error). */
    record Case(String what, String yaml, String expected) {
        @Override
        public String toString() {
            return what;
        }
    }

    private SchemaCases() {
    }

    static List<Place> places(Map<String, Object> doc) {
        List<Place> out = new ArrayList<>();
        walk("", ConfigSchema.ROOT, doc, out);
        return out;
    }

    @SuppressWarnings("unchecked")
    private static void walk(String path, MapSpec spec, Map<String, Object> mapping, List<Place> out) {
        if (out.stream().noneMatch(p -> p.path().equals(path))) out.add(new Place(path, spec, mapping));
        for (Key k : spec.keys()) {
            Object value = mapping.get(k.name());
            String at = path.isEmpty() ? k.name() : path + "." + k.name();
            if (k.type() instanceof MapSpec m && value instanceof Map) walk(at, m, (Map<String, Object>) value, out);
            // A key that takes a word or a mapping (firewall.neighbours.*): the mapping form, when written so.
            if (k.type() instanceof Schema.AnyOf a && value instanceof Map) {
                a.forms().stream().filter(f -> f instanceof MapSpec).findFirst()
                        .ifPresent(m -> walk(at, (MapSpec) m, (Map<String, Object>) value, out));
            }
            if (k.type() instanceof ListOf l && l.item() instanceof MapSpec m && value instanceof List<?> items) {
                for (Object item : items) walk(at + "[]", m, (Map<String, Object>) item, out);
            }
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> load(String yaml) {
        return (Map<String, Object>) new Load(LoadSettings.builder().setSchema(new CoreSchema()).build()).loadFromString(yaml);
    }

    /** Without aliases: a list of copies is written out as long as it is, not as references the composer limits. */
    static String dump(Object doc) {
        return new Dump(DumpSettings.builder().setDefaultFlowStyle(FlowStyle.BLOCK).setSchema(new CoreSchema())
                .setDereferenceAliases(true).build()).dumpToString(doc);
    }

    /** {@link #EVERY_MAPPING} with the mapping at {@code path} changed. */
    static String changed(String path, Consumer<Map<String, Object>> change) {
        Map<String, Object> doc = load(EVERY_MAPPING);
        Place place = places(doc).stream().filter(p -> p.path().equals(path)).findFirst().orElseThrow();
        change.accept(place.mapping());
        return dump(doc);
    }

    /** Every mistake in one key the binder must refuse (and the JSON Schema with it). */
    static List<Case> mistakes() {
        List<Case> out = new ArrayList<>();
        for (Place p : places(load(EVERY_MAPPING))) {
            String at = p.path().isEmpty() ? "" : p.path() + ".";
            out.add(new Case(at + "no_such_key", changed(p.path(), m -> m.put("no_such_key", 1)), "unknown key 'no_such_key'"));
            for (Key k : p.spec().keys()) {
                if (k.required()) {
                    out.add(new Case("without " + at + k.name(), changed(p.path(), m -> m.remove(k.name())),
                            "missing required key '" + k.name() + "'"));
                }
                // A scalar where a mapping or list belongs, a mapping where anything else does.
                Object wrongType = k.type() instanceof MapSpec ? "text" : Map.of("a", 1);
                out.add(new Case(at + k.name() + " of the wrong type", changed(p.path(), m -> m.put(k.name(), wrongType)), "expected "));
                Object current = p.mapping().get(k.name());
                for (Bad bad : badValues(k.name(), k.type(), current)) {
                    out.add(new Case(at + k.name() + ": " + bad.what, changed(p.path(), m -> m.put(k.name(), bad.value)), bad.expected));
                }
            }
        }
        return out;
    }

    private record Bad(String what, Object value, String expected) {
    }

    /** Values of a key's own type that its range, words, pattern or length refuse. */
    private static List<Bad> badValues(String key, Type type, Object current) {
        List<Bad> out = new ArrayList<>();
        if (type instanceof Int i) {
            String range = "out of range; expected " + i.min() + ".." + i.max();
            out.add(new Bad("below " + i.min(), (long) i.min() - 1, range));
            out.add(new Bad("above " + i.max(), (long) i.max() + 1, range));
        } else if (type instanceof Keyword) {
            out.add(new Bad("an unknown word", "bogus", "'bogus'"));
        } else if (type instanceof Text t) {
            if (t.pattern() != null) out.add(new Bad("not " + t.what(), "bad 'value\"", null));
            if (t.maxLength() < Integer.MAX_VALUE) out.add(new Bad("too long", "1".repeat(t.maxLength() + 1), null));
        } else if (type instanceof ListOf l) {
            if (l.minItems() > 0) out.add(new Bad("an empty list", List.of(), null));
            if (l.maxItems() < Integer.MAX_VALUE && current instanceof List<?> items && !items.isEmpty()) {
                out.add(new Bad(l.maxItems() + 1 + " items", Collections.nCopies(l.maxItems() + 1, items.get(0)), null));
            }
        } else if (type instanceof AnyOf a) {
            for (Type form : a.forms()) out.addAll(badValues(key, form, current));
        }
        return out;
    }

    /** A key with a documented default, written out with it and left out. */
    record Default(String what, String written, String leftOut) {
        @Override
        public String toString() {
            return what;
        }
    }

    static List<Default> defaults() {
        List<Default> out = new ArrayList<>();
        for (Place p : places(load(EVERY_MAPPING))) {
            for (Key k : p.spec().keys()) {
                if (k.presence() instanceof Schema.Presence.DefaultValue d) {
                    String at = p.path().isEmpty() ? "" : p.path() + ".";
                    out.add(new Default(at + k.name() + ": " + Schema.yaml(d.value()), changed(p.path(), m -> m.put(k.name(), d.value())),
                            changed(p.path(), m -> m.remove(k.name()))));
                }
            }
        }
        return out;
    }

    /** Each integer key at both ends of its range, and each keyword key with each of its words. */
    static List<Case> edgesOfTheRanges() {
        List<Case> out = new ArrayList<>();
        for (Place p : places(load(EVERY_MAPPING))) {
            for (Key k : p.spec().keys()) {
                String at = p.path().isEmpty() ? "" : p.path() + ".";
                List<Object> values = new ArrayList<>();
                if (k.type() instanceof Int i) values.addAll(List.of(i.min(), i.max()));
                if (k.type() instanceof Keyword w) values.addAll(w.words());
                for (Object v : values) out.add(new Case(at + k.name() + ": " + v, changed(p.path(), m -> m.put(k.name(), v)), null));
            }
        }
        return out;
    }
}
