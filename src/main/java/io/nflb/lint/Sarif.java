package io.nflb.lint;

import io.nflb.model.Json;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * A {@link LintReport} as SARIF 2.1.0, the format code scanners and CI systems read: one run of the tool
 * "nflb lint" whose driver lists every finding code as a rule (id, descriptions, default level, help), one
 * artifact (the dump, by the path it was given as), one result per finding with its location (line, column,
 * the rule's text) and related locations, and fingerprints from the rule text so findings stay matched when
 * lines move. A dump that is no dump gives a run with no results and a failed invocation that says why, where.
 */
final class Sarif {

    static final String SCHEMA = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json";

    /** id, short description, full description, default level. */
    static final List<String[]> RULES = List.of(
            new String[] {"not-an-iptables-save-dump", "The input is not an iptables-save dump",
                    "The text does not start with a *table line, ends inside a table without COMMIT, or has a line outside a table. Nothing else is checked; lint exits with 2.", "error"},
            new String[] {"rejected-by-iptables", "A line iptables-restore itself refuses",
                    "A value out of range, an option without its argument, a chain that is not declared, a jump loop: the file cannot be loaded as it is. The rule is kept as one that may match anything.", "error"},
            new String[] {"not-understood", "A part of a rule lint cannot read",
                    "Lint names the word and why. The rule is kept as one that may match anything and do anything, so it causes no other finding.", "warning"},
            new String[] {"unreachable", "A rule that can never match",
                    "Every packet the rule would match is taken before it: by an earlier rule (named), a chain it jumps to that decides them all, or because no call site lets them into the chain. One finding per cause, naming the other rules it hides.", "warning"},
            new String[] {"independent-probabilities", "A balancing group that leaves connections unbalanced",
                    "Each --probability rule draws again on what the rules before it left, so equal probabilities do not give equal shares and, without an unconditional last rule, some new connections are not balanced at all.", "error"},
            new String[] {"nth-per-rule-counters", "nth rules that do not share one cycle",
                    "Each --mode nth rule counts only the packets that reach it, so --every n --packet 0..n-1 on separate rules leaves connections unbalanced.", "error"},
            new String[] {"group-not-evaluated", "A balancing group lint could not evaluate",
                    "A member or endpoint chain was not understood, or the nth counters do not repeat within the bound: no shares are given rather than wrong ones.", "warning"},
            new String[] {"dnat-without-forward", "DNAT with no FORWARD path",
                    "No rule of filter FORWARD (jumps, gotos and returns followed, policy at the end) accepts the new connections the DNAT rule translates; the rule or policy that drops them is named.", "error"},
            new String[] {"dnat-partly-forwarded", "DNAT that FORWARD accepts only in part",
                    "Some destination ports or protocols the DNAT rule translates are dropped in FORWARD whatever else the connection is.", "warning"},
            new String[] {"state-new-in-nat", "--state NEW in the nat table",
                    "The nat table sees only the first packet of each connection, so a NEW state match there changes nothing.", "warning"},
            new String[] {"unused-chain", "A chain nothing jumps to",
                    "Its rules never see a packet.", "note"});

    private Sarif() {
    }

    static int ruleIndex(String code) {
        for (int i = 0; i < RULES.size(); i++) {
            if (RULES.get(i)[0].equals(code)) return i;
        }
        throw new IllegalArgumentException("no SARIF rule for " + code);
    }

    static String write(LintReport report, String version) {
        String uri = uri(report.artifact());
        StringBuilder sb = new StringBuilder("{\"$schema\":").append(Json.str(SCHEMA)).append(",\"version\":\"2.1.0\",\"runs\":[{");
        sb.append("\"tool\":{\"driver\":{\"name\":\"nflb lint\",\"version\":").append(Json.str(version))
                .append(",\"rules\":[");
        for (int i = 0; i < RULES.size(); i++) {
            String[] r = RULES.get(i);
            sb.append(i > 0 ? "," : "").append("{\"id\":").append(Json.str(r[0])).append(",\"name\":").append(Json.str(camel(r[0])))
                    .append(",\"shortDescription\":{\"text\":").append(Json.str(r[1])).append('}')
                    .append(",\"fullDescription\":{\"text\":").append(Json.str(r[2])).append('}')
                    .append(",\"defaultConfiguration\":{\"level\":").append(Json.str(r[3])).append('}')
                    .append(",\"help\":{\"text\":").append(Json.str(r[2])).append("}}");
        }
        sb.append("]}},\"invocations\":[{\"executionSuccessful\":").append(report.fatal().isEmpty())
                .append(",\"exitCode\":").append(report.exitCode());
        if (report.fatal().isPresent()) {
            LintReport.Fatal f = report.fatal().get();
            sb.append(",\"toolExecutionNotifications\":[{\"level\":\"error\",\"descriptor\":{\"id\":\"not-an-iptables-save-dump\"},")
                    .append("\"message\":{\"text\":").append(Json.str(f.message())).append("},\"locations\":[")
                    .append(location(uri, f.line(), f.column(), "")).append("]}]");
        }
        sb.append("}],\"artifacts\":[{\"location\":{\"uri\":").append(Json.str(uri)).append("},\"mimeType\":\"text/plain\",\"roles\":[\"analysisTarget\"]");
        if (uri.equals("stdin") || uri.endsWith("-save")) sb.append(",\"contents\":{\"text\":").append(Json.str(report.text())).append('}');
        sb.append("}],\"results\":[");
        for (int i = 0; i < report.findings().size(); i++) {
            Finding f = report.findings().get(i);
            sb.append(i > 0 ? "," : "").append("{\"ruleId\":").append(Json.str(f.code())).append(",\"ruleIndex\":").append(ruleIndex(f.code()))
                    .append(",\"level\":").append(Json.str(f.severity().keyword()))
                    .append(",\"message\":{\"text\":").append(Json.str(f.message())).append('}')
                    .append(",\"locations\":[").append(location(uri, f.line(), f.column(), f.snippet())).append(']');
            if (!f.related().isEmpty()) {
                sb.append(",\"relatedLocations\":[");
                for (int j = 0; j < f.related().size(); j++) {
                    Finding.Related r = f.related().get(j);
                    sb.append(j > 0 ? "," : "").append("{\"id\":").append(j + 1).append(",\"message\":{\"text\":").append(Json.str(r.role()))
                            .append("},\"physicalLocation\":{\"artifactLocation\":{\"uri\":").append(Json.str(uri))
                            .append(",\"index\":0},\"region\":{\"startLine\":").append(r.line()).append("}}}");
                }
                sb.append(']');
            }
            sb.append(",\"partialFingerprints\":{\"nflbRule/v1\":").append(Json.str(fingerprint(f))).append('}');
            if (f.victims().size() > 1) sb.append(",\"properties\":{\"victims\":").append(f.victims()).append('}');
            sb.append('}');
        }
        sb.append("],\"properties\":{\"rulesRead\":").append(report.rules()).append(",\"notUnderstood\":").append(report.notUnderstood())
                .append(",\"refused\":").append(report.refused()).append(",\"opaque\":").append(report.opaque()).append(",\"groups\":[");
        for (int i = 0; i < report.groups().size(); i++) {
            if (i > 0) sb.append(',');
            LintReport.groupJson(sb, report.groups().get(i));
        }
        sb.append("],\"notes\":").append(LintReport.strings(report.notes())).append("}}]}\n");
        return sb.toString();
    }

    private static String location(String uri, int line, int column, String snippet) {
        StringBuilder sb = new StringBuilder("{\"physicalLocation\":{\"artifactLocation\":{\"uri\":").append(Json.str(uri))
                .append(",\"index\":0},\"region\":{\"startLine\":").append(Math.max(1, line)).append(",\"startColumn\":").append(Math.max(1, column));
        if (!snippet.isEmpty()) {
            sb.append(",\"endColumn\":").append(Math.max(1, column) + snippet.length()).append(",\"snippet\":{\"text\":").append(Json.str(snippet)).append('}');
        }
        return sb.append("}}}").toString();
    }

    /** The path as given, with '/' separators and percent-encoding: CI systems resolve it against the checkout. */
    static String uri(String artifact) {
        if (artifact.isEmpty() || artifact.equals("-")) return "stdin";
        String path = artifact.replace('\\', '/');
        try {
            return new URI(null, null, path, null).toASCIIString();
        } catch (URISyntaxException e) {
            return path;
        }
    }

    private static String fingerprint(Finding f) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            String chain = f.snippet().startsWith("-A ") ? f.snippet().split("\\s+")[1] : "";
            byte[] h = sha.digest((f.code() + "\n" + chain + "\n" + f.snippet().strip()).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String camel(String id) {
        StringBuilder sb = new StringBuilder();
        for (String part : id.split("-")) sb.append(Character.toUpperCase(part.charAt(0))).append(part.substring(1));
        return sb.toString();
    }
}
