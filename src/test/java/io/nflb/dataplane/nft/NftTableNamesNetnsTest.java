package io.nflb.dataplane.nft;

import io.nflb.testing.KernelTests;
import io.nflb.testing.Netns;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The kernel's table dump over netlink names the same tables, of every family, as nft lists them. */
class NftTableNamesNetnsTest {

    @Test
    void theDumpNamesEveryTableNftLists() throws IOException {
        KernelTests.require("nft", "ip");
        try (Netns ns = Netns.create("nfttn")) {
            assertThat(dump(ns)).as("an empty ruleset").isEmpty();
            String script = "table ip filter {\n chain c {\n type filter hook input priority 0;\n }\n}\n"
                    + "table ip6 x6 {}\ntable inet nflb {}\ntable bridge br {}\ntable arp a {}\ntable netdev nd {}\n"
                    + "table inet " + "t".repeat(200) + " {}\n";
            ns.exec().check(List.of("nft", "-f", "/dev/stdin"), script);
            List<NftTableNames.Table> fromNft = new ArrayList<>();
            Map<?, ?> root = (Map<?, ?>) NftJson.parse(ns.exec().check(List.of("nft", "-j", "list", "tables")).stdout());
            for (Object o : (List<?>) root.get("nftables")) {
                if (o instanceof Map<?, ?> m && m.get("table") instanceof Map<?, ?> t) {
                    fromNft.add(new NftTableNames.Table(String.valueOf(t.get("family")), String.valueOf(t.get("name"))));
                }
            }
            assertThat(fromNft).hasSize(7);
            assertThat(dump(ns)).containsExactlyInAnyOrderElementsOf(fromNft);
            // What the neighbours are read from: every table but nflb's own and iptables-nft's (read by iptables-save).
            assertThat(NftTool.of(ns.exec()).listOtherTables()).hasSize(5).noneMatch(t -> t.contains("\"name\": \"nflb\""));
        }
    }

    @Test
    void anAnswerThatIsNotADumpIsRefused() {
        byte[] error = new byte[36];
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(error).order(java.nio.ByteOrder.nativeOrder());
        b.putInt(36).putShort((short) 2).putShort((short) 0).putInt(7).putInt(0).putInt(-1);
        assertThatThrownBy(() -> NftTableNames.parse(error, error.length, 7, new ArrayList<>())).hasMessageContaining("errno 1");
        byte[] truncated = java.util.Arrays.copyOf(error, 20);
        assertThatThrownBy(() -> NftTableNames.parse(truncated, truncated.length, 7, new ArrayList<>())).hasMessageContaining("malformed");
    }

    private static List<NftTableNames.Table> dump(Netns ns) throws IOException {
        NetlinkSocket s = NetlinkSocket.open(ns.name(), Duration.ofSeconds(10));
        try {
            return NftTableNames.read(s);
        } finally {
            s.close();
        }
    }
}
