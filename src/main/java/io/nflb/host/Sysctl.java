package io.nflb.host;

import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Kernel parameters through the sysctl tool, so they are read and set in the namespace {@link Exec} runs in
 * (writing /proc from the JVM would hit the JVM's own namespace instead).
 */
final class Sysctl {

    private static final Pattern KEY = Pattern.compile("[a-z0-9_]+(\\.[A-Za-z0-9_-]+)+");
    private static final Pattern VALUE = Pattern.compile("[A-Za-z0-9_.:-]{1,64}");

    private final Exec exec;

    public Sysctl(Exec exec) {
        this.exec = exec;
    }

    public String get(String key) {
        return exec.check(List.of("sysctl", "-n", requireKey(key)), null).stdout().strip();
    }

    /** The value of {@code key}, or empty when this kernel (or namespace) has no such parameter. */
    public Optional<String> find(String key) {
        Exec.Result r = exec.run(List.of("sysctl", "-n", requireKey(key)));
        return r.ok() ? Optional.of(r.stdout().strip()) : Optional.empty();
    }

    /** The values of those of {@code keys} this kernel (or namespace) has, read by one sysctl run. */
    public java.util.Map<String, String> findAll(List<String> keys) {
        List<String> argv = new java.util.ArrayList<>(List.of("sysctl", "-e"));
        for (String k : keys) argv.add(requireKey(k));
        Exec.Result r = exec.run(argv);
        java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
        for (String line : r.stdout().split("\n")) {
            int eq = line.indexOf(" = ");
            if (eq > 0 && keys.contains(line.substring(0, eq))) out.put(line.substring(0, eq), line.substring(eq + 3).strip());
        }
        return out;
    }

    /** Sets {@code key} to {@code value} unless it already is; returns whether it changed. */
    public boolean ensure(String key, String value) {
        if (!VALUE.matcher(value).matches()) throw new IllegalArgumentException("bad sysctl value: " + value);
        if (get(key).equals(value)) return false;
        exec.check(List.of("sysctl", "-q", "-w", key + "=" + value), null);
        String now = get(key);
        if (!now.equals(value)) throw new KernelException("sysctl " + key + " is " + now + " after setting it to " + value);
        return true;
    }

    private static String requireKey(String key) {
        if (key == null || !KEY.matcher(key).matches()) throw new IllegalArgumentException("bad sysctl key: " + key);
        return key;
    }
}
