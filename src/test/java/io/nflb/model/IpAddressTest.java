package io.nflb.model;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The one-pass IPv4 reader against the dotted-quad grammar the config schema gives editors. */
class IpAddressTest {

    private static final String OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
    private static final Pattern V4 = Pattern.compile(OCTET + "(\\." + OCTET + "){3}");

    @Test
    void readsExactlyTheDottedQuadsWithoutLeadingZeros() {
        SplittableRandom rnd = new SplittableRandom(20261214L);
        String alphabet = "0123456789..a ";
        int valid = 0;
        for (int i = 0; i < 200_000; i++) {
            StringBuilder sb = new StringBuilder();
            if (rnd.nextInt(3) == 0) {
                for (int o = 0; o < 4; o++) sb.append(o == 0 ? "" : ".").append(rnd.nextInt(300));
            } else {
                for (int n = rnd.nextInt(17); n > 0; n--) sb.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
            }
            String text = sb.toString();
            boolean expected = V4.matcher(text).matches();
            assertThat(IpAddress.parse(text).isPresent()).as("'%s'", text).isEqualTo(expected);
            if (expected) {
                valid++;
                assertThat(IpAddress.parse(text).orElseThrow().toString()).isEqualTo(text);
                assertThat(IpAddress.parse(text).orElseThrow().family()).isEqualTo(IpAddress.Family.V4);
            }
        }
        assertThat(valid).isGreaterThan(30_000);
    }

    @Test
    void familiesAndOddSpellings() {
        assertThat(IpAddress.parse("2001:db8::1").orElseThrow().family()).isEqualTo(IpAddress.Family.V6);
        assertThat(IpAddress.parse("\u0661.2.3.4")).as("only ASCII digits").isEmpty();
        assertThat(IpAddress.parse("1.2.3.04")).isEmpty();
        assertThat(IpAddress.parse("0.0.0.0")).isPresent();
        assertThat(IpAddress.parse("255.255.255.255")).isPresent();
        assertThat(IpAddress.parse("256.0.0.1")).isEmpty();
        assertThat(IpAddress.parse("1.2.3.4.")).isEmpty();
        assertThat(IpAddress.parse(".1.2.3")).isEmpty();
    }
}
