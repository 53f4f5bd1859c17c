package org.egressgw.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

class Ipv4Test {
    private static final byte[] FRAME = TestBytes.hex(TestBytes.VXLAN_TCP_SYN);
    private static final int OUTER = TestBytes.VXLAN_OUTER_IP;
    private static final int INNER = TestBytes.VXLAN_INNER_IP;

    @Test
    void gettersOnRealHeaders() {
        UnsafeBuffer b = TestBytes.buffer(FRAME);
        assertEquals(PacketError.NONE, Ipv4.check(b, OUTER, FRAME.length - OUTER));
        assertEquals(4, Ipv4.version(b, OUTER));
        assertEquals(20, Ipv4.headerLength(b, OUTER));
        assertEquals(0, Ipv4.tos(b, OUTER));
        assertEquals(110, Ipv4.totalLength(b, OUTER));
        assertEquals(0, Ipv4.identification(b, OUTER));
        assertFalse(Ipv4.dontFragment(b, OUTER));
        assertFalse(Ipv4.moreFragments(b, OUTER));
        assertEquals(0, Ipv4.fragmentOffset(b, OUTER));
        assertFalse(Ipv4.isFragment(b, OUTER));
        assertEquals(64, Ipv4.ttl(b, OUTER));
        assertEquals(Ipv4.PROTO_UDP, Ipv4.protocol(b, OUTER));
        assertEquals(0x6372, Ipv4.headerChecksum(b, OUTER));
        assertEquals(Ipv4Address.parse("10.0.1.5"), Ipv4.srcAddress(b, OUTER));
        assertEquals(Ipv4Address.parse("10.0.2.9"), Ipv4.dstAddress(b, OUTER));

        assertEquals(PacketError.NONE, Ipv4.check(b, INNER, FRAME.length - INNER));
        assertEquals(60, Ipv4.totalLength(b, INNER));
        assertEquals(0x5e21, Ipv4.identification(b, INNER));
        assertTrue(Ipv4.dontFragment(b, INNER));
        assertFalse(Ipv4.isFragment(b, INNER));
        assertEquals(Ipv4.PROTO_TCP, Ipv4.protocol(b, INNER));
        assertEquals(0x9485, Ipv4.headerChecksum(b, INNER));
        assertEquals(Ipv4Address.parse("10.244.1.23"), Ipv4.srcAddress(b, INNER));
        assertEquals(Ipv4Address.parse("203.0.113.10"), Ipv4.dstAddress(b, INNER));
    }

    @Test
    void settersRoundTripAndUpdateHeaderChecksumRestoresValidity() {
        UnsafeBuffer b = TestBytes.buffer(FRAME);
        int len = FRAME.length - INNER;
        Ipv4.tos(b, INNER, 0xb8);
        Ipv4.totalLength(b, INNER, 59);
        Ipv4.identification(b, INNER, 0xfffe);
        Ipv4.flagsAndFragment(b, INNER, Ipv4.FLAG_MF | 0x1fff);
        Ipv4.ttl(b, INNER, 255);
        Ipv4.protocol(b, INNER, Ipv4.PROTO_ICMP);
        Ipv4.srcAddress(b, INNER, 0xc6336401);
        Ipv4.dstAddress(b, INNER, 0xcb007101);
        assertEquals(PacketError.IPV4_BAD_CHECKSUM, Ipv4.check(b, INNER, len));
        Ipv4.updateHeaderChecksum(b, INNER);
        assertEquals(PacketError.NONE, Ipv4.check(b, INNER, len));
        assertEquals(0xb8, Ipv4.tos(b, INNER));
        assertEquals(59, Ipv4.totalLength(b, INNER));
        assertEquals(0xfffe, Ipv4.identification(b, INNER));
        assertTrue(Ipv4.moreFragments(b, INNER));
        assertFalse(Ipv4.dontFragment(b, INNER));
        assertEquals(0x1fff * 8, Ipv4.fragmentOffset(b, INNER));
        assertTrue(Ipv4.isFragment(b, INNER));
        assertEquals(255, Ipv4.ttl(b, INNER));
        assertEquals(Ipv4.PROTO_ICMP, Ipv4.protocol(b, INNER));
        assertEquals(0xc6336401, Ipv4.srcAddress(b, INNER));
        assertEquals(0xcb007101, Ipv4.dstAddress(b, INNER));

        Ipv4.flagsAndFragment(b, INNER, 0x0001);
        assertTrue(Ipv4.isFragment(b, INNER));
        assertFalse(Ipv4.moreFragments(b, INNER));
        assertEquals(8, Ipv4.fragmentOffset(b, INNER));
        Ipv4.headerChecksum(b, INNER, 0x1234);
        assertEquals(0x1234, Ipv4.headerChecksum(b, INNER));
    }

