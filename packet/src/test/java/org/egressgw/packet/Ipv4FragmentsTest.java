package org.egressgw.packet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * Fragments put back together by a plain reference reassembly (copy each payload to offset × 8) give the original
 * payload, over random packets with and without options, random MTUs, and packets that are fragments themselves.
 */
class Ipv4FragmentsTest {
    /** A packet of {@code hl} header bytes (options: copied security-like option, record-route-like option) and payload. */
    private static int packet(UnsafeBuffer b, int off, int hl, int payload, int flags, Random rnd) {
        b.setMemory(off, hl, (byte) 0);
        Ipv4.versionAndHeaderLength(b, off, hl);
        Ipv4.totalLength(b, off, hl + payload);
        Ipv4.identification(b, off, rnd.nextInt(0x10000));
        Ipv4.flagsAndFragment(b, off, flags);
        Ipv4.ttl(b, off, 63);
        Ipv4.protocol(b, off, Ipv4.PROTO_UDP);
        Ipv4.srcAddress(b, off, Ipv4Address.parse("203.0.113.5"));
        Ipv4.dstAddress(b, off, Ipv4Address.parse("10.244.1.10"));
        int o = off + Ipv4.MIN_HEADER_LENGTH;
        int end = off + hl;
        while (o < end) {
            int room = end - o;
            if (room >= 4 && rnd.nextBoolean()) {
                int len = Math.min(room, 4 + 4 * rnd.nextInt(3));
                b.putByte(o, (byte) (rnd.nextBoolean() ? 0x82 : 0x07)); // copied (security) or not (record route)
                b.putByte(o + 1, (byte) len);
                for (int i = 2; i < len; i++) {
                    b.putByte(o + i, (byte) rnd.nextInt(256));
                }
                o += len;
            } else {
                b.putByte(o++, (byte) 1); // no-operation
            }
        }
        for (int i = 0; i < payload; i++) {
            b.putByte(off + hl + i, (byte) rnd.nextInt(256));
        }
        Ipv4.updateHeaderChecksum(b, off);
        return hl + payload;
    }

    @Test
    void fragmentsReassembleToTheOriginal() {
        Random rnd = new Random(42);
        UnsafeBuffer src = new UnsafeBuffer(new byte[70_000]);
        UnsafeBuffer frag = new UnsafeBuffer(new byte[70_000]);
        for (int round = 0; round < 3000; round++) {
            int hl = 20 + 4 * rnd.nextInt(11);
            int payload = rnd.nextInt(9000);
            boolean isFragment = rnd.nextInt(4) == 0;
            int origOffset8 = isFragment ? rnd.nextInt(100) : 0;
            boolean origMf = isFragment && rnd.nextBoolean();
            int flags = origOffset8 | (origMf ? Ipv4.FLAG_MF : 0);
            int ip = 1 + rnd.nextInt(7); // odd offsets too
            int total = packet(src, ip, hl, payload, flags, rnd);
            assertEquals(0, Ipv4.check(src, ip, total));
            int mtu = 68 + rnd.nextInt(1500);
            int n = Ipv4Fragments.count(src, ip, mtu);
            if (total <= mtu) {
                assertEquals(1, n);
                continue;
            }
            if (n == 0) {
                assertTrue(((mtu - hl) & ~7) < 8 || ((mtu - Ipv4Fragments.laterHeaderLength(src, ip)) & ~7) < 8);
                continue;
            }
            byte[] reassembled = new byte[payload];
            int covered = 0;
            for (int k = 0; k < n; k++) {
                int len = Ipv4Fragments.write(src, ip, mtu, k, frag, 3);
                assertTrue(len <= mtu, "fragment " + k + " of " + n + ": " + len + " > " + mtu);
                assertEquals(0, Ipv4.check(frag, 3, len), "a valid IPv4 packet");
                assertTrue(Checksum.verifyIpv4Header(frag, 3, Ipv4.headerLength(frag, 3)));
                int fhl = Ipv4.headerLength(frag, 3);
                assertEquals(k == 0 ? hl : Ipv4Fragments.laterHeaderLength(src, ip), fhl);
                int fragOffset = Ipv4.fragmentOffset(frag, 3) - origOffset8 * 8;
                int fragPayload = len - fhl;
                boolean last = k == n - 1;
                assertEquals(last ? origMf : true, Ipv4.moreFragments(frag, 3), "MF of fragment " + k);
                if (!last) {
                    assertEquals(0, fragPayload % 8, "a multiple of 8 payload bytes");
                }
                assertEquals(Ipv4.identification(src, ip), Ipv4.identification(frag, 3));
                assertEquals(covered, fragOffset, "fragments follow each other");
                frag.getBytes(3 + fhl, reassembled, fragOffset, fragPayload);
                covered += fragPayload;
                if (k == 0) {
                    assertArrayEquals(Arrays.copyOfRange(src.byteArray(), ip + 20, ip + hl),
                            Arrays.copyOfRange(frag.byteArray(), 3 + 20, 3 + hl), "the first fragment keeps every option");
                } else {
                    for (int o = 3 + 20; o < 3 + fhl;) {
                        int type = frag.getByte(o) & 0xff;
                        if (type == 0) {
                            break;
                        }
                        assertTrue((type & 0x80) != 0 || type == 1, "only copied options after the first: " + type);
                        o += type == 1 ? 1 : frag.getByte(o + 1) & 0xff;
                    }
                }
            }
            assertEquals(payload, covered);
            assertArrayEquals(Arrays.copyOfRange(src.byteArray(), ip + hl, ip + hl + payload), reassembled);
        }
    }

    @Test
    void aHeaderTooBigForTheMtuCannotBeCut() {
        UnsafeBuffer b = new UnsafeBuffer(new byte[2048]);
        int total = packet(b, 0, 60, 1000, 0, new Random(1));
        assertEquals(0, Ipv4Fragments.count(b, 0, 64), "60 header bytes leave 4 payload bytes in a 64-byte MTU");
        assertEquals(1, Ipv4Fragments.count(b, 0, total));
    }

    /**
     * Options as a hostile sender writes them (any type, any length byte, cut short by the header's end): the walk
     * always ends, a later fragment's header never grows beyond the original's, and cutting never throws.
     */
    @Test
    void hostileOptionsAreWalkedSafely() {
        Random rnd = new Random(0xF4A6_0001L);
        UnsafeBuffer src = new UnsafeBuffer(new byte[2048]);
        UnsafeBuffer dst = new UnsafeBuffer(new byte[2048]);
        for (int i = 0; i < 20_000; i++) {
            int hl = 24 + 4 * rnd.nextInt(10);
            int total = packet(src, 0, hl, 1 + rnd.nextInt(1400), 0, rnd);
            for (int o = Ipv4.MIN_HEADER_LENGTH; o < hl; o++) {
                if (rnd.nextInt(3) == 0) {
                    src.putByte(o, (byte) rnd.nextInt(256));
                }
            }
            int later = Ipv4Fragments.laterHeaderLength(src, 0);
            assertTrue(later >= Ipv4.MIN_HEADER_LENGTH && later <= hl && later % 4 == 0, "case " + i + ": " + later);
            int mtu = 68 + rnd.nextInt(1500);
            int n = Ipv4Fragments.count(src, 0, mtu);
            for (int k = 0; k < n && n > 1; k++) {
                int len = Ipv4Fragments.write(src, 0, mtu, k, dst, 0);
                assertTrue(len <= mtu && len <= total, "case " + i + " fragment " + k + ": " + len);
            }
        }
    }
}
