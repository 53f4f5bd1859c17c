package org.egressgw.nat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.Random;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.packet.Checksum;
import org.egressgw.packet.FrameBuilder;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.PacketError;
import org.egressgw.packet.Tcp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link MssClamp}: the clamp itself, checksums verified by full recomputation, malformed option
 * lists, and a fuzz compared with a slow reference (own option walk, checksum from scratch). Every
 * buffer ends where the packet ends, so a read past the TCP header would throw.
 */
class MssClampTest {
    private static final int POD = Ipv4Address.parse("10.244.1.10");
    private static final int SERVER = Ipv4Address.parse("198.51.100.7");
    private static final int LIMIT = 1410;
    private static final int NOP = Tcp.OPTION_NOP;
    private static final int MSS = Tcp.OPTION_MSS;

    /** A SYN built by FrameBuilder (MSS option when {@code mss > 0}) in a buffer of exactly its length. */
    static UnsafeBuffer syn(int off, int mss, int payload, int flags) {
        int len = Ipv4.MIN_HEADER_LENGTH + Tcp.MIN_HEADER_LENGTH + (mss > 0 ? 4 : 0) + payload;
        UnsafeBuffer b = new UnsafeBuffer(new byte[off + len]);
        assertEquals(len, FrameBuilder.tcp(b, off, POD, SERVER, 40000, 443, flags, mss, payload));
        return b;
    }

    /** A SYN whose option area is exactly {@code options} (length a multiple of 4), checksums valid. */
    static UnsafeBuffer synWithOptions(int off, int[] options, int payload) {
        int len = Ipv4.MIN_HEADER_LENGTH + Tcp.MIN_HEADER_LENGTH + options.length + payload;
        UnsafeBuffer b = new UnsafeBuffer(new byte[off + len]);
        FrameBuilder.tcp(b, off, POD, SERVER, 40000, 443, Tcp.SYN, 0, options.length + payload);
        int l4 = off + Ipv4.MIN_HEADER_LENGTH;
        Tcp.headerLength(b, l4, Tcp.MIN_HEADER_LENGTH + options.length);
        for (int i = 0; i < options.length; i++) {
            b.putByte(l4 + Tcp.MIN_HEADER_LENGTH + i, (byte) options[i]);
        }
        fixTcpChecksum(b, off);
        return b;
    }

    static void fixTcpChecksum(MutableDirectBuffer b, int ipOff) {
        int l4 = ipOff + Ipv4.MIN_HEADER_LENGTH;
        int l4Len = Ipv4.totalLength(b, ipOff) - Ipv4.MIN_HEADER_LENGTH;
        Tcp.checksum(b, l4, ReferenceChecksum.compute(b, l4, l4Len, Tcp.CHECKSUM_OFFSET,
                ReferenceChecksum.pseudoHeader(POD, SERVER, Ipv4.PROTO_TCP, l4Len)));
    }

    static void assertTcpChecksumValid(DirectBuffer b, int ipOff) {
        int l4 = ipOff + Ipv4.MIN_HEADER_LENGTH;
        int l4Len = Ipv4.totalLength(b, ipOff) - Ipv4.MIN_HEADER_LENGTH;
        assertTrue(Checksum.verifyTransport(b, l4, l4Len, POD, SERVER, Ipv4.PROTO_TCP), "TCP checksum");
        assertTrue(ReferenceChecksum.valid(b, l4, l4Len,
                ReferenceChecksum.pseudoHeader(POD, SERVER, Ipv4.PROTO_TCP, l4Len)), "TCP checksum (reference)");
    }

