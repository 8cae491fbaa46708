package io.nflb.bench;

import io.nflb.config.ConfigLoader;
import io.nflb.dataplane.Dataplanes;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Issue 14: reading nflb.yaml at size. {@code warm FILE}: as the cost table has always measured "YAML parse" (parse
 * and bind from the text, median of 5 after 2 warm-ups) and the same from the file, as the loader reads it;
 * {@code cold FILE}: the first load in a fresh JVM, what a command waits for before anything else (run it in a new
 * JVM with the launcher's flags each time); {@code write SCHEDULER N VARIANT FILE}: the config the benchmarks use
 * (variant 0: as generated; 3: service N/2's first backend weighs 2).
 * Usage: YamlBench warm FILE | cold FILE | write SCHEDULER N VARIANT FILE
 */
public final class YamlBench {

    private YamlBench() {
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "write" -> Files.writeString(Path.of(args[4]), NftCostBench.config(args[1], Integer.parseInt(args[2]),
                    Integer.parseInt(args[3]), false));
            case "cold" -> {
                Path file = Path.of(args[1]);
                long t0 = System.nanoTime();
                int services = ConfigLoader.load(file, Dataplanes::refusals).services().size();
                System.out.printf(Locale.ROOT, "%.1f%n", (System.nanoTime() - t0) / 1e6);
                if (services == 0) throw new IllegalStateException("no services");
            }
            case "warm" -> {
                Path file = Path.of(args[1]);
                String text = Files.readString(file);
                List<Double> fromText = new ArrayList<>();
                List<Double> fromFile = new ArrayList<>();
                for (int i = 0; i < 7; i++) {
                    long a = System.nanoTime();
                    ConfigLoader.parse("bench.yaml", text);
                    long b = System.nanoTime();
                    ConfigLoader.load(file, Dataplanes::refusals);
                    long c = System.nanoTime();
                    if (i >= 2) {
                        fromText.add((b - a) / 1e6);
                        fromFile.add((c - b) / 1e6);
                    }
                }
                System.out.printf(Locale.ROOT, "%.1f %.1f %.1f %.1f%n", NftCostBench.median(fromText), min(fromText),
                        NftCostBench.median(fromFile), min(fromFile));
            }
            default -> throw new IllegalArgumentException("usage: YamlBench warm FILE | cold FILE | write SCHEDULER N VARIANT FILE");
        }
    }

    private static double min(List<Double> xs) {
        return xs.stream().mapToDouble(d -> d).min().orElse(0);
    }
}
