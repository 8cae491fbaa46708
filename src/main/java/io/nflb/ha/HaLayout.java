package io.nflb.ha;

import java.nio.file.Path;

/**
 * The files of one router's ha engines, all in one directory of nflb's (never keepalived's or conntrackd's
 * system paths): two routers, or a test's, on one filesystem never meet.
 */
public record HaLayout(Path dir) {

    /** Where `nflb run` keeps them unless told otherwise. */
    public static final String DEFAULT_DIR = "/run/nflb/ha";

    public HaLayout {
        dir = dir.toAbsolutePath().normalize();
        // keepalived reads these paths from its config and its scripts' command lines: no spaces, no quotes.
        if (!dir.toString().matches("[A-Za-z0-9/._-]+")) {
            throw new IllegalArgumentException("ha state directory " + dir + " may hold only A-Z a-z 0-9 / . _ -");
        }
    }

    public Path keepalivedConf() { return dir.resolve("keepalived.conf"); }
    public Path conntrackdConf() { return dir.resolve("conntrackd.conf"); }
    public Path fifo() { return dir.resolve("keepalived.fifo"); }
    public Path keepalivedPid() { return dir.resolve("keepalived.pid"); }
    public Path vrrpPid() { return dir.resolve("vrrp.pid"); }
    public Path keepalivedLog() { return dir.resolve("keepalived.log"); }
    public Path conntrackdLog() { return dir.resolve("conntrackd.log"); }
    public Path conntrackdOut() { return dir.resolve("conntrackd.out"); }
    public Path conntrackdLock() { return dir.resolve("conntrackd.lock"); }
    public Path conntrackdSocket() { return dir.resolve("conntrackd.ctl"); }
    public Path transitions() { return dir.resolve("transitions.log"); }
    public Path role() { return dir.resolve("role"); }
    public Path notifyLock() { return dir.resolve("notify.lock"); }
}
