package org.egressgw.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

class IcmpTest {
    private static final byte[] FRAME = TestBytes.hex(TestBytes.ICMP_ECHO);
    private static final int ICMP = 34;

    @Test
    void gettersOnRealEcho() {
        UnsafeBuffer b = TestBytes.buffer(FRAME);
        assertEquals(PacketError.NONE, Ipv4.check(b, 14, FRAME.length - 14));
        assertEquals(Ipv4.PROTO_ICMP, Ipv4.protocol(b, 14));
        assertEquals(PacketError.NONE, Icmp.check(b, ICMP, 64));
        assertEquals(Icmp.TYPE_ECHO_REQUEST, Icmp.type(b, ICMP));
        assertEquals(0, Icmp.code(b, ICMP));
        assertEquals(0x0423, Icmp.checksum(b, ICMP));
        assertEquals(0x1c2b, Icmp.identifier(b, ICMP));
        assertEquals(3, Icmp.sequence(b, ICMP));
        assertEquals(3, Icmp.nextHopMtu(b, ICMP));
        assertTrue(Checksum.verifyIcmp(b, ICMP, 64));
    }

    @Test
    void echoReplyRewriteKeepsChecksumValid() {
        UnsafeBuffer b = TestBytes.buffer(FRAME);
        int c = Checksum.update16(Icmp.checksum(b, ICMP), Icmp.TYPE_ECHO_REQUEST << 8, Icmp.TYPE_ECHO_REPLY << 8);
        Icmp.type(b, ICMP, Icmp.TYPE_ECHO_REPLY);
        Icmp.checksum(b, ICMP, c);
        assertTrue(Checksum.verifyIcmp(b, ICMP, 64));
        assertEquals(Checksum.icmp(b, ICMP, 64), Icmp.checksum(b, ICMP));
    }

    @Test
    void settersRoundTrip() {
        UnsafeBuffer b = new UnsafeBuffer(new byte[8]);
        Icmp.type(b, 0, Icmp.TYPE_DEST_UNREACHABLE);
        Icmp.code(b, 0, Icmp.CODE_FRAG_NEEDED);
        Icmp.checksum(b, 0, 0xbeef);
        Icmp.identifier(b, 0, 0xfffe);
        Icmp.nextHopMtu(b, 0, 1450);
        assertEquals(3, Icmp.type(b, 0));
        assertEquals(4, Icmp.code(b, 0));
        assertEquals(0xbeef, Icmp.checksum(b, 0));
        assertEquals(0xfffe, Icmp.identifier(b, 0));
        assertEquals(1450, Icmp.nextHopMtu(b, 0));
        Icmp.sequence(b, 0, 65535);
        assertEquals(65535, Icmp.sequence(b, 0));
        Icmp.type(b, 0, 255);
        assertEquals(255, Icmp.type(b, 0));
    }

    @Test
    void classification() {
        assertTrue(Icmp.isEcho(0));
        assertTrue(Icmp.isEcho(8));
        for (int t : new int[] {3, 4, 5, 11, 12}) {
            assertTrue(Icmp.isError(t), "type " + t);
            assertFalse(Icmp.isEcho(t));
        }
        for (int t = 0; t < 256; t++) {
            if (t != 3 && t != 4 && t != 5 && t != 11 && t != 12) {
                assertFalse(Icmp.isError(t), "type " + t);
            }
            if (t != 0 && t != 8) {
                assertFalse(Icmp.isEcho(t));
            }
        }
    }

    @Test
    void hostileInput() {
        Hostile.Accessors all = (b, off, len) -> {
            Icmp.type(b, off);
            Icmp.code(b, off);
            Icmp.checksum(b, off);
            Icmp.identifier(b, off);
            Icmp.sequence(b, off);
            Icmp.nextHopMtu(b, off);
            Checksum.verifyIcmp(b, off, len);
        };
        byte[] icmp = Hostile.slice(FRAME, ICMP);
        assertEquals(PacketError.ICMP_TRUNCATED, Hostile.run(icmp, 0, 7, 0, Icmp::check, all));
        assertEquals(2 * (icmp.length - 7), Hostile.truncations(icmp, 0, icmp.length, Icmp::check, all));
        assertTrue(Hostile.fuzz(792, 20_000, icmp, Icmp::check, all, null) > 0);
    }
}
