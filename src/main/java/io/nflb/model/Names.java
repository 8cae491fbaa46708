package io.nflb.model;

import java.util.regex.Pattern;

/** The identifier rules shared by the config checker and the records, so nothing unchecked reaches a rule. */
public final class Names {

    public static final Pattern SERVICE = Pattern.compile("[a-z0-9-]{1,32}");
    /** Linux IFNAMSIZ is 16 with the NUL; '+' is iptables' wildcard and is allowed at the end only. */
    public static final Pattern INTERFACE = Pattern.compile("[A-Za-z0-9_.-]{1,15}\\+?");

    private Names() {
    }

    public static String requireService(String name) {
        if (name == null || !SERVICE.matcher(name).matches()) {
            throw new IllegalArgumentException("bad service name: " + name);
        }
        return name;
    }

    public static String requireInterface(String name) {
        if (name == null || !INTERFACE.matcher(name).matches() || name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("bad interface name: " + name);
        }
        return name;
    }
}
