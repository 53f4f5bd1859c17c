package org.egressgw.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Random;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

class ChecksumTest {

    /** Slow reference: RFC 1071 over bytes, one 16-bit word at a time, folding as it goes. */
    private static int referenceFold(byte[] data, int off, int len, long initial) {
        long s = initial;
        for (int i = 0; i < len; i += 2) {
            int hi = data[off + i] & 0xff;
            int lo = i + 1 < len ? data[off + i + 1] & 0xff : 0;
            s += (hi << 8) | lo;
            while ((s >>> 16) != 0) {
                s = (s & 0xffff) + (s >>> 16);
            }
        }
        while ((s >>> 16) != 0) {
            s = (s & 0xffff) + (s >>> 16);
        }
        return (int) s;
    }

    private static int referenceChecksum(byte[] data, int off, int len) {
        return ~referenceFold(data, off, len, 0) & 0xffff;
    }

    /** Reference checksum over a copy with the 16-bit field at {@code field} zeroed. */
    private static int referenceWithFieldZero(byte[] data, int off, int len, int field, long initial) {
        byte[] copy = data.clone();
        copy[off + field] = 0;
        copy[off + field + 1] = 0;
        return ~referenceFold(copy, off, len, initial) & 0xffff;
    }

    private static long referencePseudo(int src, int dst, int proto, int len) {
        return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len;
    }

    @Test
    void sumMatchesReferenceForAllSizesAtOddAndEvenOffsets() {
        Random rnd = new Random(1071);
        for (int len = 0; len <= 1024; len++) {
            for (int off = 0; off < 4; off++) {
                byte[] bytes = new byte[off + len];
                rnd.nextBytes(bytes);
                if (len % 7 == 0) {
                    // Runs of 0xff push every word to the maximum and exercise carries.
                    java.util.Arrays.fill(bytes, (byte) 0xff);
                }
                // Exactly sized, so a read past the end would throw.
                UnsafeBuffer b = new UnsafeBuffer(bytes);
                int expected = referenceChecksum(bytes, off, len);
                long s = Checksum.sum(b, off, len, 0);
                assertEquals(expected, Checksum.finish(s), "len " + len + " off " + off);
                assertEquals(referenceFold(bytes, off, len, 0), Checksum.fold(s), "len " + len + " off " + off);

                // Chaining at any even split point gives the same sum.
                int split = len == 0 ? 0 : (rnd.nextInt(len + 1) & ~1);
                long chained = Checksum.sum(b, off + split, len - split, Checksum.sum(b, off, split, 0));
                assertEquals(Checksum.fold(s), Checksum.fold(chained), "split " + split);
            }
        }
    }

    @Test
    void sumWorksOnOffHeapBuffers() {
        Random rnd = new Random(7);
        ByteBuffer direct = ByteBuffer.allocateDirect(1500);
        UnsafeBuffer b = new UnsafeBuffer(direct);
        byte[] bytes = new byte[1500];
        rnd.nextBytes(bytes);
        b.putBytes(0, bytes);
        for (int i = 0; i < 200; i++) {
            int off = rnd.nextInt(100);
            int len = rnd.nextInt(1400);
            assertEquals(referenceChecksum(bytes, off, len), Checksum.finish(Checksum.sum(b, off, len, 0)));
        }
    }

    @Test
    void rfc1071Example() {
        // RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (folded), checksum 220d.
        UnsafeBuffer b = new UnsafeBuffer(TestBytes.hex("0001f203f4f5f6f7"));
        long s = Checksum.sum(b, 0, 8, 0);
        // The unfolded value is only defined modulo 0xffff (words are added 32 bits at a time).
        assertEquals(0x2ddf0L % 0xffff, s % 0xffff);
        assertEquals(0xddf2, Checksum.fold(s));
        assertEquals(0x220d, Checksum.finish(s));
    }

