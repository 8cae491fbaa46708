package io.nflb.cli;

import picocli.CommandLine;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * The version and git commit this jar was built from, written at build time by {@link PackageFiles} into
 * {@value #RESOURCE}; "dev" and "unknown" when the classes were not built by Maven.
 */
public final class BuildInfo implements CommandLine.IVersionProvider {

    static final String RESOURCE = "build-info.properties";

    public static String version() {
        return load().getProperty("version", "dev");
    }

    public static String commit() {
        return load().getProperty("commit", "unknown");
    }

    @Override
    public String[] getVersion() {
        return new String[] {"nflb " + version() + " (commit " + commit() + ")",
                "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")"};
    }

    private static Properties load() {
        Properties p = new Properties();
        try (InputStream in = BuildInfo.class.getResourceAsStream(RESOURCE)) {
            if (in != null) p.load(in);
        } catch (IOException e) {
            // an unreadable resource reads as a build without one
        }
        return p;
    }
}
