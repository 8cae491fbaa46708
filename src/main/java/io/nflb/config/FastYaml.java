package io.nflb.config;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.snakeyaml.engine.v2.nodes.Tag;
import org.snakeyaml.engine.v2.resolver.ScalarResolver;
import org.snakeyaml.engine.v2.schema.CoreSchema;

/**
 * Composes the YAML that nflb configs are written in straight from the file's bytes into a {@link Tree} with
 * the tags and start marks SnakeYAML Engine's composer gives (the core schema), several times faster and with
 * a fraction of the garbage. The subset: block mappings and sequences (a key's sequence may start at the key's
 * own indentation), one-line flow collections, one-line plain, single- and double-quoted scalars, comments.
 * Anything else is declined (null), and the loader hands the text to SnakeYAML, which composes it or says
 * what is wrong and where: anchors, aliases, tags, block and multi-line scalars, directives and document
 * markers, tabs, CR, control characters, non-ASCII outside comments, complex keys, empty flow values, and
 * every syntax error. So the fast path never reports an error, and never accepts what SnakeYAML refuses.
 * {@code FastYamlDifferentialTest} holds it to that against SnakeYAML.
 */
final class FastYaml {

    /** "Not in the subset": control flow, so no stack trace. */
    private static final class Declined extends RuntimeException {
        Declined() {
            super(null, null, false, false);
        }
    }

    private static final Declined DECLINED = new Declined();
    /** The composer's own resolver, for every plain scalar whose tag is not plain to see. */
    private static final ScalarResolver RESOLVER = new CoreSchema().getScalarResolver();
    /** Deeper nesting goes to SnakeYAML, which also knows how to say it is too deep. */
    private static final int MAX_DEPTH = 64;
    /** SnakeYAML looks no further for a simple key's ':'. */
    private static final int MAX_KEY = 1000;

    private final byte[] b;
    private final int n;
    private final Scalars scalars = new Scalars();
    /** The items of the collections being composed, innermost last: one buffer instead of a list per collection. */
    private Tree[] stack = new Tree[256];
    private int top;
    private int pos;
    private int line;
    private int lineStart;
    private int depth;
    private Stream stream;
    /** Where the root mapping's items start on the stack; -1 until it starts. */
    private int rootMark = -1;
    /** The depth at which the next sequence is the one to stream, or -1. */
    private int streamDepth = -1;

    private FastYaml(byte[] bytes, int length) {
        this.b = bytes;
        this.n = length;
    }

    /**
     * The document in {@code bytes[0, length)} (UTF-8, already known valid), or null when it is outside the
     * subset, has no content, or is not YAML at all.
     */
    static Tree compose(byte[] bytes, int length) {
        return compose(bytes, length, null);
    }

    /**
     * Receives the items of the root mapping's {@code services} sequence one by one as they are composed, instead
     * of the tree keeping them: the binder binds each service and its subtree is garbage at once, so a file of
     * 100,000 services never has its whole tree in memory. The sequence in the root's tree is then an empty one,
     * {@link #placeholder}. Whatever the stream was handed counts only if compose returns a tree.
     */
    interface Stream {
        /** Before the first item: the root's keys and values written before {@code services}, alternating. */
        void start(Tree[] rootBefore);

        void item(Tree item);

        /** The empty sequence that stands for the streamed one in the root's tree. */
        void placeholder(Tree sequence);
    }

    /** {@link #compose(byte[], int)}, handing the items of the root's {@code services} sequence to {@code stream}. */
    static Tree compose(byte[] bytes, int length, Stream stream) {
        FastYaml y = new FastYaml(bytes, length);
        y.stream = stream;
        try {
            if (!y.nextContent()) return null; // empty: SnakeYAML's "no document" is the loader's business
            Tree root = y.block(y.column());
            return y.pos < y.n ? null : root; // content after the root: SnakeYAML says what is wrong
        } catch (Declined | ArrayIndexOutOfBoundsException | StackOverflowError e) {
            return null;
        }
    }

    /** The same for a text; null too when it is no UTF-8 (a lone surrogate: SnakeYAML says so). */
    static Tree compose(String text) {
        byte[] bytes = utf8(text);
        return bytes == null ? null : compose(bytes, bytes.length);
    }

