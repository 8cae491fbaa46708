package io.nflb.dataplane.iptables;

import io.nflb.host.Exec;
import io.nflb.host.KernelException;
import io.nflb.model.IpAddress.Family;

import java.util.ArrayList;
import java.util.List;

/**
 * The two things nflb asks of iptables: dump a family's tables (iptables-save) and run one restore
 * transaction (iptables-restore --noflush). The real one runs the tools through {@link Exec};
 * the tests' FakeIptablesTool keeps the tables in memory.
 */
public interface IptablesTool {

    /** The command prefix of a family: iptables / ip6tables, to which -save and -restore are appended. */
    static String command(Family family) {
        return family == Family.V4 ? "iptables" : "ip6tables";
    }

    Family family();

    /** iptables-save output of every table; with {@code counters}, rules carry [packets:bytes]. */
    String save(boolean counters);

    /**
     * Runs {@code input} as one --noflush transaction; each table is committed at its COMMIT line, all or
     * nothing. Throws {@link KernelException} with the tool's message when refused.
     */
    void restore(String input);

    static IptablesTool of(Exec exec, Family family) {
        return new Real(exec, family);
    }

    /** The installed iptables/ip6tables, in whatever namespace {@code exec} runs in. */
    record Real(Exec exec, Family family) implements IptablesTool {

        /** Seconds to wait for the xtables lock (legacy backend; iptables-nft accepts and ignores it). */
        static final String LOCK_WAIT_SECONDS = "10";

        @Override
        public String save(boolean counters) {
            List<String> argv = new ArrayList<>(List.of(command(family) + "-save"));
            if (counters) argv.add("-c");
            Exec.Result r = exec.run(argv);
            if (!r.ok()) throw new KernelException(r.describeFailure(), r.stderr(), 0, "");
            return r.stdout();
        }

        @Override
        public void restore(String input) {
            List<String> argv = List.of(command(family) + "-restore", "-w", LOCK_WAIT_SECONDS, "--noflush");
            Exec.Result r = exec.run(argv, input);
            if (!r.ok()) throw IptablesRefusal.of(String.join(" ", argv), input, r.stderr().isBlank() ? r.stdout() : r.stderr());
        }
    }
}
