package io.nflb.testing;

import io.nflb.host.Tools;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Gate for tests that need a real kernel. Outside CI a machine without root or the tools skips them;
 * with CI=true a skip would hide a broken build, so it fails instead.
 */
public final class KernelTests {

    private KernelTests() {
    }

    public static void require(String... tools) {
        String why = missing(tools);
        if (why == null) return;
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            Assertions.fail("kernel test cannot run in CI: " + why);
        }
        Assumptions.abort("kernel test skipped: " + why);
    }

    private static String missing(String... tools) {
        if (!"root".equals(System.getProperty("user.name"))) return "not running as root";
        for (String tool : tools) {
            if (!Tools.has(tool)) return tool + " is not installed";
        }
        return null;
    }
}
