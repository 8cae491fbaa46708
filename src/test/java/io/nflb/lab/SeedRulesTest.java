package io.nflb.lab;

import io.nflb.dataplane.iptables.IptablesExplainer;
import io.nflb.explain.ConnectionProbe;
import io.nflb.explain.Distribution;
import io.nflb.explain.Outcome;
import io.nflb.model.IpAddress;
import io.nflb.model.Protocol;
import io.nflb.plan.Rational;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The tutorial's rules, as the lab loads them, evaluated: the two bugs nflb exists to fix. */
class SeedRulesTest {

    private static final ConnectionProbe CLIENT = ConnectionProbe.routed(Protocol.TCP, IpAddress.parse("192.168.2.1").orElseThrow(), 80, "eth0");

    @Test
    void randomModeLeavesAQuarterUnbalanced() {
        Distribution d = IptablesExplainer.explainText(SeedRules.random(2), CLIENT);
        assertThat(d.dnatShare("192.168.2.2:80")).isEqualTo(Rational.of(1, 2));
        assertThat(d.dnatShare("192.168.2.3:80")).isEqualTo(Rational.of(1, 4));
        assertThat(d.share(Outcome.NOT_BALANCED)).isEqualTo(Rational.of(1, 4));
    }

    @Test
    void nthModeLeavesAQuarterUnbalancedInAFixedCycle() {
        Distribution d = IptablesExplainer.explainText(SeedRules.nth(2), CLIENT);
        assertThat(d.period()).isEqualTo(4);
        assertThat(d.share(Outcome.NOT_BALANCED)).isEqualTo(Rational.of(1, 4));
        assertThat(d.dnatShare("192.168.2.2:80")).isEqualTo(Rational.of(1, 2));
    }

    @Test
    void rulesMatchTheClientFacingInterfaceNotTheTutorialsServerSide() {
        assertThat(SeedRules.random(2)).contains("-i eth0").doesNotContain("eth1");
        ConnectionProbe onServerSide = ConnectionProbe.routed(Protocol.TCP, IpAddress.parse("192.168.2.1").orElseThrow(), 80, "eth1");
        assertThat(IptablesExplainer.explainText(SeedRules.random(2), onServerSide).share(Outcome.NOT_BALANCED)).isEqualTo(Rational.ONE);
    }
}
