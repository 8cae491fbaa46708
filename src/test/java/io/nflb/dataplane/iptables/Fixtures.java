package io.nflb.dataplane.iptables;

import io.nflb.model.Backend;
import io.nflb.model.BackendKind;
import io.nflb.model.Config;
import io.nflb.model.IpAddress;
import io.nflb.model.Listen;
import io.nflb.model.Protocol;
import io.nflb.model.Scheduler;
import io.nflb.model.Service;
import io.nflb.model.Snat;
import io.nflb.plan.Plan;
import io.nflb.plan.Planner;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** Config-like inputs for golden and kernel tests, built from the model records as the config step would. */
public final class Fixtures {

    private Fixtures() {
    }

    public static IpAddress ip(String text) {
        return IpAddress.parse(text).orElseThrow();
    }

    public static Backend backend(String address, int port, int weight) {
        return new Backend(ip(address), port, weight);
    }

    public static Listen listen(int port, String address, String iface) {
        return new Listen(port, Optional.ofNullable(address).map(Fixtures::ip), Optional.ofNullable(iface));
    }

    public static Service service(String name, Listen listen, Scheduler scheduler, Snat snat, Backend... backends) {
        return new Service(name, Protocol.TCP, listen, scheduler, snat, List.of(backends));
    }

    public static Plan plan(Service... services) {
        return Planner.plan(new Config(BackendKind.IPTABLES, List.of(services)));
    }

    /** The golden cases: name -> plan. */
    public static Map<String, Plan> goldens() {
        Map<String, Plan> g = new TreeMap<>();
        g.put("random-two-equal", plan(service("web", listen(80, "10.0.0.1", null), Scheduler.RANDOM, Snat.NONE,
                backend("192.168.2.2", 80, 1), backend("192.168.2.3", 80, 1))));
        g.put("round-robin-1-2-3", plan(service("web", listen(80, "10.0.0.1", null), Scheduler.ROUND_ROBIN, Snat.NONE,
                backend("192.168.2.2", 80, 10), backend("192.168.2.3", 80, 20), backend("192.168.2.4", 8080, 30))));
        g.put("masquerade", plan(service("web", listen(80, "10.0.0.1", null), Scheduler.RANDOM, Snat.MASQUERADE,
                backend("192.168.2.2", 80, 1), backend("192.168.2.3", 8080, 3))));
        g.put("interface-only", plan(service("web", listen(80, null, "eth0"), Scheduler.ROUND_ROBIN, Snat.MASQUERADE,
                backend("192.168.2.2", 80, 1), backend("192.168.2.3", 80, 1))));
        g.put("port-only", plan(service("web", listen(8080, null, null), Scheduler.RANDOM, Snat.NONE,
                backend("192.168.2.2", 80, 2), backend("192.168.2.3", 80, 1), backend("192.168.2.4", 80, 1))));
        g.put("affinity", plan(new Service("web", Protocol.TCP, listen(443, "10.0.0.1", null), Scheduler.RANDOM, Snat.NONE,
                List.of(backend("192.168.2.2", 443, 1), backend("192.168.2.3", 443, 1), backend("192.168.2.4", 443, 2)),
                Optional.of(Duration.ofHours(3)), 0)));
        g.put("two-services", plan(
                service("web", listen(80, "10.0.0.1", "eth0"), Scheduler.ROUND_ROBIN, Snat.NONE,
                        backend("192.168.2.2", 80, 1), backend("192.168.2.3", 80, 1)),
                service("dns-with-a-long-service-name", listen(53, "10.0.0.2", null), Scheduler.RANDOM, Snat.MASQUERADE,
                        backend("192.168.3.2", 53, 1), backend("192.168.3.3", 53, 1), backend("192.168.3.4", 53, 1))));
        g.put("ipv6", plan(new Service("web6", Protocol.TCP, listen(80, "fd00::1", null), Scheduler.ROUND_ROBIN, Snat.MASQUERADE,
                List.of(backend("fd00:2::2", 80, 1), backend("fd00:2::3", 8080, 2)), Optional.of(Duration.ofMinutes(10)), 0)));
        return g;
    }

    /** Every golden plan rendered for the family its services live in. */
    public static Map<String, IptablesRuleset> renderedGoldens() {
        Map<String, IptablesRuleset> r = new TreeMap<>();
        goldens().forEach((name, plan) -> r.put(name, IptablesRenderer.render(plan,
                plan.services().get(0).service().family())));
        return r;
    }

    static List<String> lines(String text) {
        return new ArrayList<>(List.of(text.split("\n")));
    }
}
