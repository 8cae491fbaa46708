package io.nflb.state;

import java.util.ArrayList;
import java.util.List;

/** A line diff in unified form (---/+++ headers, @@ hunks, 3 lines of context), computed by longest common subsequence. */
public final class UnifiedDiff {

    private static final int CONTEXT = 3;
    /** LCS is quadratic: beyond this many lines each side, changed lines are listed without alignment. */
    private static final int MAX_LINES = 20_000;

    private UnifiedDiff() {
    }

    /** Empty when the texts are equal. */
    public static String of(String oldName, String oldText, String newName, String newText) {
        List<String> a = lines(oldText), b = lines(newText);
        if (a.equals(b)) return "";
        List<char[]> ops = ops(a, b); // each: {op, ' '} with op in ' ', '-', '+'
        List<String> text = new ArrayList<>();
        List<Character> kind = new ArrayList<>();
        int ai = 0, bi = 0;
        List<int[]> pos = new ArrayList<>();
        for (char[] op : ops) {
            pos.add(new int[]{ai, bi});
            if (op[0] == ' ') { text.add(a.get(ai)); ai++; bi++; }
            else if (op[0] == '-') { text.add(a.get(ai)); ai++; }
            else { text.add(b.get(bi)); bi++; }
            kind.add(op[0]);
        }
        StringBuilder out = new StringBuilder("--- ").append(oldName).append("\n+++ ").append(newName).append('\n');
        int i = 0, n = kind.size();
        while (i < n) {
            if (kind.get(i) == ' ') { i++; continue; }
            int start = Math.max(0, i - CONTEXT);
            int end = i;
            // extend over changes separated by at most 2*CONTEXT unchanged lines
            while (true) {
                while (end < n && kind.get(end) != ' ') end++;
                int next = end;
                while (next < n && kind.get(next) == ' ' && next - end < 2 * CONTEXT) next++;
                if (next < n && kind.get(next) != ' ') { end = next; continue; }
                break;
            }
            int stop = Math.min(n, end + CONTEXT);
            int oldStart = pos.get(start)[0], newStart = pos.get(start)[1];
            int oldLen = 0, newLen = 0;
            for (int k = start; k < stop; k++) {
                if (kind.get(k) != '+') oldLen++;
                if (kind.get(k) != '-') newLen++;
            }
            out.append("@@ -").append(range(oldStart, oldLen)).append(" +").append(range(newStart, newLen)).append(" @@\n");
            for (int k = start; k < stop; k++) out.append(kind.get(k)).append(text.get(k)).append('\n');
            i = stop;
        }
        return out.toString();
    }

    private static String range(int start, int len) {
        return (len == 0 ? start : start + 1) + "," + len;
    }

    private static List<char[]> ops(List<String> a, List<String> b) {
        List<char[]> ops = new ArrayList<>();
        if (a.size() > MAX_LINES || b.size() > MAX_LINES) {
            for (int i = 0; i < a.size(); i++) ops.add(new char[]{'-'});
            for (int i = 0; i < b.size(); i++) ops.add(new char[]{'+'});
            return ops;
        }
        int[][] lcs = new int[a.size() + 1][b.size() + 1];
        for (int i = a.size() - 1; i >= 0; i--) {
            for (int j = b.size() - 1; j >= 0; j--) {
                lcs[i][j] = a.get(i).equals(b.get(j)) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
            }
        }
        int i = 0, j = 0;
        while (i < a.size() || j < b.size()) {
            if (i < a.size() && j < b.size() && a.get(i).equals(b.get(j))) { ops.add(new char[]{' '}); i++; j++; }
            // Removals before additions, as diff -u prints a changed line.
            else if (i < a.size() && (j == b.size() || lcs[i + 1][j] >= lcs[i][j + 1])) { ops.add(new char[]{'-'}); i++; }
            else { ops.add(new char[]{'+'}); j++; }
        }
        return ops;
    }

    private static List<String> lines(String text) {
        if (text.isEmpty()) return List.of();
        return List.of(text.split("\n", -1)).subList(0, text.endsWith("\n") ? text.split("\n", -1).length - 1 : text.split("\n", -1).length);
    }
}