    @Test
    void knownIpv4HeaderVector() {
        // A classic example header 192.168.0.1 -> 192.168.0.199, UDP, checksum b861.
        UnsafeBuffer b = new UnsafeBuffer(TestBytes.hex("45000073000040004011b861c0a80001c0a800c7"));
        assertEquals(0xb861, Checksum.ipv4Header(b, 0, 20));
        assertTrue(Checksum.verifyIpv4Header(b, 0, 20));
        b.putByte(19, (byte) 0xc8);
        assertFalse(Checksum.verifyIpv4Header(b, 0, 20));
    }

    @Test
    void foldAndFinishEdges() {
        assertEquals(0, Checksum.fold(0));
        assertEquals(0xffff, Checksum.finish(0));
        assertEquals(0xffff, Checksum.fold(0xffff));
        assertEquals(0xffff, Checksum.fold(0x1fffeL));
        assertEquals(1, Checksum.fold(0x10000L));
        assertEquals(0xffff, Checksum.fold(-1L)); // 2^64-1 is a multiple of 0xffff
        assertEquals(0, Checksum.finish(0xffff));
        Random rnd = new Random(3);
        for (int i = 0; i < 10_000; i++) {
            long v = rnd.nextLong() >>> rnd.nextInt(64);
            long s = v;
            while ((s >>> 16) != 0) {
                s = (s & 0xffff) + (s >>> 16);
            }
            assertEquals((int) s, Checksum.fold(v), Long.toHexString(v));
        }
    }

    @Test
    void pseudoHeaderMatchesReference() {
        Random rnd = new Random(11);
        for (int i = 0; i < 10_000; i++) {
            int src = rnd.nextInt();
            int dst = rnd.nextInt();
            int proto = rnd.nextInt(256);
            int len = rnd.nextInt(65536);
            assertEquals(referencePseudo(src, dst, proto, len), Checksum.pseudoHeader(src, dst, proto, len));
        }
    }

    @Test
    void transportAndUdpMatchReferenceWithFieldTreatedAsZero() {
        Random rnd = new Random(768);
        for (int i = 0; i < 2_000; i++) {
            int len = 20 + rnd.nextInt(200);
            int off = rnd.nextInt(3);
            byte[] bytes = new byte[off + len];
            rnd.nextBytes(bytes);
            UnsafeBuffer b = new UnsafeBuffer(bytes);
            int src = rnd.nextInt();
            int dst = rnd.nextInt();

            int tcp = Checksum.transport(b, off, len, src, dst, Ipv4.PROTO_TCP);
            assertEquals(referenceWithFieldZero(bytes, off, len, 16, referencePseudo(src, dst, 6, len)), tcp);
            b.putShort(off + 16, (short) tcp, java.nio.ByteOrder.BIG_ENDIAN);
            assertTrue(Checksum.verifyTransport(b, off, len, src, dst, Ipv4.PROTO_TCP));
            b.putByte(off + len - 1, (byte) (bytes[off + len - 1] ^ 0x01));
            assertFalse(Checksum.verifyTransport(b, off, len, src, dst, Ipv4.PROTO_TCP));

            int udpRaw = referenceWithFieldZero(bytes, off, len, 6, referencePseudo(src, dst, 17, len));
            int udp = Checksum.udp(b, off, len, src, dst);
            assertEquals(udpRaw == 0 ? 0xffff : udpRaw, udp);
            assertEquals(udpRaw, Checksum.transport(b, off, len, src, dst, Ipv4.PROTO_UDP));
            b.putShort(off + 6, (short) udp, java.nio.ByteOrder.BIG_ENDIAN);
            assertTrue(Checksum.verifyTransport(b, off, len, src, dst, Ipv4.PROTO_UDP));
            b.putShort(off + 6, (short) 0, java.nio.ByteOrder.BIG_ENDIAN);
            assertTrue(Checksum.verifyTransport(b, off, len, src, dst, Ipv4.PROTO_UDP), "UDP checksum 0 means none");
        }
    }

