package io.nflb.cli;

import io.nflb.dataplane.Dataplanes;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;

/**
 * Runs the command line in process, capturing both streams (commands print to System.out and System.err,
 * picocli to its writers).
 */
public final class Cli {

    public record Ran(int code, String out, String err) {
    }

    private Cli() {
    }

    public static synchronized Ran run(Dataplanes dataplanes, String... args) {
        PrintStream savedOut = System.out, savedErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(stderr, true, StandardCharsets.UTF_8));
            var cl = Main.commandLine(dataplanes);
            cl.setErr(new PrintWriter(err, true));
            int code = cl.execute(args);
            return new Ran(code, out.toString(StandardCharsets.UTF_8), stderr.toString(StandardCharsets.UTF_8) + err);
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
    }
}
