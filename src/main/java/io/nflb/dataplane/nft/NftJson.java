package io.nflb.dataplane.nft;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Just enough JSON for {@code nft -j} output: objects, arrays, strings, integers, true/false/null. */
final class NftJson {

    private final String s;
    private int i;

    private NftJson(String s) {
        this.s = s;
    }

    static Object parse(String text) {
        NftJson p = new NftJson(text);
        Object v = p.value();
        p.ws();
        if (p.i != text.length()) throw p.error("trailing text");
        return v;
    }

    private Object value() {
        ws();
        if (i >= s.length()) throw error("unexpected end");
        char c = s.charAt(i);
        switch (c) {
            case '{': {
                i++;
                Map<String, Object> m = new LinkedHashMap<>();
                ws();
                if (peek('}')) return m;
                do {
                    ws();
                    String k = string();
                    ws();
                    expect(':');
                    m.put(k, value());
                    ws();
                } while (accept(','));
                expect('}');
                return m;
            }
            case '[': {
                i++;
                List<Object> l = new ArrayList<>();
                ws();
                if (peek(']')) return l;
                do {
                    l.add(value());
                    ws();
                } while (accept(','));
                expect(']');
                return l;
            }
            case '"':
                return string();
            default:
                int start = i;
                while (i < s.length() && "{}[],: \t\r\n".indexOf(s.charAt(i)) < 0) i++;
                String w = s.substring(start, i);
                if (w.equals("true")) return Boolean.TRUE;
                if (w.equals("false")) return Boolean.FALSE;
                if (w.equals("null")) return null;
                try {
                    return Long.parseLong(w);
                } catch (NumberFormatException e) {
                    throw error("bad token " + w);
                }
        }
    }

    private String string() {
        expect('"');
        StringBuilder sb = new StringBuilder();
        while (i < s.length() && s.charAt(i) != '"') {
            char c = s.charAt(i++);
            if (c == '\\') {
                char e = s.charAt(i++);
                switch (e) {
                    case 'n' -> sb.append('\n');
                    case 't' -> sb.append('\t');
                    case 'u' -> {
                        sb.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        i += 4;
                    }
                    default -> sb.append(e);
                }
            } else {
                sb.append(c);
            }
        }
        expect('"');
        return sb.toString();
    }

    private void ws() {
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
    }

    private boolean peek(char c) {
        if (i < s.length() && s.charAt(i) == c) {
            i++;
            return true;
        }
        return false;
    }

    private boolean accept(char c) {
        return peek(c);
    }

    private void expect(char c) {
        if (!peek(c)) throw error("expected '" + c + "'");
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException("nft json: " + what + " at " + i);
    }
}