    @Test
    void realPacketsVerify() {
        UnsafeBuffer b = TestBytes.buffer(TestBytes.hex(TestBytes.VXLAN_TCP_SYN));
        assertTrue(Checksum.verifyIpv4Header(b, TestBytes.VXLAN_OUTER_IP, 20));
        assertTrue(Checksum.verifyIpv4Header(b, TestBytes.VXLAN_INNER_IP, 20));
        assertEquals(0x6372, Checksum.ipv4Header(b, TestBytes.VXLAN_OUTER_IP, 20));
        assertEquals(0x9485, Checksum.ipv4Header(b, TestBytes.VXLAN_INNER_IP, 20));
        int src = TestBytes.ip(10, 244, 1, 23);
        int dst = TestBytes.ip(203, 0, 113, 10);
        assertEquals(0x62f0, Checksum.transport(b, TestBytes.VXLAN_INNER_TCP, 40, src, dst, Ipv4.PROTO_TCP));
        assertTrue(Checksum.verifyTransport(b, TestBytes.VXLAN_INNER_TCP, 40, src, dst, Ipv4.PROTO_TCP));

        UnsafeBuffer u = TestBytes.buffer(TestBytes.hex(TestBytes.UDP_DNS));
        int usrc = TestBytes.ip(192, 0, 2, 2);
        int udst = TestBytes.ip(198, 51, 100, 53);
        assertEquals(0x7085, Checksum.udp(u, 34, 36, usrc, udst));
        assertTrue(Checksum.verifyTransport(u, 34, 36, usrc, udst, Ipv4.PROTO_UDP));

        UnsafeBuffer icmp = TestBytes.buffer(TestBytes.hex(TestBytes.ICMP_ECHO));
        assertEquals(0x0423, Checksum.icmp(icmp, 34, 64));
        assertTrue(Checksum.verifyIcmp(icmp, 34, 64));
    }

    @Test
    void rfc1624Example() {
        // RFC 1624 section 4: HC = 0xdd2f, m = 0x5555 -> m' = 0x3285 gives 0x0000 with eqn. 3.
        assertEquals(0x0000, Checksum.update16(0xdd2f, 0x5555, 0x3285));
        // and back again
        assertEquals(0xdd2f, Checksum.update16(0x0000, 0x3285, 0x5555));
    }

    @Test
    void update16MatchesFullRecomputationForEveryNewValue() {
        // An IPv4 header; rewrite the identification word with every possible value, including
        // the +0/-0 pair 0x0000/0xffff.
        byte[] bytes = TestBytes.hex("45000073000040004011b861c0a80001c0a800c7");
        UnsafeBuffer b = new UnsafeBuffer(bytes);
        int base = Ipv4.headerChecksum(b, 0);
        for (int v = 0; v <= 0xffff; v++) {
            Ipv4.identification(b, 0, v);
            int full = Checksum.ipv4Header(b, 0, 20);
            assertEquals(full, Checksum.update16(base, 0, v), "id " + v);
            assertEquals(full, Checksum.update16(Checksum.update16(base, 0, 0xffff), 0xffff, v), "via 0xffff, id " + v);
        }
    }

    @Test
    void updateUdpMatchesFullRecomputationForEveryNewValue() {
        byte[] bytes = TestBytes.hex(TestBytes.UDP_DNS);
        UnsafeBuffer b = new UnsafeBuffer(bytes);
        int src = TestBytes.ip(192, 0, 2, 2);
        int dst = TestBytes.ip(198, 51, 100, 53);
        int udp = 34;
        int base = Udp.checksum(b, udp);
        int oldPort = Udp.srcPort(b, udp);
        int zeroSeen = 0;
        for (int v = 0; v <= 0xffff; v++) {
            Udp.srcPort(b, udp, v);
            int full = Checksum.udp(b, udp, 36, src, dst);
            if (full == 0xffff) {
                zeroSeen++;
            }
            assertEquals(full, Checksum.updateUdp16(base, oldPort, v), "port " + v);
            assertEquals(0, Checksum.updateUdp16(0, oldPort, v), "no checksum stays no checksum");
        }
        assertTrue(zeroSeen > 0, "a computed 0 (sent as 0xffff) must have been exercised");
    }

