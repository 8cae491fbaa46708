package io.nflb.config;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;

/**
 * A composed YAML node, as much as the binder reads of one: kind, tag, scalar value, 0-based start line and
 * column (SnakeYAML's marks), and the children, a mapping's keys and values alternating. About a third of
 * SnakeYAML's node with its marks and Optionals: at 100,000 services the tree is most of what parsing keeps.
 * {@link FastYaml} builds it directly; for everything else SnakeYAML composes and {@link #of} converts.
 */
final class Tree {

    enum Kind { SCALAR, SEQUENCE, MAPPING }

    static final Tree[] NONE = new Tree[0];

    final Kind kind;
    final Tag tag;
    /** A scalar's value; null for collections. */
    final String value;
    final int line;
    final int column;
    /** A sequence's items, or a mapping's keys and values alternating; filled in once, never changed after. */
    final Tree[] items;

    private Tree(Kind kind, Tag tag, String value, int line, int column, Tree[] items) {
        this.kind = kind;
        this.tag = tag;
        this.value = value;
        this.line = line;
        this.column = column;
        this.items = items;
    }

    static Tree scalar(Tag tag, String value, int line, int column) {
        return new Tree(Kind.SCALAR, tag, value, line, column, NONE);
    }

    static Tree sequence(Tag tag, int line, int column, Tree[] items) {
        return new Tree(Kind.SEQUENCE, tag, null, line, column, items);
    }

    /** {@code keysAndValues}: key, value, key, value... */
    static Tree mapping(Tag tag, int line, int column, Tree[] keysAndValues) {
        return new Tree(Kind.MAPPING, tag, null, line, column, keysAndValues);
    }

    /** A mapping's number of keys (duplicates included), or a sequence's of items. */
    int size() {
        return kind == Kind.MAPPING ? items.length / 2 : items.length;
    }

    /**
     * SnakeYAML's composition in this form. A node an alias shares stays one shared node, so alias expansion is
     * still counted once per use. The graph must be acyclic (the loader refuses a cycle before converting).
     */
    static Tree of(Node root) {
        return of(root, new IdentityHashMap<>());
    }

    private static Tree of(Node n, Map<Node, Tree> done) {
        Tree seen = done.get(n);
        if (seen != null) return seen;
        int line = n.getStartMark().map(m -> m.getLine()).orElse(0);
        int column = n.getStartMark().map(m -> m.getColumn()).orElse(0);
        Tree t;
        if (n instanceof ScalarNode s) {
            t = scalar(s.getTag(), s.getValue(), line, column);
        } else if (n instanceof SequenceNode q) {
            List<Node> v = q.getValue();
            Tree[] items = new Tree[v.size()];
            for (int i = 0; i < items.length; i++) items[i] = of(v.get(i), done);
            t = sequence(q.getTag(), line, column, items);
        } else {
            List<NodeTuple> v = ((MappingNode) n).getValue();
            Tree[] items = new Tree[v.size() * 2];
            for (int i = 0; i < v.size(); i++) {
                items[2 * i] = of(v.get(i).getKeyNode(), done);
                items[2 * i + 1] = of(v.get(i).getValueNode(), done);
            }
            t = mapping(n.getTag(), line, column, items);
        }
        done.put(n, t);
        return t;
    }
}
