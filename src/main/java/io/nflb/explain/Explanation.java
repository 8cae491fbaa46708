package io.nflb.explain;

import io.nflb.model.Scheduler;
import io.nflb.plan.Rational;

import java.util.List;
import java.util.Locale;

import static io.nflb.model.Json.str;

/** What the rendered rules do with each service's new connections, next to what the config asked for. */
public record Explanation(List<ServiceShares> services) implements ShareReport {

    public Explanation {
        services = List.copyOf(services);
    }

    /** One backend: its (gcd-reduced) weight, the ideal share w/sum(w), and the share the rules give it. */
    public record BackendShare(String endpoint, int weight, Rational expected, Rational actual) {
        public Rational difference() {
            return actual.subtract(expected);
        }
    }

    /**
     * {@code unbalanced}: connections of this service that got no DNAT (fell through, ACCEPT) or went to an
     * endpoint that is not one of its backends; {@code cycle}: per-connection endpoints of one period when
     * the rules are deterministic (round-robin), else empty.
     */
    public record ServiceShares(String name, Scheduler scheduler, ConnectionProbe probe, List<BackendShare> backends,
                                Rational unbalanced, Rational dropped, int period, List<String> cycle,
                                boolean exact, List<String> notes) {
        public ServiceShares {
            backends = List.copyOf(backends);
            cycle = List.copyOf(cycle);
            notes = List.copyOf(notes);
        }
    }

    @Override
    public java.util.Map<String, Rational> shares(String service) {
        java.util.Map<String, Rational> out = new java.util.LinkedHashMap<>();
        for (ServiceShares s : services) {
            if (s.name().equals(service)) s.backends().forEach(b -> out.put(b.endpoint(), b.actual()));
        }
        return out;
    }

    @Override
    public String toText() {
        StringBuilder sb = new StringBuilder();
        for (ServiceShares s : services) {
            sb.append("service ").append(s.name()).append(" (").append(s.scheduler().keyword()).append(", ")
                    .append(s.probe().protocol().keyword()).append(" to ").append(s.probe().destination())
                    .append(':').append(s.probe().port()).append(")\n");
            sb.append(String.format(Locale.ROOT, "  %-40s %6s %22s %22s %14s%n", "backend", "weight", "expected", "from rules", "difference"));
            for (BackendShare b : s.backends()) {
                sb.append(String.format(Locale.ROOT, "  %-40s %6d %22s %22s %14s%n", b.endpoint(), b.weight(),
                        share(b.expected()), share(b.actual()), percent(b.difference())));
            }
            sb.append(String.format(Locale.ROOT, "  %-40s %6s %22s %22s %14s%n", "not balanced", "", share(Rational.ZERO),
                    share(s.unbalanced()), percent(s.unbalanced())));
            if (!s.dropped().isZero()) {
                sb.append(String.format(Locale.ROOT, "  %-40s %6s %22s %22s %14s%n", "dropped", "", share(Rational.ZERO),
                        share(s.dropped()), percent(s.dropped())));
            }
            if (!s.cycle().isEmpty() && s.period() > 1) {
                sb.append("  cycle of ").append(s.period()).append(" connections: ");
                int shown = Math.min(s.cycle().size(), 24);
                sb.append(String.join(" ", s.cycle().subList(0, shown)));
                if (shown < s.cycle().size()) sb.append(" ...");
                sb.append('\n');
            }
            if (!s.exact()) sb.append("  approximate: see notes\n");
            for (String n : s.notes()) sb.append("  note: ").append(n).append('\n');
        }
        return sb.toString();
    }

    @Override
    public String toJson() {
        StringBuilder sb = new StringBuilder("{\"services\":[");
        for (int i = 0; i < services.size(); i++) {
            ServiceShares s = services.get(i);
            if (i > 0) sb.append(',');
            sb.append("{\"name\":").append(str(s.name()))
                    .append(",\"scheduler\":").append(str(s.scheduler().keyword()))
                    .append(",\"exact\":").append(s.exact())
                    .append(",\"period\":").append(s.period())
                    .append(",\"backends\":[");
            for (int j = 0; j < s.backends().size(); j++) {
                BackendShare b = s.backends().get(j);
                if (j > 0) sb.append(',');
                sb.append("{\"endpoint\":").append(str(b.endpoint()))
                        .append(",\"weight\":").append(b.weight())
                        .append(",\"expected\":").append(str(b.expected().toString()))
                        .append(",\"actual\":").append(str(b.actual().toString()))
                        .append(",\"difference\":").append(str(b.difference().toString()))
                        .append(",\"expectedShare\":").append(b.expected().toDecimal(12))
                        .append(",\"actualShare\":").append(b.actual().toDecimal(12)).append('}');
            }
            sb.append("],\"unbalanced\":").append(str(s.unbalanced().toString()))
                    .append(",\"dropped\":").append(str(s.dropped().toString()))
                    .append(",\"cycle\":[");
            for (int j = 0; j < s.cycle().size(); j++) sb.append(j > 0 ? "," : "").append(str(s.cycle().get(j)));
            sb.append("],\"notes\":[");
            for (int j = 0; j < s.notes().size(); j++) sb.append(j > 0 ? "," : "").append(str(s.notes().get(j)));
            sb.append("]}");
        }
        return sb.append("]}").toString();
    }

    private static String share(Rational r) {
        // Only short fractions are shown; a kernel probability's exact share can have thousands of digits.
        String fraction = r.num().bitLength() + r.den().bitLength() > 64 ? "" : r.toString();
        if (fraction.length() > 12) fraction = "";
        return (fraction + " " + r.multiply(Rational.of(100)).toDecimal(6) + "%").strip();
    }

    private static String percent(Rational r) {
        return r.multiply(Rational.of(100)).toDecimal(6) + "%";
    }
}
