package io.nflb.dataplane.iptables;

import io.nflb.host.KernelException;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A refused iptables-restore, as an exception that names the line of the transaction the tool blamed. */
final class IptablesRefusal {

    // The three ways iptables-restore 1.8.9 names a line: a parse error (nft and legacy), an nf_tables
    // commit error, and a legacy commit or command error.
    private static final Pattern[] LINE_PATTERNS = {
            Pattern.compile("Error occurred at line: (\\d+)"),
            Pattern.compile("(?m)^line (\\d+): "),
            Pattern.compile("line (\\d+) failed"),
    };

    private static final Pattern MISSING_CHAIN = Pattern.compile("Chain '([^']+)' does not exist");

    private IptablesRefusal() {
    }

    /** A failed restore: the tool's own words plus the transaction line they refer to. */
    static KernelException of(String command, String input, String stderr) {
        String[] lines = input.split("\n", -1);
        int line = blamedLine(stderr, lines);
        String text = line >= 1 && line <= lines.length ? lines[line - 1] : "";
        String where = line == 0 ? "" : " at line " + line + (text.isEmpty() ? "" : " `" + text + "`");
        String why = stderr.strip().replaceAll("\\s*\n\\s*", " | ");
        return new KernelException(command + " refused the transaction" + where + ": " + why, stderr, line, text);
    }

    /**
     * iptables-nft resolves jumps at COMMIT and blames that line for a missing chain; the line that jumps
     * there is the useful one.
     */
    private static int blamedLine(String stderr, String[] lines) {
        int line = lineOf(stderr);
        Matcher missing = MISSING_CHAIN.matcher(stderr);
        if (line >= 1 && line <= lines.length && lines[line - 1].equals("COMMIT") && missing.find()) {
            for (int i = line - 2; i >= 0 && !lines[i].startsWith("*"); i--) {
                if (IptablesDialect.target(lines[i]).filter(missing.group(1)::equals).isPresent()) line = i + 1;
            }
        }
        return line;
    }

    static int lineOf(String stderr) {
        for (Pattern p : LINE_PATTERNS) {
            Matcher m = p.matcher(stderr);
            if (m.find()) return Integer.parseInt(m.group(1));
        }
        return 0;
    }
}
