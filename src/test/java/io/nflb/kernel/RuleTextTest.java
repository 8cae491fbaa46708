package io.nflb.kernel;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class RuleTextTest {

    @Test
    void quotedWordsKeepSpacesAndEscapedQuotes() {
        assertThat(RuleText.words("-A X -m comment --comment \"a \\\"q\\\" b\" -j RETURN"))
                .containsExactly("-A", "X", "-m", "comment", "--comment", "a \"q\" b", "-j", "RETURN");
    }

    @Test
    void aCommentMentioningAJumpIsNotAJump() {
        String rule = "-A INPUT -m comment --comment \"see -j NFLB-SERVICES\" -j LOGDROP";
        assertThat(RuleText.target(rule)).contains("LOGDROP");
        assertThat(RuleText.targetsNflbChain(rule)).isFalse();
        assertThat(RuleText.comment(rule)).contains("see -j NFLB-SERVICES");
    }

    @Test
    void gotoCountsAsAJump() {
        assertThat(RuleText.targetsNflbChain("-A PREROUTING -g NFLB-SERVICES")).isTrue();
        assertThat(RuleText.comment("-A PREROUTING -g NFLB-SERVICES")).isEqualTo(Optional.empty());
        assertThat(RuleText.words("")).isEqualTo(List.of());
    }
}
