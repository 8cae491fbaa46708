package io.nflb.ha;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * conntrackd's own counters ({@code conntrackd -s}): entries in the internal cache (this router's) and the
 * external one (the peer's, waiting for a commit), and the sync link's messages and errors.
 */
public record SyncCounters(long internal, long external, long packetsSent, long packetsReceived, long sendErrors,
                           long receiveErrors, long lost, long malformed) {

    private static final Pattern ACTIVE = Pattern.compile("current active connections:\\s+(\\d+)");
    private static final Pattern TWO = Pattern.compile("(\\d+)\\s+(Pckts sent|Error send|Malformed msgs)\\s+(\\d+)\\s+(Pckts recv|Error recv|Lost msgs)");

    /** Parses the output of {@code conntrackd -s}; counters it does not show are 0. */
    public static SyncCounters parse(String text) {
        long internal = 0;
        long external = 0;
        String section = "";
        Map<String, Long> two = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            String t = line.strip();
            if (t.startsWith("cache internal")) section = "internal";
            else if (t.startsWith("cache external")) section = "external";
            Matcher m = ACTIVE.matcher(t);
            if (m.find()) {
                if (section.equals("internal")) internal = Long.parseLong(m.group(1));
                else if (section.equals("external")) external = Long.parseLong(m.group(1));
            }
            Matcher p = TWO.matcher(t);
            if (p.find()) {
                two.put(p.group(2), Long.parseLong(p.group(1)));
                two.put(p.group(4), Long.parseLong(p.group(3)));
            }
        }
        return new SyncCounters(internal, external, two.getOrDefault("Pckts sent", 0L), two.getOrDefault("Pckts recv", 0L),
                two.getOrDefault("Error send", 0L), two.getOrDefault("Error recv", 0L), two.getOrDefault("Lost msgs", 0L),
                two.getOrDefault("Malformed msgs", 0L));
    }

    /** name -> value, for metrics and JSON. */
    public Map<String, Long> asMap() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("internal_entries", internal);
        m.put("external_entries", external);
        m.put("packets_sent", packetsSent);
        m.put("packets_received", packetsReceived);
        m.put("send_errors", sendErrors);
        m.put("receive_errors", receiveErrors);
        m.put("lost_messages", lost);
        m.put("malformed_messages", malformed);
        return m;
    }
}
