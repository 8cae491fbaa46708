package io.nflb.ha;

import io.nflb.model.Config;
import io.nflb.model.Ha;
import io.nflb.model.IpAddress;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * keepalived.conf for one router, the shape measured in issue 12's research: VRRPv3 (adverts below a
 * second), every instance starting BACKUP (nopreempt needs it; the higher priority wins the first election),
 * unicast adverts when peers are given, the gateway interface tracked (losing the server side is a fault too).
 * vrrp mode: one instance, the service addresses on ha.interface and the gateway address moving together.
 * ecmp mode: one instance per gateway address, this router's own at its priority (taken back a second after
 * the router returns: without state, moving a gateway costs nothing), the peers' at half of it.
 * Transitions reach nflb either through a FIFO that `nflb run` reads (no process per transition) or, for a
 * keepalived run by its own unit, through `nflb ha notify` scripts. {@code vrrp_strict} is never written: it
 * refuses unicast peers.
 */
public final class KeepalivedConf {

    /** How keepalived tells nflb of a transition. */
    public sealed interface Hooks {
        /** {@code nflb run} reads the lines keepalived writes to this FIFO. */
        record Fifo(Path fifo) implements Hooks {
        }

        /** keepalived runs {@code command} + "primary|backup|fault" + {@code --state DIR} for each transition. */
        record Notify(String command, Path stateDir) implements Hooks {
            public Notify {
                if (!command.matches("[A-Za-z0-9/._-]+")) throw new IllegalArgumentException("nflb command " + command + " may hold only A-Z a-z 0-9 / . _ -");
            }
        }
    }

    private KeepalivedConf() {
    }

    /** The VRRP instance name of vrrp mode, as the FIFO names it. */
    static String instance(Ha ha) {
        return "nflb_" + ha.routerId();
    }

    static String gatewayInstance(Ha ha, Ha.InterfaceAddress gw) {
        return "nflb_gw_" + ha.gatewayRouterId(gw);
    }

    public static String render(Config config, HaFacts facts, String routerName, Hooks hooks) {
        Ha ha = config.ha().orElseThrow();
        IpAddress src = facts.first(ha.iface()).map(Ha.InterfaceAddress::address).orElseThrow(() -> new IllegalStateException(
                "interface " + ha.iface() + " (ha.interface) has no IPv4 address of this router's own; VRRP needs one to send from"));
        StringBuilder sb = new StringBuilder();
        sb.append("# keepalived.conf for ").append(routerName).append(", written by nflb from its config; edits are overwritten.\n");
        sb.append("global_defs {\n");
        sb.append("    router_id ").append(routerName).append('\n');
        sb.append("    # VRRPv3: adverts more often than once a second\n");
        sb.append("    vrrp_version 3\n");
        sb.append("    # nflb's notify command runs as root, without a keepalived_script user; refuse scripts others could change\n");
        sb.append("    script_user root\n");
        sb.append("    enable_script_security\n");
        sb.append("    # a second gratuitous ARP burst 1 s after a takeover (default 5 s): a lost one costs 1 s, not 5\n");
        sb.append("    vrrp_garp_master_delay 1\n");
        sb.append("    vrrp_garp_master_repeat 3\n");
        sb.append("    # real-time priority when keepalived finds it ran late: short adverts must not wait for the CPU\n");
        sb.append("    max_auto_priority\n");
        if (hooks instanceof Hooks.Fifo f) sb.append("    vrrp_notify_fifo ").append(f.fifo()).append('\n');
        sb.append("}\n");
        if (ha.mode() == Ha.Mode.VRRP) {
            List<String> vips = new ArrayList<>();
            for (HaPlan.Vip v : HaPlan.vrrpVips(config, facts)) vips.add(v.toString());
            instance(sb, ha, instance(ha), ha.priority(), ha.preempt(), src, vips, hooks);
        } else {
            Ha.Gateway g = ha.gateway().orElseThrow();
            for (Ha.InterfaceAddress gw : g.all()) {
                boolean own = gw.equals(g.address());
                // The peers' gateways are backed up at half the priority, so their own routers win while they live.
                int priority = own ? ha.priority() : Math.max(1, ha.priority() / 2);
                instance(sb, ha, gatewayInstance(ha, gw), priority, own, src, List.of(gw + " dev " + g.iface()), hooks);
            }
        }
        return sb.toString();
    }

    private static void instance(StringBuilder sb, Ha ha, String name, int priority, boolean preempt, IpAddress src,
                                 List<String> vips, Hooks hooks) {
        int id = name.startsWith("nflb_gw_") ? Integer.parseInt(name.substring(8)) : ha.routerId();
        sb.append("vrrp_instance ").append(name).append(" {\n");
        sb.append("    state BACKUP\n");
        sb.append("    interface ").append(ha.iface()).append('\n');
        sb.append("    virtual_router_id ").append(id).append('\n');
        sb.append("    priority ").append(priority).append('\n');
        sb.append("    advert_int ").append(advert(ha)).append('\n');
        if (!preempt) {
            sb.append("    nopreempt\n");
        } else if (ha.mode() == Ha.Mode.ECMP) {
            // A router takes its own gateway back (nothing to lose without state), once it has been up a second.
            sb.append("    preempt_delay 1\n");
        }
        if (!ha.peers().isEmpty()) {
            sb.append("    unicast_src_ip ").append(src).append('\n');
            sb.append("    unicast_peer {\n");
            for (IpAddress p : ha.peers()) sb.append("        ").append(p).append('\n');
            sb.append("    }\n");
        }
        ha.gateway().filter(g -> !g.iface().equals(ha.iface())).ifPresent(g ->
                sb.append("    track_interface {\n        ").append(g.iface()).append("\n    }\n"));
        sb.append("    virtual_ipaddress {\n");
        for (String v : vips) sb.append("        ").append(v).append('\n');
        sb.append("    }\n");
        if (hooks instanceof Hooks.Notify n) {
            for (String[] hook : new String[][]{{"notify_master", "primary"}, {"notify_backup", "backup"},
                    {"notify_fault", "fault"}, {"notify_stop", "fault"}}) {
                sb.append("    ").append(hook[0]).append(" \"").append(n.command()).append(" ha notify ").append(hook[1])
                        .append(" --state ").append(n.stateDir()).append("\"\n");
            }
        }
        sb.append("}\n");
    }

    /** Seconds with up to two decimals, as keepalived reads them: 200ms -> 0.2. */
    static String advert(Ha ha) {
        long cs = ha.advertInterval().toMillis() / 10;
        String s = (cs / 100) + "." + String.format("%02d", cs % 100);
        return s.replaceAll("0+$", "").replaceAll("\\.$", "");
    }
}
