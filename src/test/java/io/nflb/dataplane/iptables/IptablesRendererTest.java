package io.nflb.dataplane.iptables;

import io.nflb.model.IpAddress;
import io.nflb.model.Scheduler;
import io.nflb.model.Snat;
import io.nflb.plan.Plan;
import io.nflb.plan.Rational;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static io.nflb.dataplane.iptables.Fixtures.backend;
import static io.nflb.dataplane.iptables.Fixtures.listen;
import static io.nflb.dataplane.iptables.Fixtures.plan;
import static io.nflb.dataplane.iptables.Fixtures.service;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IptablesRendererTest {

    static Stream<String> goldenNames() {
        return Fixtures.goldens().keySet().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goldenNames")
    void rendersTheGoldenText(String name) throws IOException {
        String expected = Files.readString(Path.of("src/test/resources/golden/iptables", name + ".rules"));
        assertThat(IptablesRenderer.restoreText(Fixtures.renderedGoldens().get(name))).isEqualTo(expected);
    }

    @Test
    void chainNamesAreShortUniqueAndIndependentOfOrder() {
        var a = service("a-very-long-service-name-indeed", listen(80, "10.0.0.1", null), Scheduler.RANDOM, Snat.NONE,
                backend("192.168.2.2", 80, 1), backend("192.168.2.3", 80, 1));
        var b = service("b", listen(81, "10.0.0.1", null), Scheduler.RANDOM, Snat.NONE, backend("192.168.2.2", 80, 1));
        var one = IptablesRenderer.render(plan(a, b), IpAddress.Family.V4).tables().get(0);
        var two = IptablesRenderer.render(plan(b, a), IpAddress.Family.V4).tables().get(0);
        assertThat(new HashSet<>(one.chains())).isEqualTo(new HashSet<>(two.chains()));
        assertThat(one.chains()).doesNotHaveDuplicates().allSatisfy(c -> assertThat(c.length()).isLessThanOrEqualTo(28));
        assertThat(IptablesNames.service("a-very-long-service-name-indeed")).startsWith("NFLB-SVC-a-very-lon-").hasSize(28);
        assertThat(IptablesNames.service("b")).isEqualTo("NFLB-SVC-b");
        // Same endpoint in two services: two chains.
        assertThat(IptablesNames.backend("a", "192.168.2.2:80")).isNotEqualTo(IptablesNames.backend("b", "192.168.2.2:80"));
    }

    @Test
    void everyRuleNamesItsService() {
        for (IptablesRuleset r : Fixtures.renderedGoldens().values()) {
            for (String rule : r.tables().get(0).rules()) {
                assertThat(rule).contains("-m comment --comment ");
            }
        }
    }

    @Test
    void onlyTheRequestedFamilyIsRendered() {
        Plan p = Fixtures.goldens().get("ipv6");
        assertThat(IptablesRenderer.render(p, IpAddress.Family.V4).tables()).isEmpty();
        assertThat(IptablesRenderer.render(p, IpAddress.Family.V6).tables()).hasSize(1);
    }

    @Test
    void maglevIsRefusedOnIptables() {
        Plan p = plan(service("m", listen(80, "10.0.0.1", null), Scheduler.MAGLEV, Snat.NONE, backend("192.168.2.2", 80, 1)));
        assertThatThrownBy(() -> IptablesRenderer.render(p, IpAddress.Family.V4))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maglev needs the nftables backend");
    }

    @Test
    void duplicateBackendsAreRefused() {
        Plan p = plan(service("d", listen(80, "10.0.0.1", null), Scheduler.RANDOM, Snat.NONE,
                backend("192.168.2.2", 80, 1), backend("192.168.2.2", 80, 2)));
        assertThatThrownBy(() -> IptablesRenderer.render(p, IpAddress.Family.V4)).hasMessageContaining("lists backend 192.168.2.2:80 twice");
    }

    @Test
    void probabilitiesAreTheKernelsOwnValuePrintedLikeIptablesSave() {
        assertThat(IptablesRenderer.quantize(Rational.of(1, 3))).isEqualTo(Rational.of(715827883, 1L << 31));
        assertThat(IptablesRenderer.probabilityText(IptablesRenderer.quantize(Rational.of(1, 3)))).isEqualTo("0.33333333349");
        assertThat(IptablesRenderer.probabilityText(IptablesRenderer.quantize(Rational.of(1, 2)))).isEqualTo("0.50000000000");
        // A tie at the 11th decimal: glibc printf rounds the exact binary value half to even.
        assertThat(IptablesRenderer.probabilityText(Rational.of(1, 4096))).isEqualTo("0.00024414062");
    }

    @Test
    void portOnlyServicesLeaveTheRoutersOwnConnectionsAlone() {
        List<String> rules = Fixtures.renderedGoldens().get("port-only").tables().get(0).rules();
        assertThat(rules.get(0)).contains("-m addrtype ! --src-type LOCAL");
        Set<String> withAddress = new HashSet<>(Fixtures.renderedGoldens().get("random-two-equal").tables().get(0).rules());
        assertThat(withAddress).noneMatch(r -> r.contains("addrtype"));
    }
}