    @Test
    void headerWithOptions() {
        // 24-byte header with a Router Alert option (94 04 00 00), then 4 payload bytes.
        UnsafeBuffer b = new UnsafeBuffer(new byte[28]);
        Ipv4.versionAndHeaderLength(b, 0, 24);
        Ipv4.totalLength(b, 0, 28);
        Ipv4.ttl(b, 0, 1);
        Ipv4.protocol(b, 0, 2);
        Ipv4.srcAddress(b, 0, TestBytes.ip(192, 0, 2, 9));
        Ipv4.dstAddress(b, 0, TestBytes.ip(224, 0, 0, 22));
        b.putInt(20, 0x94040000, java.nio.ByteOrder.BIG_ENDIAN);
        Ipv4.updateHeaderChecksum(b, 0);
        assertEquals(4, Ipv4.version(b, 0));
        assertEquals(24, Ipv4.headerLength(b, 0));
        assertEquals(PacketError.NONE, Ipv4.check(b, 0, 28));
        assertEquals(PacketError.IPV4_BAD_TOTAL_LENGTH, Ipv4.check(b, 0, 27));
        assertEquals(PacketError.IPV4_BAD_IHL, Ipv4.check(b, 0, 23));
    }

    @Test
    void checkReportsEachReason() {
        int len = FRAME.length - INNER;
        assertEquals(PacketError.IPV4_TRUNCATED, check(bytes -> { }, 19));
        assertEquals(PacketError.IPV4_BAD_VERSION, check(bytes -> bytes[0] = 0x65, len));
        assertEquals(PacketError.IPV4_BAD_IHL, check(bytes -> bytes[0] = 0x44, len));
        assertEquals(PacketError.IPV4_BAD_IHL, check(bytes -> bytes[0] = 0x4f, 40));
        assertEquals(PacketError.IPV4_BAD_TOTAL_LENGTH, check(bytes -> bytes[3] = 19, len));
        assertEquals(PacketError.IPV4_BAD_TOTAL_LENGTH, check(bytes -> { }, 59));
        assertEquals(PacketError.IPV4_BAD_CHECKSUM, check(bytes -> bytes[8] = 63, len));
        assertEquals(PacketError.NONE, check(bytes -> { }, len));
    }

    private static int check(java.util.function.Consumer<byte[]> corrupt, int len) {
        byte[] bytes = Hostile.slice(FRAME, INNER);
        corrupt.accept(bytes);
        return Ipv4.check(new UnsafeBuffer(bytes, 0, len), 0, len);
    }

    @Test
    void incrementalRewritesKeepTheHeaderValid() {
        UnsafeBuffer b = TestBytes.buffer(FRAME);
        int len = FRAME.length - INNER;
        Ipv4.rewriteSrcAddress(b, INNER, TestBytes.ip(203, 0, 113, 200));
        assertEquals(PacketError.NONE, Ipv4.check(b, INNER, len));
        assertEquals(TestBytes.ip(203, 0, 113, 200), Ipv4.srcAddress(b, INNER));
        Ipv4.rewriteDstAddress(b, INNER, TestBytes.ip(198, 51, 100, 1));
        assertEquals(PacketError.NONE, Ipv4.check(b, INNER, len));
        assertEquals(TestBytes.ip(198, 51, 100, 1), Ipv4.dstAddress(b, INNER));
        for (int ttl = 63; ttl >= 0; ttl--) {
            assertEquals(ttl, Ipv4.decrementTtl(b, INNER));
            assertEquals(ttl, Ipv4.ttl(b, INNER));
            assertEquals(Ipv4.PROTO_TCP, Ipv4.protocol(b, INNER));
            assertEquals(Checksum.ipv4Header(b, INNER, 20), Ipv4.headerChecksum(b, INNER));
        }
        assertEquals(0, Ipv4.decrementTtl(b, INNER));
        assertEquals(PacketError.NONE, Ipv4.check(b, INNER, len));
    }

    static final Hostile.Accessors ALL = (b, off, len) -> {
        Ipv4.version(b, off);
        Ipv4.tos(b, off);
        Ipv4.identification(b, off);
        Ipv4.dontFragment(b, off);
        Ipv4.moreFragments(b, off);
        Ipv4.fragmentOffset(b, off);
        Ipv4.isFragment(b, off);
        Ipv4.ttl(b, off);
        Ipv4.protocol(b, off);
        Ipv4.headerChecksum(b, off);
        Ipv4.srcAddress(b, off);
        Ipv4.dstAddress(b, off);
        int hl = Ipv4.headerLength(b, off);
        int total = Ipv4.totalLength(b, off);
        assertTrue(hl >= 20 && hl <= total && total <= len);
        Checksum.ipv4Header(b, off, hl);
        Checksum.sum(b, off + hl, total - hl, 0);
    };

    static final Hostile.Fixer FIX_CHECKSUM = (bytes, off, len) -> {
        if (len >= 20) {
            int hl = (bytes[off] & 0x0f) * 4;
            if (hl >= 20 && hl <= len) {
                UnsafeBuffer b = new UnsafeBuffer(bytes);
                Ipv4.headerChecksum(b, off, Checksum.ipv4Header(b, off, hl));
            }
        }
    };

    @Test
    void hostileInput() {
        byte[] ip = Hostile.slice(FRAME, INNER);
        assertEquals(2, Hostile.truncations(ip, 0, ip.length, Ipv4::check, ALL), "only the full length passes");
        byte[] outer = Hostile.slice(FRAME, OUTER);
        assertEquals(2, Hostile.truncations(outer, 0, outer.length, Ipv4::check, ALL));
        assertTrue(Hostile.fuzz(791, 50_000, ip, Ipv4::check, ALL, FIX_CHECKSUM) > 100);
    }
}
