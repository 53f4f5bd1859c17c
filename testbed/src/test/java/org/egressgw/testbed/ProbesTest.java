package org.egressgw.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class ProbesTest {

    /** The slow reference: build the whole body the way the Python server defines it, then hash it. */
    private static String referenceSha(int length) throws Exception {
        byte[] body = new byte[length];
        for (int i = 0; i < length; i++) {
            body[i] = (byte) (i % 251);
        }
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
    }

    @Test
    void expectedPatternMatchesReferenceOverManyLengths() throws Exception {
        for (int length : new int[] {0, 1, 250, 251, 252, 502, 4096, 64_257, 1 << 20}) {
            Probes.Download d = Probes.expectedPattern(length);
            assertEquals(length, d.length());
            assertEquals(referenceSha(length), d.sha256(), "length " + length);
        }
    }

    @Test
    void tenMibDigestIsStable() throws Exception {
        assertEquals(referenceSha((int) Probes.TEN_MIB), Probes.expectedPattern(Probes.TEN_MIB).sha256());
    }

    @Test
    void captureLinesAreOnePerPacket() {
        String out = """
                20:55:23.389417 IP 198.51.100.1.35918 > 198.51.100.2.8472: OTV, flags [I] (0x08), overlay 0, instance 2
                IP 10.244.1.10.43216 > 203.0.113.5.80: Flags [S], seq 1, length 0
                20:55:23.389511 IP 192.0.2.1 > 192.0.2.10: ICMP echo reply, id 1, seq 1, length 64

                """;
        assertEquals(java.util.List.of(
                "20:55:23.389417 IP 198.51.100.1.35918 > 198.51.100.2.8472: OTV, flags [I] (0x08), overlay 0, "
                        + "instance 2, IP 10.244.1.10.43216 > 203.0.113.5.80: Flags [S], seq 1, length 0",
                "20:55:23.389511 IP 192.0.2.1 > 192.0.2.10: ICMP echo reply, id 1, seq 1, length 64"),
                Probes.Capture.joinContinuations(out));
        assertEquals(java.util.List.of(), Probes.Capture.joinContinuations(""));
    }
}
