package io.nflb.host;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;

/** Finds kernel tools without a shell. The sbin directories are searched too: root's tools live there. */
public final class Tools {

    private Tools() {
    }

    public static Optional<Path> find(String tool) {
        Set<String> dirs = new LinkedHashSet<>();
        String path = System.getenv("PATH");
        if (path != null) dirs.addAll(java.util.Arrays.asList(path.split(":")));
        dirs.addAll(java.util.List.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"));
        for (String dir : dirs) {
            if (dir.isEmpty()) continue;
            Path p = Path.of(dir, tool);
            if (Files.isExecutable(p) && !Files.isDirectory(p)) return Optional.of(p);
        }
        return Optional.empty();
    }

    public static boolean has(String tool) {
        return find(tool).isPresent();
    }
}