    /** {@code text} as UTF-8, or null when it cannot be encoded. */
    static byte[] utf8(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) >= 0x80) {
                try {
                    ByteBuffer b = StandardCharsets.UTF_8.newEncoder().encode(CharBuffer.wrap(text));
                    return Arrays.copyOf(b.array(), b.limit());
                } catch (CharacterCodingException e) {
                    return null;
                }
            }
        }
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static Declined declined() {
        return DECLINED;
    }

    private int column() {
        return pos - lineStart;
    }

    private byte at(int p) {
        return p < n ? b[p] : (byte) '\n';
    }

    /** Printable ASCII, the only characters a scalar may hold here (non-ASCII bytes are negative). */
    private static boolean printable(byte c) {
        return c >= 0x20 && c < 0x7f;
    }

    private static boolean blankOrBreak(byte c) {
        return c == ' ' || c == '\n';
    }

    /**
     * Moves past spaces, comments and line ends to the next content; false at the end of the text. A line may
     * hold only printable ASCII, and a comment UTF-8 that SnakeYAML reads as printable too.
     */
    private boolean nextContent() {
        while (true) {
            int p = pos;
            while (p < n && b[p] == ' ') p++;
            if (p >= n) {
                pos = n;
                return false;
            }
            byte c = b[p];
            if (c == '#') {
                p = comment(p);
                if (p >= n) {
                    pos = n;
                    return false;
                }
                c = '\n';
            }
            if (c == '\n') {
                newLine(p + 1);
                continue;
            }
            if (p == lineStart && (c == '%' || c == '-' && dashes(p) || c == '.' && dots(p))) throw declined();
            pos = p;
            return true;
        }
    }

    private boolean dashes(int p) {
        return at(p + 1) == '-' && at(p + 2) == '-';
    }

    private boolean dots(int p) {
        return at(p + 1) == '.' && at(p + 2) == '.';
    }

    private void newLine(int start) {
        pos = start;
        line++;
        lineStart = start;
    }

    /** The index of the line end after a comment starting at {@code p} (or n); its characters are checked. */
    private int comment(int p) {
        for (int i = p + 1; i < n; i++) {
            int c = b[i];
            if (c == '\n') return i;
            if (c >= 0x20 && c < 0x7f) continue;
            if (c >= 0) throw declined(); // tab, CR, DEL, other controls
            i = nonAscii(i);
        }
        return n;
    }

    /**
     * Checks the UTF-8 sequence at {@code i} (the loader made sure the file is valid UTF-8): printable for
     * SnakeYAML, from U+00A0 (no NEL) up to U+FFFD (SnakeYAML's reader trips over a surrogate pair at the end of
     * its buffer); returns its last index.
     */
    private int nonAscii(int i) {
        int c = b[i] & 0xff;
        if (c >= 0xf0) throw declined();
        int len = c >= 0xe0 ? 3 : 2;
        if (i + len > n) throw declined();
        int cp = c & (0x3f >> (len - 1));
        for (int k = 1; k < len; k++) cp = cp << 6 | (b[i + k] & 0x3f);
        if (cp < 0xa0 || cp >= 0xd800 && cp < 0xe000 || cp == 0xfeff || cp == 0xfffe || cp == 0xffff) throw declined();
        return i + len - 1;
    }

    /** After a value: spaces, then a comment (after a space) or the line end; moves to the next content. */
    private void endOfLine() {
        int p = pos;
        while (p < n && b[p] == ' ') p++;
        if (p < n && b[p] != '\n') {
            if (b[p] != '#' || p == pos) throw declined();
            p = comment(p);
        }
        if (p >= n) {
            pos = n;
            return;
        }
        newLine(p + 1);
        nextContent();
    }

    private boolean sequenceEntryAt(int p) {
        return b[p] == '-' && blankOrBreak(at(p + 1));
    }

    private void push(Tree t) {
        if (top == stack.length) stack = Arrays.copyOf(stack, top * 2);
        stack[top++] = t;
    }

    /** The items pushed since {@code mark}, which are taken off. */
    private Tree[] popFrom(int mark) {
        Tree[] items = mark == top ? Tree.NONE : Arrays.copyOfRange(stack, mark, top);
        Arrays.fill(stack, mark, top, null);
        top = mark;
        return items;
    }

    private void enter() {
        if (++depth > MAX_DEPTH) throw declined();
    }

    /** A block node at pos, which is at column {@code indent}; returns at the next content after it. */
    private Tree block(int indent) {
        enter();
        Tree t;
        if (sequenceEntryAt(pos)) {
            t = sequence(indent);
        } else if (keyEnd(pos) >= 0) {
            t = mapping(indent);
        } else {
            t = inline();
            endOfLine();
        }
        depth--;
        return t;
    }

    /**
     * Where the simple key starting at {@code p} ends (its ':', followed by a space or the line end), or -1 when
     * the line does not start with one.
     */
    private int keyEnd(int p) {
        byte c = b[p];
        int end;
        if (c == '"' || c == '\'') {
            end = quotedEnd(p);
            if (end < 0 || end - p > MAX_KEY || at(end) != ':' || !blankOrBreak(at(end + 1))) return -1;
            return end;
        }
        if (!plainStart(p, false)) return -1;
        for (end = p; end < n; end++) {
            byte d = b[end];
            if (d == '\n' || d == '#' && b[end - 1] == ' ') return -1;
            if (d == ':' && blankOrBreak(at(end + 1))) return end - p > MAX_KEY ? -1 : end;
        }
        return -1;
    }

    /** The index after the closing quote of a one-line quoted scalar starting at {@code p}, or -1. */
    private int quotedEnd(int p) {
        byte q = b[p];
        for (int i = p + 1; i < n; i++) {
            byte c = b[i];
            if (c == '\n') return -1;
            if (c == q) {
                if (q == '\'' && at(i + 1) == '\'') {
                    i++;
                    continue;
                }
                return i + 1;
            }
            if (q == '"' && c == '\\') i++;
        }
        return -1;
    }

    private Tree mapping(int indent) {
        int startLine = line;
        int startColumn = column();
        int mark = top;
        boolean root = depth == 1;
        if (root) rootMark = mark;
        while (true) {
            int colon = keyEnd(pos);
            if (colon < 0) throw declined(); // a line at this indentation that is no key
            Tree key = b[pos] == '"' || b[pos] == '\'' ? quoted() : plain(pos, trimmed(pos, colon));
            pos = colon + 1;
            push(key);
            if (root && stream != null && key.value.equals("services")) {
                streamDepth = depth + 1; // its own block sequence, if it is one, not one deeper down
                push(value(indent));
                streamDepth = -1;
                stream = null; // only the first services key: the binder reports a second one
            } else {
                push(value(indent));
            }
            if (pos >= n) break;
            int col = column();
            if (col < indent) break;
            if (col > indent) throw declined(); // a continuation line, or a key indented wrongly
        }
        return Tree.mapping(Tag.MAP, startLine, startColumn, popFrom(mark));
    }

    /** A mapping value after its key's ':', which is at pos - 1. */
    private Tree value(int indent) {
        int p = pos;
        while (p < n && b[p] == ' ') p++;
        if (p < n && b[p] != '\n' && b[p] != '#') {
            pos = p;
            Tree v = inline();
            endOfLine();
            return v;
        }
        // Nothing on the key's line: the value is the more indented node below, or a sequence at the key's own
        // indentation, or empty (null, marked right after the ':').
        Tree empty = Tree.scalar(Tag.NULL, "", line, column());
        endOfLine();
        if (pos >= n) return empty;
        int col = column();
        if (col > indent) return block(col);
        if (col == indent && sequenceEntryAt(pos)) {
            enter();
            Tree s = sequence(indent);
            depth--;
            return s;
        }
        return empty;
    }

    private Tree sequence(int indent) {
        int startLine = line;
        int startColumn = column();
        int mark = top;
        boolean streaming = depth == streamDepth;
        boolean started = false;
        streamDepth = -1;
        while (true) {
            pos++; // '-'
            int p = pos;
            while (p < n && b[p] == ' ') p++;
            Tree item;
            if (p < n && b[p] != '\n' && b[p] != '#') {
                pos = p;
                item = block(column());
            } else {
                item = Tree.scalar(Tag.NULL, "", line, column());
                endOfLine();
                if (pos < n && column() > indent) item = block(column());
            }
            if (streaming) {
                if (!started) stream.start(Arrays.copyOfRange(stack, rootMark, mark - 1));
                started = true;
                stream.item(item);
            } else {
                push(item);
            }
            if (pos >= n) break;
            int col = column();
            if (col < indent) break;
            if (col > indent) throw declined();
            if (!sequenceEntryAt(pos)) {
                // "key:" then "- item" at the key's indentation: the key's mapping goes on after the sequence.
                if (keyEnd(pos) >= 0) break;
                throw declined();
            }
        }
        Tree sequence = Tree.sequence(Tag.SEQ, startLine, startColumn, popFrom(mark));
        if (streaming) stream.placeholder(sequence);
        return sequence;
    }

    /** A value on the current line: a flow collection, a quoted or a plain scalar. */
    private Tree inline() {
        byte c = b[pos];
        if (c == '{' || c == '[') return flow();
        if (c == '"' || c == '\'') return quoted();
        if (!plainStart(pos, false)) throw declined();
        int p = pos;
        while (p < n) {
            byte d = b[p];
            if (d == '\n' || d == '#' && b[p - 1] == ' ') break;
            if (d == ':' && blankOrBreak(at(p + 1))) throw declined(); // "a: b: c"
            p++;
        }
        return plain(pos, trimmed(pos, p));
    }

    /** The end of {@code [from, to)} without trailing spaces. */
    private int trimmed(int from, int to) {
        while (to > from && b[to - 1] == ' ') to--;
        return to;
    }

    /**
     * Whether a plain scalar may start at {@code p}: not with an indicator, except '-' before a character that
     * cannot end it ('?' and ':' are left to SnakeYAML); no non-ASCII anywhere outside comments.
     */
    private boolean plainStart(int p, boolean flow) {
        byte c = b[p];
        switch (c) {
            case '-': {
                byte d = at(p + 1);
                return !blankOrBreak(d) && !(flow && (d == ',' || d == '[' || d == ']' || d == '{' || d == '}'));
            }
            case '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', ' ', '\n':
                return false;
            default:
                return c > 0x20 && c < 0x7f;
        }
    }

    private Tree flow() {
        enter();
        int startLine = line;
        int startColumn = column();
        boolean map = b[pos] == '{';
        byte close = map ? (byte) '}' : (byte) ']';
        pos++;
        int mark = top;
        spaces();
        if (at(pos) == close) {
            pos++;
        } else {
            while (true) {
                if (map) {
                    byte c = at(pos);
                    if (c == '{' || c == '[') throw declined(); // a collection as a key
                    int keyStart = pos;
                    push(flowNode());
                    spaces();
                    if (pos - keyStart > MAX_KEY) throw declined();
                    if (at(pos) != ':' || at(pos + 1) != ' ') throw declined(); // "a:b", an empty value, a key alone
                    pos++;
                    spaces();
                    c = at(pos);
                    if (c == ',' || c == '}' || c == '\n' || c == '#') throw declined();
                    push(flowNode());
                } else {
                    push(flowNode());
                    spaces();
                    if (at(pos) == ':') throw declined(); // a one-pair mapping in a sequence
                }
                spaces();
                byte c = at(pos);
                if (c == ',') {
                    pos++;
                    spaces();
                    if (at(pos) == close || at(pos) == ',') throw declined(); // trailing or double comma
                    continue;
                }
                if (c == close) {
                    pos++;
                    break;
                }
                throw declined();
            }
        }
        depth--;
        Tree[] all = popFrom(mark);
        return map ? Tree.mapping(Tag.MAP, startLine, startColumn, all) : Tree.sequence(Tag.SEQ, startLine, startColumn, all);
    }

    private void spaces() {
        while (pos < n && b[pos] == ' ') pos++;
    }

    private Tree flowNode() {
        byte c = at(pos);
        if (c == '{' || c == '[') return flow();
        if (c == '"' || c == '\'') return quoted();
        if (!plainStart(pos, true)) throw declined();
        int p = pos;
        while (true) {
            byte d = at(p);
            if (d == '\n') throw declined(); // a flow collection over several lines
            if (d == ',' || d == '[' || d == ']' || d == '{' || d == '}') break;
            if (d == ':') {
                byte e = at(p + 1);
                if (e == ' ' || e == ',' || e == '[' || e == ']' || e == '{' || e == '}') break;
                throw declined(); // "a:b" in a flow: SnakeYAML decides
            }
            if (d == '#' && b[p - 1] == ' ') throw declined();
            p++;
        }
        return plain(pos, trimmed(pos, p));
    }

    /** A one-line quoted scalar at pos: always !!str. */
    private Tree quoted() {
        int startLine = line;
        int startColumn = column();
        byte q = b[pos];
        int end = quotedEnd(pos);
        if (end < 0) throw declined();
        int from = pos + 1;
        int to = end - 1;
        pos = end;
        boolean escaped = false;
        for (int i = from; i < to; i++) {
            if (!printable(b[i])) throw declined();
            escaped |= b[i] == q || b[i] == '\\';
        }
        String value = !escaped ? new String(b, from, to - from, StandardCharsets.ISO_8859_1)
                : q == '\'' ? unquoteSingle(from, to) : unescape(from, to);
        return Tree.scalar(Tag.STR, value, startLine, startColumn);
    }

    private String unquoteSingle(int from, int to) {
        StringBuilder sb = new StringBuilder(to - from);
        for (int i = from; i < to; i++) {
            char c = (char) b[i];
            sb.append(c);
            if (c == '\'') i++; // '' is one quote
        }
        return sb.toString();
    }

    private String unescape(int from, int to) {
        StringBuilder sb = new StringBuilder(to - from);
        for (int i = from; i < to; i++) {
            char c = (char) b[i];
            if (c != '\\') {
                sb.append(c);
                continue;
            }
            char e = (char) b[++i];
            switch (e) {
                case '\\' -> sb.append('\\');
                case '"' -> sb.append('"');
                case '/' -> sb.append('/');
                case 'n' -> sb.append('\n');
                case 't' -> sb.append('\t');
                default -> throw declined();
            }
        }
        return sb.toString();
    }

    /** The plain scalar in {@code [from, to)}, with the tag the core schema resolves it to. */
    private Tree plain(int from, int to) {
        for (int i = from; i < to; i++) if (!printable(b[i])) throw declined();
        int startLine = line;
        int startColumn = from - lineStart;
        pos = to;
        String text = scalars.plain(b, from, to);
        return Tree.scalar(scalars.tag, text, startLine, startColumn);
    }

    /**
     * The scalars of one document, each distinct short one made once: keys and words repeat at every service,
     * and their tag is resolved once. Longer ones and those past the table's size are made each time.
     */
    private static final class Scalars {

        private static final int MAX_LENGTH = 24;
        private static final int SLOTS = 1 << 13;

        private final String[] texts = new String[SLOTS];
        private final Tag[] tags = new Tag[SLOTS];
        private int used;
        /** The tag of the scalar {@link #plain} returned last. */
        Tag tag;

        /** The text of the plain scalar in {@code b[from, to)}; its tag goes to {@link #tag}. */
        String plain(byte[] b, int from, int to) {
            int len = to - from;
            if (len > MAX_LENGTH) return made(b, from, to);
            int h = hash(b, from, to);
            for (int i = h & (SLOTS - 1), probes = 0; probes < 8; i = (i + 1) & (SLOTS - 1), probes++) {
                String t = texts[i];
                if (t == null) {
                    String s = made(b, from, to);
                    if (used < SLOTS / 2) {
                        texts[i] = s;
                        tags[i] = tag;
                        used++;
                    }
                    return s;
                }
                if (same(t, b, from, to)) {
                    tag = tags[i];
                    return t;
                }
            }
            return made(b, from, to);
        }

        private String made(byte[] b, int from, int to) {
            String s = new String(b, from, to - from, StandardCharsets.ISO_8859_1);
            tag = tag(b, from, to, s);
            return s;
        }

        private static int hash(byte[] b, int from, int to) {
            int h = 0;
            for (int i = from; i < to; i++) h = 31 * h + b[i];
            return h ^ (h >>> 16);
        }

        private static boolean same(String s, byte[] b, int from, int to) {
            if (s.length() != to - from) return false;
            for (int i = 0; i < s.length(); i++) if (s.charAt(i) != b[from + i]) return false;
            return true;
        }

        /**
         * The core schema's tag. Two shapes configs are full of are plain to see: digits only are !!int, digits
         * with two dots or more (an IPv4 address) match neither !!int nor !!float; a value starting with a letter
         * the resolver has no pattern for is !!str. The rest goes through the resolver itself.
         */
        private static Tag tag(byte[] b, int from, int to, String s) {
            boolean digits = true;
            int dots = 0;
            for (int i = from; i < to; i++) {
                byte c = b[i];
                if (c == '.') dots++;
                else if (c < '0' || c > '9') {
                    digits = false;
                    break;
                }
            }
            if (digits && dots == 0) return Tag.INT;
            if (digits && dots >= 2) return Tag.STR;
            byte first = b[from];
            if (first >= 'a' && first <= 'z' && first != 't' && first != 'f' && first != 'n') return Tag.STR;
            return RESOLVER.resolve(s, true);
        }
    }
}
