package io.nflb.ha;

import io.nflb.model.Config;
import io.nflb.model.Ha;
import io.nflb.model.IpAddress;

/**
 * conntrackd.conf for one router of a VRRP pair: FT-FW over unicast UDP on the sync link, as the
 * conntrack-tools manual prescribes. The peer's entries wait in the external cache until `conntrackd -c`
 * (on becoming primary). Its own lock, socket and log in nflb's ha directory. Only the router's own addresses
 * are ignored, never a service address: a DNATed entry's original destination is the service address, and
 * listing it stops every such entry from being replicated (measured: 0 entries reached the peer).
 */
public final class ConntrackdConf {

    static final int PORT = io.nflb.plan.HaTraffic.SYNC_PORT;

    private ConntrackdConf() {
    }

    public static String render(Config config, HaFacts facts, HaLayout layout) {
        Ha ha = config.ha().orElseThrow();
        Ha.Sync sync = ha.sync().orElseThrow();
        IpAddress own = facts.first(sync.iface()).map(Ha.InterfaceAddress::address).orElseThrow(() -> new IllegalStateException(
                "interface " + sync.iface() + " (ha.sync.interface) has no IPv4 address; conntrackd needs one to send from"));
        StringBuilder sb = new StringBuilder();
        sb.append("# conntrackd.conf, written by nflb from its config; edits are overwritten.\n");
        sb.append("Sync {\n");
        sb.append("    Mode FTFW {\n");
        sb.append("        # the peer's entries wait here until `conntrackd -c` on becoming primary\n");
        sb.append("        DisableExternalCache Off\n");
        sb.append("        # `conntrackd -t` on becoming backup sets the kernel's timers to this many seconds\n");
        sb.append("        PurgeTimeout 15\n");
        sb.append("    }\n");
        sb.append("    UDP {\n");
        sb.append("        IPv4_address ").append(own).append('\n');
        sb.append("        IPv4_Destination_Address ").append(sync.peer()).append('\n');
        sb.append("        Port ").append(PORT).append('\n');
        sb.append("        Interface ").append(sync.iface()).append('\n');
        sb.append("        SndSocketBuffer 1249280\n");
        sb.append("        RcvSocketBuffer 1249280\n");
        sb.append("        Checksum on\n");
        sb.append("    }\n");
        sb.append("    Options {\n");
        sb.append("        # committed TCP entries are liberal: the backup never saw their windows\n");
        sb.append("        TCPWindowTracking Off\n");
        sb.append("    }\n");
        sb.append("}\n");
        sb.append("General {\n");
        sb.append("    HashSize 32768\n");
        sb.append("    # at least twice nf_conntrack_max (").append(facts.conntrackMax()).append(")\n");
        sb.append("    HashLimit ").append(Math.max(131072, 2 * facts.conntrackMax())).append('\n');
        sb.append("    LogFile ").append(layout.conntrackdLog()).append('\n');
        sb.append("    Syslog off\n");
        sb.append("    LockFile ").append(layout.conntrackdLock()).append('\n');
        sb.append("    UNIX {\n        Path ").append(layout.conntrackdSocket()).append("\n    }\n");
        sb.append("    NetlinkBufferSize 2097152\n");
        sb.append("    NetlinkBufferSizeMaxGrowth 8388608\n");
        sb.append("    Filter From Kernelspace {\n");
        sb.append("        Protocol Accept {\n            TCP\n            UDP\n            ICMP\n        }\n");
        sb.append("        # the router's own traffic; never a service address\n");
        sb.append("        Address Ignore {\n");
        sb.append("            IPv4_address 127.0.0.1\n");
        for (IpAddress a : facts.own()) if (!a.toString().equals("127.0.0.1")) sb.append("            IPv4_address ").append(a).append('\n');
        sb.append("        }\n");
        sb.append("    }\n");
        sb.append("}\n");
        return sb.toString();
    }
}
