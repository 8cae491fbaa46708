package io.nflb.config;

import io.nflb.config.Schema.AnyOf;
import io.nflb.config.Schema.Bool;
import io.nflb.config.Schema.Int;
import io.nflb.config.Schema.Key;
import io.nflb.config.Schema.Keyword;
import io.nflb.config.Schema.ListOf;
import io.nflb.config.Schema.MapSpec;
import io.nflb.config.Schema.Presence;
import io.nflb.config.Schema.Text;
import io.nflb.config.Schema.Type;
import io.nflb.model.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * nflb.yaml's schema as a JSON Schema, for editors: `nflb schema` prints it and the package installs it as
 * /usr/share/nflb/nflb.schema.json. Draft-07, the newest draft the YAML language server (VS Code's and most
 * editors' YAML support) validates with. It checks types, ranges, keywords and key names; what needs more
 * than one key (a prime table size, one address family per service) stays with `nflb validate`.
 */
public final class JsonSchema {

    public static final String DRAFT = "http://json-schema.org/draft-07/schema#";

    private JsonSchema() {
    }

    public static String render(MapSpec root) {
        Map<String, Object> schema = new LinkedHashMap<>();
        schema.put("$schema", DRAFT);
        schema.put("title", "nflb.yaml");
        schema.putAll(type(root));
        return Json.pretty(schema);
    }

    private static Map<String, Object> type(Type type) {
        Map<String, Object> s = new LinkedHashMap<>();
        if (type instanceof MapSpec m) {
            s.put("description", m.doc());
            s.put("type", "object");
            Map<String, Object> properties = new LinkedHashMap<>();
            List<String> required = new ArrayList<>();
            for (Key k : m.keys()) {
                properties.put(k.name(), key(k));
                if (k.required()) required.add(k.name());
            }
            s.put("properties", properties);
            if (!required.isEmpty()) s.put("required", required);
            s.put("additionalProperties", false);
        } else if (type instanceof Int i) {
            s.put("type", "integer");
            s.put("minimum", i.min());
            s.put("maximum", i.max());
        } else if (type instanceof Keyword k) {
            s.put("type", "string");
            s.put("enum", k.words());
        } else if (type instanceof Bool) {
            s.put("type", "boolean");
        } else if (type instanceof Text t) {
            s.put("type", t.numbers() ? List.of("string", "integer") : "string");
            s.put("minLength", 1);
            if (t.maxLength() < Integer.MAX_VALUE) s.put("maxLength", t.maxLength());
            if (t.pattern() != null) s.put("pattern", "^(?:" + t.pattern() + ")$");
        } else if (type instanceof ListOf l) {
            s.put("type", "array");
            s.put("items", type(l.item()));
            if (l.minItems() > 0) s.put("minItems", l.minItems());
            if (l.maxItems() < Integer.MAX_VALUE) s.put("maxItems", l.maxItems());
        } else if (type instanceof AnyOf a) {
            s.put("anyOf", a.forms().stream().map(JsonSchema::type).toList());
        }
        return s;
    }

    private static Map<String, Object> key(Key k) {
        Map<String, Object> s = new LinkedHashMap<>();
        String doc = k.doc() + (k.presence() instanceof Presence.DefaultValue || k.presence() instanceof Presence.Derived
                ? " Default: " + k.presence().describe().substring("default: ".length()) + "." : "");
        s.put("description", doc);
        Map<String, Object> t = type(k.type());
        t.remove("description");
        s.putAll(t);
        if (k.presence() instanceof Presence.DefaultValue d) s.put("default", d.value());
        return s;
    }
}
