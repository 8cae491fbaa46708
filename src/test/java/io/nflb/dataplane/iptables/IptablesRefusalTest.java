package io.nflb.dataplane.iptables;

import io.nflb.host.KernelException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/** The stderr texts are verbatim from iptables 1.8.9 (nf_tables and legacy) on Debian 12. */
class IptablesRefusalTest {

    private static final String INPUT = "*nat\n:NFLB-B - [0:0]\n-A NFLB-B -j RETURN\n-A NFLB-B -j NFLB-MISSING\nCOMMIT\n";

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "iptables-restore v1.8.9 (nf_tables): statistic: bad value for option \"--probability\", or out of range (0-1).\\n\\nError occurred at line: 4\\nTry `iptables-restore -h' or 'iptables-restore --help' for more information.|4",
            "iptables-restore v1.8.9 (nf_tables): \\nline 3: RULE_APPEND failed (Invalid argument): rule in chain NFLB-B|3",
            "iptables-restore: line 5 failed: Bad rule|5",
            "iptables-restore v1.8.9 (nf_tables): Chain 'NFLB-MISSING' does not exist\\nError occurred at line: 5|4",
            "iptables-restore: line 2 failed: No chain/target/match by that name.|2",
            "something without a line|0",
    })
    void findsTheBlamedLine(String stderr, int line) {
        KernelException e = IptablesRefusal.of("iptables-restore --noflush", INPUT, stderr.replace("\\n", "\n"));
        assertThat(e.line()).isEqualTo(line);
        assertThat(e.lineText()).isEqualTo(line == 0 ? "" : INPUT.split("\n")[line - 1]);
        assertThat(e.getMessage()).startsWith("iptables-restore --noflush refused the transaction")
                .contains(line == 0 ? "without a line" : "at line " + line + " `" + e.lineText() + "`");
    }
}