    static byte[] bytes(DirectBuffer b) {
        byte[] out = new byte[b.capacity()];
        b.getBytes(0, out);
        return out;
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3})
    void clampsSyn1460To1410WithValidChecksum(int off) {
        for (int flags : new int[] {Tcp.SYN, Tcp.SYN | Tcp.ACK}) {
            for (int payload : new int[] {0, 1, 7}) {
                UnsafeBuffer b = syn(off, 1460, payload, flags);
                int l4 = off + Ipv4.MIN_HEADER_LENGTH;
                assertTrue(MssClamp.clamp(b, l4, LIMIT));
                assertEquals(LIMIT, Tcp.mss(b, l4));
                assertTcpChecksumValid(b, off);
                // Byte for byte what a host announcing 1410 itself would have sent.
                assertArrayEquals(bytes(syn(off, LIMIT, payload, flags)), bytes(b));
            }
        }
    }

    @Test
    void mssAtOrBelowTheLimitIsUntouched() {
        for (int mss : new int[] {1, 536, 1400, LIMIT}) {
            UnsafeBuffer b = syn(1, mss, 0, Tcp.SYN);
            byte[] before = bytes(b);
            assertFalse(MssClamp.clamp(b, 21, LIMIT), "mss " + mss);
            assertArrayEquals(before, bytes(b));
        }
    }

    @Test
    void synWithoutMssOptionIsUntouched() {
        UnsafeBuffer plain = syn(0, 0, 10, Tcp.SYN);
        byte[] before = bytes(plain);
        assertFalse(MssClamp.clamp(plain, 20, LIMIT));
        assertArrayEquals(before, bytes(plain));

        // Other options only: SACK permitted, timestamps, NOP, window scale.
        UnsafeBuffer others = synWithOptions(0, new int[] {4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, NOP, 3, 3, 7}, 0);
        before = bytes(others);
        assertFalse(MssClamp.clamp(others, 20, LIMIT));
        assertArrayEquals(before, bytes(others));

        // MSS-looking bytes in the payload of a header without options are payload, not an option.
        UnsafeBuffer inPayload = new UnsafeBuffer(new byte[44]);
        FrameBuilder.tcp(inPayload, 0, POD, SERVER, 40000, 443, Tcp.SYN, 0, 4);
        inPayload.putByte(40, (byte) MSS);
        inPayload.putByte(41, (byte) 4);
        inPayload.putByte(42, (byte) 0xff);
        inPayload.putByte(43, (byte) 0xff);
        fixTcpChecksum(inPayload, 0);
        before = bytes(inPayload);
        assertFalse(MssClamp.clamp(inPayload, 20, LIMIT));
        assertArrayEquals(before, bytes(inPayload));
    }

    @Test
    void mssOptionAtAnOddOffsetIsClampedWithValidChecksum() {
        for (int payload : new int[] {0, 1, 2, 3}) {
            for (int off : new int[] {0, 1}) {
                UnsafeBuffer b = synWithOptions(off, new int[] {NOP, MSS, 4, 0x05, 0xb4, NOP, NOP, NOP}, payload);
                byte[] before = bytes(b);
                int l4 = off + Ipv4.MIN_HEADER_LENGTH;
                assertTrue(MssClamp.clamp(b, l4, LIMIT));
                assertEquals(LIMIT, Tcp.mss(b, l4));
                assertTcpChecksumValid(b, off);
                byte[] after = bytes(b);
                for (int i = 0; i < before.length; i++) {
                    int rel = i - l4;
                    boolean mayChange = rel == 16 || rel == 17 || rel == 23 || rel == 24;
                    if (!mayChange) {
                        assertEquals(before[i], after[i], "byte " + i + " changed");
                    }
                }
            }
        }
    }

    /** Every MSS value above the limit, at each of the four alignments, gives a valid checksum. */
    @Test
    void everyMssValueAtEveryAlignmentKeepsTheChecksumValid() {
        for (int nops = 0; nops < 4; nops++) {
            int[] options = new int[8];
            Arrays.fill(options, NOP);
            for (int mss = LIMIT + 1; mss <= 0xffff; mss += 97) {
                options[nops] = MSS;
                options[nops + 1] = 4;
                options[nops + 2] = mss >>> 8;
                options[nops + 3] = mss & 0xff;
                for (int limit : new int[] {LIMIT, 536, 0x00ff, 0xff00 & (mss - 1)}) {
                    if (mss <= limit) {
                        continue;
                    }
                    UnsafeBuffer b = synWithOptions(nops & 1, options, 5);
                    int l4 = (nops & 1) + Ipv4.MIN_HEADER_LENGTH;
                    assertTrue(MssClamp.clamp(b, l4, limit));
                    assertEquals(limit, Tcp.mss(b, l4));
                    assertTcpChecksumValid(b, nops & 1);
                }
            }
        }
    }

    @Test
    void linuxStyleSynOptionsAreClamped() {
        UnsafeBuffer b = synWithOptions(1, new int[] {MSS, 4, 0x05, 0xb4, 4, 2, 8, 10, 0x1d, 0x4c, 0x2b, 0x6a,
            0, 0, 0, 0, NOP, 3, 3, 7}, 0);
        assertTrue(MssClamp.clamp(b, 21, LIMIT));
        assertEquals(LIMIT, Tcp.mss(b, 21));
        assertTcpChecksumValid(b, 1);
    }

    @Test
    void malformedOptionListsAreUntouched() {
        int[][] cases = {
            {MSS, 0, 0x05, 0xb4},                   // length 0
            {MSS, 1, 0x05, 0xb4},                   // length 1
            {NOP, NOP, NOP, MSS},                   // kind in the last byte, no length byte
            {NOP, MSS, 4, 0x05},                    // 4-byte option running past the header end
            {MSS, 3, 0x05, 0xb4},                   // wrong MSS length
            {MSS, 5, 0x05, 0xb4, 0, 0, 0, 0},       // wrong MSS length
            {8, 40, 0, 0, MSS, 4, 0x05, 0xb4},      // timestamps claiming 40 bytes
            {3, 0, NOP, NOP, MSS, 4, 0x05, 0xb4},   // a length-0 option before the MSS ends the walk
            {3, 1, NOP, NOP, MSS, 4, 0x05, 0xb4},   // a length-1 option before the MSS ends the walk
            {0, MSS, 4, 0x05, 0xb4, 0, 0, 0},       // End of Options before the MSS
            {MSS, 255, 0x05, 0xb4},                 // length far past the header
        };
        for (int[] options : cases) {
            for (int payload : new int[] {0, 4}) {
                UnsafeBuffer b = synWithOptions(1, options, payload);
                byte[] before = bytes(b);
                boolean clamped;
                try {
                    clamped = MssClamp.clamp(b, 21, LIMIT);
                } catch (RuntimeException e) {
                    fail("threw on options " + Arrays.toString(options), e);
                    return;
                }
                assertFalse(clamped, Arrays.toString(options));
                assertArrayEquals(before, bytes(b), Arrays.toString(options));
            }
        }
    }

    /**
     * Random option areas (biased towards END, NOP, MSS and small lengths) of every header length,
     * random MSS values and limits, header at the very end of the buffer or followed by payload:
     * never throws, and the result equals the reference byte for byte.
     */
    @Test
    void randomOptionsNeverThrowAndMatchTheReference() {
        Random rnd = new Random(0xC1A4_0002L);
        int clamped = 0;
        for (int i = 0; i < 100_000; i++) {
            int optionLength = 4 * rnd.nextInt(11);
            int[] options = new int[optionLength];
            for (int j = 0; j < optionLength; j++) {
                options[j] = switch (rnd.nextInt(8)) {
                    case 0 -> 0;
                    case 1, 2 -> NOP;
                    case 3, 4 -> MSS;
                    case 5 -> rnd.nextInt(7);
                    default -> rnd.nextInt(256);
                };
            }
            if (optionLength >= 4 && rnd.nextBoolean()) {
                int at = rnd.nextInt(optionLength - 3);
                options[at] = MSS;
                options[at + 1] = rnd.nextInt(4) == 0 ? rnd.nextInt(6) : 4;
            }
            int off = rnd.nextInt(4);
            int payload = rnd.nextInt(3) == 0 ? rnd.nextInt(9) : 0;
            UnsafeBuffer fast = synWithOptions(off, options, payload);
            UnsafeBuffer slow = new UnsafeBuffer(bytes(fast));
            int limit = switch (rnd.nextInt(4)) {
                case 0 -> LIMIT;
                case 1 -> 536;
                default -> rnd.nextInt(65536);
            };
            int l4 = off + Ipv4.MIN_HEADER_LENGTH;
            assertEquals(PacketError.NONE, Tcp.check(fast, l4, fast.capacity() - l4));
            boolean got;
            try {
                got = MssClamp.clamp(fast, l4, limit);
            } catch (RuntimeException e) {
                fail("case " + i + " threw on options " + Arrays.toString(options), e);
                return;
            }
            boolean expected = referenceClamp(slow, off, limit);
            assertEquals(expected, got, "case " + i + " options " + Arrays.toString(options));
            assertArrayEquals(bytes(slow), bytes(fast), "case " + i + " options " + Arrays.toString(options));
            if (got) {
                assertTcpChecksumValid(fast, off);
                clamped++;
            }
        }
        assertTrue(clamped > 1_000, "the fuzz exercised the clamp itself: " + clamped);
    }

    /** Slow path: walk the options per RFC 9293, rewrite the value, recompute the checksum from scratch. */
    static boolean referenceClamp(MutableDirectBuffer b, int ipOff, int limit) {
        int tcp = ipOff + Ipv4.MIN_HEADER_LENGTH;
        int end = tcp + (((b.getByte(tcp + 12) & 0xff) >>> 4) * 4);
        int i = tcp + Tcp.MIN_HEADER_LENGTH;
        while (i < end) {
            int kind = b.getByte(i) & 0xff;
            if (kind == 0) {
                return false;
            }
            if (kind == 1) {
                i++;
                continue;
            }
            if (i + 1 >= end) {
                return false;
            }
            int len = b.getByte(i + 1) & 0xff;
            if (len < 2 || i + len > end) {
                return false;
            }
            if (kind == MSS) {
                if (len != 4) {
                    return false;
                }
                int mss = ((b.getByte(i + 2) & 0xff) << 8) | (b.getByte(i + 3) & 0xff);
                if (mss <= limit) {
                    return false;
                }
                b.putByte(i + 2, (byte) (limit >>> 8));
                b.putByte(i + 3, (byte) limit);
                fixTcpChecksum(b, ipOff);
                return true;
            }
            i += len;
        }
        return false;
    }

    /** With a started checksum only the option changes; finishing the sum afterwards gives a valid checksum. */
    @Test
    void partialChecksumIsLeftForWhoeverFinishesIt() {
        UnsafeBuffer b = new UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(128));
        int len = FrameBuilder.tcp(b, 0, 0x0a000001, 0xc6336407, 40000, 443,
                Tcp.SYN | Tcp.ACK, 1460, 0);
        int l4 = Ipv4.headerLength(b, 0);
        int l4Len = len - l4;
        int partial = ReferenceChecksum.fold(ReferenceChecksum.pseudoHeader(0x0a000001, 0xc6336407, 6, l4Len));
        b.putShort(l4 + 16, (short) partial, java.nio.ByteOrder.BIG_ENDIAN);
        assertTrue(MssClamp.clamp(b, l4, 1410, true));
        assertEquals(partial, Tcp.checksum(b, l4));
        int finished = ~ReferenceChecksum.fold(ReferenceChecksum.sum(b, l4, l4Len)) & 0xffff;
        b.putShort(l4 + 16, (short) finished, java.nio.ByteOrder.BIG_ENDIAN);
        assertTrue(ReferenceChecksum.valid(b, l4, l4Len,
                ReferenceChecksum.pseudoHeader(0x0a000001, 0xc6336407, 6, l4Len)));
    }
}
