package io.nflb.dataplane.nft;

import io.nflb.model.Protocol;
import io.nflb.model.Scheduler;
import io.nflb.model.Snat;
import io.nflb.plan.Plan;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import static io.nflb.dataplane.nft.NftPlans.*;

/** The plans behind the golden nft scripts; the kernel tests load the same ones. */
public final class NftGoldenCases {

    private NftGoldenCases() {
    }

    public static Map<String, Plan> all() {
        Map<String, Plan> c = new LinkedHashMap<>();
        c.put("random", plan(service("web", Scheduler.RANDOM, "10.0.0.1", 80, 1, 2, 3)));
        c.put("round-robin-1-2-3", plan(service("web", Scheduler.ROUND_ROBIN, "10.0.0.1", 80, 1, 2, 3)));
        c.put("maglev-251", plan(service("web", Protocol.TCP, listen("10.0.0.1", 443, null), Scheduler.MAGLEV,
                        Snat.NONE, backends("192.168.2.", 443, 1, 1, 2), null, 251)));
        c.put("affinity", plan(service("web", Protocol.TCP, listen("10.0.0.1", 80, null), Scheduler.ROUND_ROBIN,
                        Snat.NONE, backends("192.168.2.", 8080, 1, 2), Duration.ofHours(3), 0)));
        c.put("masquerade", plan(service("web", Protocol.TCP, listen("10.0.0.1", 80, null), Scheduler.ROUND_ROBIN,
                        Snat.MASQUERADE, backends("192.168.2.", 80, 1, 1), null, 0)));
        c.put("interface-only", plan(
                        service("admin", Protocol.TCP, listen(null, 8080, "eth1"), Scheduler.RANDOM, Snat.NONE,
                                backends("192.168.3.", 8080, 1, 1), null, 0),
                        service("lan-web", Protocol.TCP, listen(null, 80, "lan+"), Scheduler.ROUND_ROBIN, Snat.NONE,
                                backends("192.168.4.", 80, 1), null, 0),
                        service("vip-on-wan", Protocol.TCP, listen("10.0.0.9", 80, "wan0"), Scheduler.ROUND_ROBIN, Snat.NONE,
                                backends("192.168.5.", 80, 1, 1), null, 0)));
        c.put("port-only", plan(service("dns", Protocol.UDP, listen(null, 53, null), Scheduler.RANDOM, Snat.NONE,
                        backends("192.168.2.", 53, 1, 1), null, 0)));
        c.put("two-services", plan(
                        service("web", Scheduler.ROUND_ROBIN, "10.0.0.1", 80, 3, 1),
                        service("web6", Protocol.TCP, listen("fd00::1", 80, null), Scheduler.MAGLEV, Snat.MASQUERADE,
                                backends("fd00:2::", 80, 1, 1), null, 251)));
        return c;
    }
}
