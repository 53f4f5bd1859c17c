package org.egressgw.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

class UdpTest {
    private static final byte[] FRAME = TestBytes.hex(TestBytes.UDP_DNS);
    private static final int UDP = 34;

    @Test
    void gettersOnRealDatagram() {
        UnsafeBuffer b = TestBytes.buffer(FRAME);
        assertEquals(PacketError.NONE, Ipv4.check(b, 14, FRAME.length - 14));
        int l4len = Ipv4.totalLength(b, 14) - Ipv4.headerLength(b, 14);
        assertEquals(PacketError.NONE, Udp.check(b, UDP, l4len));
        assertEquals(51234, Udp.srcPort(b, UDP));
        assertEquals(53, Udp.dstPort(b, UDP));
        assertEquals(36, Udp.length(b, UDP));
        assertEquals(0x7085, Udp.checksum(b, UDP));

        UnsafeBuffer vx = TestBytes.buffer(TestBytes.hex(TestBytes.VXLAN_TCP_SYN));
        int outer = TestBytes.VXLAN_OUTER_UDP;
        assertEquals(PacketError.NONE, Udp.check(vx, outer, 90));
        assertEquals(45678, Udp.srcPort(vx, outer));
        assertEquals(Vxlan.DEFAULT_PORT, Udp.dstPort(vx, outer));
        assertEquals(90, Udp.length(vx, outer));
        assertEquals(0, Udp.checksum(vx, outer));
    }

    @Test
    void settersRoundTrip() {
        UnsafeBuffer b = new UnsafeBuffer(new byte[8]);
        Udp.srcPort(b, 0, 65535);
        Udp.dstPort(b, 0, 32768);
        Udp.length(b, 0, 65535);
        Udp.checksum(b, 0, 0xffff);
        assertEquals(65535, Udp.srcPort(b, 0));
        assertEquals(32768, Udp.dstPort(b, 0));
        assertEquals(65535, Udp.length(b, 0));
        assertEquals(0xffff, Udp.checksum(b, 0));
    }

    @Test
    void checkReasons() {
        UnsafeBuffer b = TestBytes.buffer(FRAME);
        assertEquals(PacketError.UDP_TRUNCATED, Udp.check(b, UDP, 7));
        assertEquals(PacketError.UDP_BAD_LENGTH, Udp.check(b, UDP, 35));
        assertEquals(PacketError.NONE, Udp.check(b, UDP, 36));
        Udp.length(b, UDP, 7);
        assertEquals(PacketError.UDP_BAD_LENGTH, Udp.check(b, UDP, 36));
    }

    @Test
    void hostileInput() {
        Hostile.Accessors all = (b, off, len) -> {
            Udp.srcPort(b, off);
            Udp.dstPort(b, off);
            Udp.checksum(b, off);
            int length = Udp.length(b, off);
            assertTrue(length >= 8 && length <= len);
            Checksum.sum(b, off, length, 0);
        };
        byte[] udp = Hostile.slice(FRAME, UDP);
        assertEquals(2, Hostile.truncations(udp, 0, udp.length, Udp::check, all));
        assertTrue(Hostile.fuzz(768, 30_000, udp, Udp::check, all, null) > 100);
    }
}
