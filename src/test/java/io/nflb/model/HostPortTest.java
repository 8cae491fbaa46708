package io.nflb.model;

import org.junit.jupiter.api.Test;

import java.util.OptionalInt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HostPortTest {

    @Test
    void readsBackWhatBackendEndpointWrites() {
        for (String a : new String[] {"10.0.0.1", "2001:db8::1", "::1"}) {
            Backend b = new Backend(IpAddress.parse(a).orElseThrow(), 8080, 1);
            assertThat(HostPort.parse(b.endpoint())).isEqualTo(new HostPort(b.address(), OptionalInt.of(8080)));
        }
    }

    @Test
    void thePortIsOptionalAndABareV6AddressHasNone() {
        assertThat(HostPort.parse("10.0.0.1").port()).isEmpty();
        assertThat(HostPort.parse("2001:db8::1").port()).isEmpty();
        assertThat(HostPort.parse("[2001:db8::1]").port()).isEmpty();
        assertThatThrownBy(() -> HostPort.parse("[::1]80")).hasMessage("'[::1]80': expected ':PORT' after ']'");
        assertThatThrownBy(() -> HostPort.parse("10.0.0.1:0")).hasMessage("'10.0.0.1:0': '0' is not a port (1-65535)");
    }
}