    @Test
    void incrementalUpdatesTrackFullRecomputationOverManyRandomRewrites() {
        Random rnd = new Random(1624);
        UnsafeBuffer tcpPacket = TestBytes.buffer(TestBytes.hex(TestBytes.VXLAN_TCP_SYN));
        UnsafeBuffer udpPacket = TestBytes.buffer(TestBytes.hex(TestBytes.UDP_DNS));
        int ip = TestBytes.VXLAN_INNER_IP;
        int tcp = TestBytes.VXLAN_INNER_TCP;
        for (int i = 0; i < 50_000; i++) {
            int newAddr = edgy(rnd);
            int newPort = edgy(rnd) & 0xffff;
            if (rnd.nextBoolean()) {
                // SNAT of the source: IPv4 header and TCP pseudo-header both change.
                int oldAddr = Ipv4.srcAddress(tcpPacket, ip);
                int oldPort = Tcp.srcPort(tcpPacket, tcp);
                Ipv4.rewriteSrcAddress(tcpPacket, ip, newAddr);
                int c = Checksum.update32(Tcp.checksum(tcpPacket, tcp), oldAddr, newAddr);
                Tcp.srcPort(tcpPacket, tcp, newPort);
                Tcp.checksum(tcpPacket, tcp, Checksum.update16(c, oldPort, newPort));
            } else {
                int oldAddr = Ipv4.dstAddress(tcpPacket, ip);
                int oldPort = Tcp.dstPort(tcpPacket, tcp);
                Ipv4.rewriteDstAddress(tcpPacket, ip, newAddr);
                int c = Checksum.update32(Tcp.checksum(tcpPacket, tcp), oldAddr, newAddr);
                Tcp.dstPort(tcpPacket, tcp, newPort);
                Tcp.checksum(tcpPacket, tcp, Checksum.update16(c, oldPort, newPort));
            }
            assertEquals(Checksum.ipv4Header(tcpPacket, ip, 20), Ipv4.headerChecksum(tcpPacket, ip), "step " + i);
            assertEquals(Checksum.transport(tcpPacket, tcp, 40, Ipv4.srcAddress(tcpPacket, ip),
                    Ipv4.dstAddress(tcpPacket, ip), Ipv4.PROTO_TCP), Tcp.checksum(tcpPacket, tcp), "step " + i);

            int oldAddr = Ipv4.srcAddress(udpPacket, 14);
            int oldPort = Udp.srcPort(udpPacket, 34);
            Ipv4.rewriteSrcAddress(udpPacket, 14, newAddr);
            int c = Checksum.updateUdp32(Udp.checksum(udpPacket, 34), oldAddr, newAddr);
            Udp.srcPort(udpPacket, 34, newPort);
            Udp.checksum(udpPacket, 34, Checksum.updateUdp16(c, oldPort, newPort));
            assertEquals(Checksum.ipv4Header(udpPacket, 14, 20), Ipv4.headerChecksum(udpPacket, 14), "step " + i);
            assertEquals(Checksum.udp(udpPacket, 34, 36, Ipv4.srcAddress(udpPacket, 14), Ipv4.dstAddress(udpPacket, 14)),
                    Udp.checksum(udpPacket, 34), "step " + i);
        }
    }

    @Test
    void update32MatchesTwoUpdate16() {
        Random rnd = new Random(32);
        for (int i = 0; i < 100_000; i++) {
            int c = rnd.nextInt(0xffff);
            int o = edgy(rnd);
            int n = edgy(rnd);
            assertEquals(Checksum.update16(Checksum.update16(c, o >>> 16, n >>> 16), o & 0xffff, n & 0xffff),
                    Checksum.update32(c, o, n));
        }
    }

    /** Random values biased towards the 16-bit +0/-0 patterns. */
    private static int edgy(Random rnd) {
        switch (rnd.nextInt(6)) {
            case 0: return 0;
            case 1: return -1;
            case 2: return 0x0000ffff;
            case 3: return 0xffff0000;
            default: return rnd.nextInt();
        }
    }
}
