package io.nflb.dataplane.iptables;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IptablesDialectTest {

    @Test
    void quotedWordsKeepSpacesAndEscapedQuotes() {
        assertThat(IptablesDialect.words("-A X -m comment --comment \"a \\\"q\\\" b\" -j RETURN"))
                .containsExactly("-A", "X", "-m", "comment", "--comment", "a \"q\" b", "-j", "RETURN");
    }

    @Test
    void aCommentMentioningAJumpIsNotAJump() {
        String rule = "-A INPUT -m comment --comment \"see -j NFLB-SERVICES\" -j LOGDROP";
        assertThat(IptablesDialect.target(rule)).contains("LOGDROP");
        assertThat(IptablesNames.targetsOwnChain(rule)).isFalse();
        assertThat(IptablesDialect.comment(rule)).contains("see -j NFLB-SERVICES");
    }

    @Test
    void gotoCountsAsAJump() {
        assertThat(IptablesNames.targetsOwnChain("-A PREROUTING -g NFLB-SERVICES")).isTrue();
        assertThat(IptablesDialect.comment("-A PREROUTING -g NFLB-SERVICES")).isEqualTo(Optional.empty());
        assertThat(IptablesDialect.words("")).isEqualTo(List.of());
    }

    @Test
    void commentsAreQuotedLikeIptablesSave() {
        assertThat(IptablesDialect.quote("web")).isEqualTo("web");
        assertThat(IptablesDialect.quote("a-b_C9")).isEqualTo("a-b_C9");
        assertThat(IptablesDialect.quote("web -> 1.2.3.4:80")).isEqualTo("\"web -> 1.2.3.4:80\"");
        assertThat(IptablesDialect.quote("a \"q\" b")).isEqualTo("\"a \\\"q\\\" b\"");
        assertThatThrownBy(() -> IptablesDialect.quote("x\ny")).isInstanceOf(IllegalArgumentException.class);
    }
}
