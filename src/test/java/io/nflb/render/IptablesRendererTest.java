package io.nflb.render;

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

import static io.nflb.render.Fixtures.backend;
import static io.nflb.render.Fixtures.listen;
import static io.nflb.render.Fixtures.plan;
import static io.nflb.render.Fixtures.service;
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
        var one = IptablesRenderer.render(plan(a, b), IptablesRuleset.Family.IPV4).tables().get(0);
        var two = IptablesRenderer.render(plan(b, a), IptablesRuleset.Family.IPV4).tables().get(0);
        assertThat(new HashSet<>(one.chains())).isEqualTo(new HashSet<>(two.chains()));
        assertThat(one.chains()).doesNotHaveDuplicates().allSatisfy(c -> assertThat(c.length()).isLessThanOrEqualTo(28));
        assertThat(ChainNames.service("a-very-long-service-name-indeed")).startsWith("NFLB-SVC-a-very-lon-").hasSize(28);
        assertThat(ChainNames.service("b")).isEqualTo("NFLB-SVC-b");
        // Same endpoint in two services: two chains.
        assertThat(ChainNames.backend("a", "192.168.2.2:80")).isNotEqualTo(ChainNames.backend("b", "192.168.2.2:80"));
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
        assertThat(IptablesRenderer.render(p, IptablesRuleset.Family.IPV4).tables()).isEmpty();
        assertThat(IptablesRenderer.render(p, IptablesRuleset.Family.IPV6).tables()).hasSize(1);
    }

    @Test
    void maglevIsRefusedOnIptables() {
        Plan p = plan(service("m", listen(80, "10.0.0.1", null), Scheduler.MAGLEV, Snat.NONE, backend("192.168.2.2", 80, 1)));
        assertThatThrownBy(() -> IptablesRenderer.render(p, IptablesRuleset.Family.IPV4))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maglev needs the nftables backend");
    }

    @Test
    void duplicateBackendsAreRefused() {
        Plan p = plan(service("d", listen(80, "10.0.0.1", null), Scheduler.RANDOM, Snat.NONE,
                backend("192.168.2.2", 80, 1), backend("192.168.2.2", 80, 2)));
        assertThatThrownBy(() -> IptablesRenderer.render(p, IptablesRuleset.Family.IPV4)).hasMessageContaining("two chains");
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
    void commentsAreQuotedLikeIptablesSave() {
        assertThat(IptablesRenderer.quote("web")).isEqualTo("web");
        assertThat(IptablesRenderer.quote("a-b_C9")).isEqualTo("a-b_C9");
        assertThat(IptablesRenderer.quote("web -> 1.2.3.4:80")).isEqualTo("\"web -> 1.2.3.4:80\"");
        assertThat(IptablesRenderer.quote("a \"q\" b")).isEqualTo("\"a \\\"q\\\" b\"");
        assertThatThrownBy(() -> IptablesRenderer.quote("x\ny")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void portOnlyServicesLeaveTheRoutersOwnConnectionsAlone() {
        List<String> rules = Fixtures.renderedGoldens().get("port-only").tables().get(0).rules();
        assertThat(rules.get(0)).contains("-m addrtype ! --src-type LOCAL");
        Set<String> withAddress = new HashSet<>(Fixtures.renderedGoldens().get("random-two-equal").tables().get(0).rules());
        assertThat(withAddress).noneMatch(r -> r.contains("addrtype"));
    }
}
