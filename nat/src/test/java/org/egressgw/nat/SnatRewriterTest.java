package org.egressgw.nat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.packet.Checksum;
import org.egressgw.packet.FrameBuilder;
import org.egressgw.packet.Icmp;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.PacketError;
import org.egressgw.packet.Tcp;
import org.egressgw.packet.Udp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link SnatRewriter} against full recomputation.
 *
 * <p><b>0x0000 versus 0xFFFF.</b> The randomised test compares byte for byte with a reference that
 * rewrites the fields and recomputes every checksum from scratch ({@link ReferenceChecksum}), so
 * the reference must pick the same one of the two one's-complement zeros as the incremental
 * update. It does without any normalising: a from-scratch checksum is {@code ~fold(sum)} with
 * {@code fold} in {@code 1..0xFFFF} for any non-zero sum, so it is never 0xFFFF; RFC 1624 eqn. 3,
 * {@code ~(~HC + ~m + m')}, also folds a non-zero sum and so yields the same value. The two differ
 * only when every covered byte is zero (the from-scratch checksum is then 0xFFFF, eqn. 3 gives
 * 0x0000, which receivers reject). An IPv4 header (version nibble) and a TCP/UDP segment (protocol
 * in the pseudo-header) never are all zero; an ICMP echo reply with identifier 0, sequence 0 and a
 * zero payload is, and {@link SnatRewriter} special-cases it, see
 * {@link #icmpEchoReplyThatBecomesAllZeroGetsChecksumFfff}. UDP follows RFC 768 in both: a checksum
 * of 0 ("none") stays 0, and a computed 0 is stored as 0xFFFF.
 */
class SnatRewriterTest {
    private static final int POD = Ipv4Address.parse("10.244.1.10");
    private static final int SERVER = Ipv4Address.parse("198.51.100.7");
    private static final int EGRESS = Ipv4Address.parse("203.0.113.5");
    private static final int POD_PORT = 40000;
    private static final int SERVER_PORT = 443;
    private static final int NAT_PORT = 61001;
    private static final int PAYLOAD = 101;

    /** The packet kinds the rewriter handles; UDP without a checksum is its own case. */
    enum Kind {
        TCP(Ipv4.PROTO_TCP), UDP(Ipv4.PROTO_UDP), UDP_NO_CHECKSUM(Ipv4.PROTO_UDP), ICMP(Ipv4.PROTO_ICMP);

        final int protocol;

        Kind(int protocol) {
            this.protocol = protocol;
        }

        int length(int payload) {
            return switch (this) {
                case TCP -> Ipv4.MIN_HEADER_LENGTH + Tcp.MIN_HEADER_LENGTH + 4 + payload;
                case UDP, UDP_NO_CHECKSUM -> Ipv4.MIN_HEADER_LENGTH + Udp.HEADER_LENGTH + payload;
                case ICMP -> Ipv4.MIN_HEADER_LENGTH + Icmp.HEADER_LENGTH + payload;
            };
        }
    }

    private static final Kind[] KINDS = Kind.values();

    /**
     * Builds a valid packet. For ICMP the echo identifier stands for the port on the side that NAT
     * rewrites: the source port of a request, the destination port of a reply.
     */
    static int build(Kind k, MutableDirectBuffer b, int off, int src, int dst, int srcPort, int dstPort, int payload,
            boolean reply) {
        return switch (k) {
            case TCP -> FrameBuilder.tcp(b, off, src, dst, srcPort, dstPort, reply ? Tcp.SYN | Tcp.ACK : Tcp.SYN,
                    1460, payload);
            case UDP -> FrameBuilder.udp(b, off, src, dst, srcPort, dstPort, payload, true);
            case UDP_NO_CHECKSUM -> FrameBuilder.udp(b, off, src, dst, srcPort, dstPort, payload, false);
            case ICMP -> FrameBuilder.icmpEcho(b, off, src, dst, reply ? Icmp.TYPE_ECHO_REPLY : Icmp.TYPE_ECHO_REQUEST,
                    reply ? dstPort : srcPort, 7, payload);
        };
    }

    static UnsafeBuffer buffer(int capacity) {
        return new UnsafeBuffer(ByteBuffer.allocateDirect(capacity));
    }

    /** A buffer exactly {@code off + length} bytes long holding one packet at {@code off}. */
    static UnsafeBuffer packet(Kind k, int off, int src, int dst, int srcPort, int dstPort, int payload, boolean reply) {
        UnsafeBuffer b = buffer(off + k.length(payload));
        assertEquals(k.length(payload), build(k, b, off, src, dst, srcPort, dstPort, payload, reply));
        return b;
    }

    static int l4(DirectBuffer b, int ipOff) {
        return ipOff + Ipv4.headerLength(b, ipOff);
    }

    /** Both checksums verified by full recomputation, with the packet module and with the reference. */
    static void assertValid(Kind k, DirectBuffer b, int ipOff) {
        int total = Ipv4.totalLength(b, ipOff);
        int hl = Ipv4.headerLength(b, ipOff);
        assertEquals(PacketError.NONE, Ipv4.check(b, ipOff, total));
        assertTrue(Checksum.verifyIpv4Header(b, ipOff, hl), "IPv4 header checksum");
        assertTrue(ReferenceChecksum.valid(b, ipOff, hl, 0), "IPv4 header checksum (reference)");
        int l4 = ipOff + hl;
        int l4Len = total - hl;
        int src = Ipv4.srcAddress(b, ipOff);
        int dst = Ipv4.dstAddress(b, ipOff);
        long pseudo = ReferenceChecksum.pseudoHeader(src, dst, k.protocol, l4Len);
        switch (k) {
            case TCP -> {
                assertTrue(Checksum.verifyTransport(b, l4, l4Len, src, dst, k.protocol), "TCP checksum");
                assertTrue(ReferenceChecksum.valid(b, l4, l4Len, pseudo), "TCP checksum (reference)");
            }
            case UDP -> {
                assertNotEquals(0, Udp.checksum(b, l4), "a UDP checksum must not turn into 'none'");
                assertTrue(Checksum.verifyTransport(b, l4, l4Len, src, dst, k.protocol), "UDP checksum");
                assertTrue(ReferenceChecksum.valid(b, l4, l4Len, pseudo), "UDP checksum (reference)");
            }
            case UDP_NO_CHECKSUM -> assertEquals(0, Udp.checksum(b, l4), "UDP 'no checksum' must stay 0");
            case ICMP -> {
                assertTrue(Checksum.verifyIcmp(b, l4, l4Len), "ICMP checksum");
                assertTrue(ReferenceChecksum.valid(b, l4, l4Len, 0), "ICMP checksum (reference)");
            }
        }
    }

    static int srcPort(Kind k, DirectBuffer b, int l4) {
        return switch (k) {
            case TCP -> Tcp.srcPort(b, l4);
            case UDP, UDP_NO_CHECKSUM -> Udp.srcPort(b, l4);
            case ICMP -> Icmp.identifier(b, l4);
        };
    }

    static int dstPort(Kind k, DirectBuffer b, int l4) {
        return switch (k) {
            case TCP -> Tcp.dstPort(b, l4);
            case UDP, UDP_NO_CHECKSUM -> Udp.dstPort(b, l4);
            case ICMP -> Icmp.identifier(b, l4);
        };
    }

    static byte[] bytes(DirectBuffer b) {
        byte[] out = new byte[b.capacity()];
        b.getBytes(0, out);
        return out;
    }

    static void assertSameBytes(DirectBuffer expected, DirectBuffer actual, int len, String what) {
        for (int i = 0; i < len; i++) {
            if (expected.getByte(i) != actual.getByte(i)) {
                fail(what + ": first difference at byte " + i + ": expected "
                        + (expected.getByte(i) & 0xff) + " but was " + (actual.getByte(i) & 0xff));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void rewriteSourceKeepsChecksumsValidAndEqualsAFreshlyBuiltPacket(Kind k) {
        for (int off : new int[] {0, 1, 2, 3}) {
            UnsafeBuffer b = packet(k, off, POD, SERVER, POD_PORT, SERVER_PORT, PAYLOAD, false);
            SnatRewriter.rewriteSource(b, off, l4(b, off), k.protocol, EGRESS, NAT_PORT);

            assertEquals(EGRESS, Ipv4.srcAddress(b, off));
            assertEquals(SERVER, Ipv4.dstAddress(b, off));
            assertEquals(NAT_PORT, srcPort(k, b, l4(b, off)));
            if (k != Kind.ICMP) {
                assertEquals(SERVER_PORT, dstPort(k, b, l4(b, off)));
            }
            assertValid(k, b, off);
            // What the egress host itself would have sent: identical, checksums included.
            UnsafeBuffer expected = packet(k, off, EGRESS, SERVER, NAT_PORT, SERVER_PORT, PAYLOAD, false);
            assertSameBytes(expected, b, b.capacity(), k + " at offset " + off);
        }
    }

    /**
     * A reply whose checksum the kernel left partial (the field holds the folded pseudo-header sum): after
     * {@link SnatRewriter#rewriteDestinationPartial}, finishing the checksum as the kernel does (sum from
     * the transport header, field included, complemented) must give a checksum valid for the new addresses,
     * over many random packets, addresses and ports (fixed seed).
     */
    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"TCP", "UDP"})
    void partialChecksumFollowsTheRewriteAndFinishesValid(Kind k) {
        Random rnd = new Random(1624);
        for (int i = 0; i < 2000; i++) {
            int off = rnd.nextInt(4);
            int src = rnd.nextInt();
            int dst = rnd.nextInt();
            int newDst = rnd.nextInt();
            int srcPort = rnd.nextInt(65536);
            int dstPort = rnd.nextInt(65536);
            int newPort = rnd.nextInt(65536);
            UnsafeBuffer b = packet(k, off, src, dst, srcPort, dstPort, rnd.nextInt(1400), true);
            int l4 = l4(b, off);
            int l4Len = Ipv4.totalLength(b, off) - (l4 - off);
            int field = l4 + (k == Kind.TCP ? Tcp.CHECKSUM_OFFSET : Udp.CHECKSUM_OFFSET);
            int partial = ReferenceChecksum.fold(ReferenceChecksum.pseudoHeader(src, dst, k.protocol, l4Len));
            b.putShort(field, (short) partial, ByteOrder.BIG_ENDIAN);

            SnatRewriter.rewriteDestinationPartial(b, off, l4, k.protocol, newDst, newPort);

            assertEquals(newDst, Ipv4.dstAddress(b, off));
            assertEquals(newPort, dstPort(k, b, l4));
            assertEquals(srcPort, srcPort(k, b, l4));
            assertTrue(Checksum.verifyIpv4Header(b, off, l4 - off), "IPv4 header checksum");
            int finished = ~ReferenceChecksum.fold(ReferenceChecksum.sum(b, l4, l4Len)) & 0xffff;
            b.putShort(field, (short) finished, ByteOrder.BIG_ENDIAN);
            assertTrue(ReferenceChecksum.valid(b, l4, l4Len, ReferenceChecksum.pseudoHeader(src, newDst, k.protocol, l4Len)),
                    k + " packet " + i + ": finished checksum valid for the new addresses");
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void rewriteDestinationKeepsChecksumsValidAndEqualsAFreshlyBuiltPacket(Kind k) {
        for (int off : new int[] {0, 1, 2, 3}) {
            UnsafeBuffer b = packet(k, off, SERVER, EGRESS, SERVER_PORT, NAT_PORT, PAYLOAD, true);
            SnatRewriter.rewriteDestination(b, off, l4(b, off), k.protocol, POD, POD_PORT);

            assertEquals(SERVER, Ipv4.srcAddress(b, off));
            assertEquals(POD, Ipv4.dstAddress(b, off));
            assertEquals(POD_PORT, dstPort(k, b, l4(b, off)));
            if (k != Kind.ICMP) {
                assertEquals(SERVER_PORT, srcPort(k, b, l4(b, off)));
            }
            assertValid(k, b, off);
            UnsafeBuffer expected = packet(k, off, SERVER, POD, SERVER_PORT, POD_PORT, PAYLOAD, true);
            assertSameBytes(expected, b, b.capacity(), k + " at offset " + off);
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void rewritingThereAndBackRestoresTheOriginalBytes(Kind k) {
        for (int off : new int[] {0, 1}) {
            for (int payload : new int[] {0, 1, 2, 3, 1400}) {
                UnsafeBuffer b = packet(k, off, POD, SERVER, POD_PORT, SERVER_PORT, payload, false);
                byte[] original = bytes(b);
                SnatRewriter.rewriteSource(b, off, l4(b, off), k.protocol, EGRESS, NAT_PORT);
                SnatRewriter.rewriteSource(b, off, l4(b, off), k.protocol, POD, POD_PORT);
                assertSameBytes(new UnsafeBuffer(original), b, original.length, k + " source round trip");

                UnsafeBuffer r = packet(k, off, SERVER, EGRESS, SERVER_PORT, NAT_PORT, payload, true);
                byte[] reply = bytes(r);
                SnatRewriter.rewriteDestination(r, off, l4(r, off), k.protocol, POD, POD_PORT);
                SnatRewriter.rewriteDestination(r, off, l4(r, off), k.protocol, EGRESS, NAT_PORT);
                assertSameBytes(new UnsafeBuffer(reply), r, reply.length, k + " destination round trip");
            }
        }
    }

    @Test
    void udpWithoutChecksumStaysWithoutChecksumOnBothPaths() {
        UnsafeBuffer b = packet(Kind.UDP_NO_CHECKSUM, 1, POD, SERVER, 5353, 53, 40, false);
        SnatRewriter.rewriteSource(b, 1, 21, Ipv4.PROTO_UDP, EGRESS, NAT_PORT);
        assertEquals(0, Udp.checksum(b, 21));
        SnatRewriter.rewriteDestination(b, 1, 21, Ipv4.PROTO_UDP, Ipv4Address.parse("10.244.2.2"), 1);
        assertEquals(0, Udp.checksum(b, 21));
        assertValid(Kind.UDP_NO_CHECKSUM, b, 1);
    }

    @Test
    void udpChecksumThatWouldComputeToZeroIsStoredAsFfff() {
        // Search for a new port whose full UDP checksum is 0; RFC 768 then requires 0xFFFF on the wire.
        UnsafeBuffer b = packet(Kind.UDP, 0, POD, SERVER, POD_PORT, 53, 12, false);
        UnsafeBuffer probe = packet(Kind.UDP, 0, EGRESS, SERVER, 0, 53, 12, false);
        long pseudo = ReferenceChecksum.pseudoHeader(EGRESS, SERVER, Ipv4.PROTO_UDP, 20);
        int found = -1;
        for (int port = 0; port < 65536 && found < 0; port++) {
            Udp.srcPort(probe, 20, port);
            if (ReferenceChecksum.compute(probe, 20, 20, Udp.CHECKSUM_OFFSET, pseudo) == 0) {
                found = port;
            }
        }
        assertTrue(found >= 0, "some port makes the checksum 0");
        SnatRewriter.rewriteSource(b, 0, 20, Ipv4.PROTO_UDP, EGRESS, found);
        assertEquals(0xffff, Udp.checksum(b, 20));
        assertValid(Kind.UDP, b, 0);
    }

    /** Found by the reference comparison: RFC 1624 eqn. 3 alone stores 0x0000 here, which fails verification. */
    @Test
    void icmpEchoReplyThatBecomesAllZeroGetsChecksumFfff() {
        for (int payload : new int[] {0, 6}) {
            for (int off : new int[] {0, 1}) {
                UnsafeBuffer b = buffer(off + Kind.ICMP.length(payload));
                FrameBuilder.icmpEcho(b, off, SERVER, EGRESS, Icmp.TYPE_ECHO_REPLY, NAT_PORT, 0, payload);
                for (int i = 0; i < payload; i++) {
                    b.putByte(off + 28 + i, (byte) 0);
                }
                Icmp.checksum(b, off + 20, ReferenceChecksum.compute(b, off + 20, 8 + payload, 2, 0));
                SnatRewriter.rewriteDestination(b, off, off + 20, Ipv4.PROTO_ICMP, POD, 0);
                assertEquals(0xffff, Icmp.checksum(b, off + 20));
                assertValid(Kind.ICMP, b, off);

                // and the other way: from the all-zero message to a non-zero one
                SnatRewriter.rewriteSource(b, off, off + 20, Ipv4.PROTO_ICMP, EGRESS, NAT_PORT);
                assertEquals(~NAT_PORT & 0xffff, Icmp.checksum(b, off + 20));
                assertValid(Kind.ICMP, b, off);
            }
        }
    }

    @Test
    void icmpChecksumThatIsRightlyZeroStaysZero() {
        // Echo reply, sequence 0xFFFF, no payload: with identifier 0 the data sums to 0xFFFF, checksum 0x0000.
        UnsafeBuffer b = buffer(28);
        FrameBuilder.icmpEcho(b, 0, SERVER, EGRESS, Icmp.TYPE_ECHO_REPLY, NAT_PORT, 0xffff, 0);
        SnatRewriter.rewriteDestination(b, 0, 20, Ipv4.PROTO_ICMP, POD, 0);
        assertEquals(0, Icmp.checksum(b, 20));
        assertValid(Kind.ICMP, b, 0);
    }

    @Test
    void otherProtocolsOnlyGetTheAddressRewritten() {
        UnsafeBuffer b = packet(Kind.UDP, 0, POD, SERVER, POD_PORT, SERVER_PORT, 30, false);
        Ipv4.protocol(b, 0, 47);
        Ipv4.updateHeaderChecksum(b, 0);
        byte[] before = bytes(b);
        SnatRewriter.rewriteSource(b, 0, 20, 47, EGRESS, NAT_PORT);
        assertEquals(EGRESS, Ipv4.srcAddress(b, 0));
        assertTrue(Checksum.verifyIpv4Header(b, 0, 20));
        for (int i = 20; i < before.length; i++) {
            assertEquals(before[i], b.getByte(i), "payload byte " + i + " of a portless protocol changed");
        }
        SnatRewriter.rewriteDestination(b, 0, 20, 47, POD, NAT_PORT);
        assertEquals(POD, Ipv4.dstAddress(b, 0));
        assertTrue(Checksum.verifyIpv4Header(b, 0, 20));
    }

    @Test
    void respectsIpOptionsThroughTheL4Offset() {
        UnsafeBuffer b = buffer(3 + Kind.TCP.length(50) + 8);
        int len = withIpOptions(Kind.TCP, b, 3, 8, POD, SERVER, POD_PORT, SERVER_PORT, 50, false, null);
        assertEquals(b.capacity() - 3, len);
        assertEquals(28, Ipv4.headerLength(b, 3));
        SnatRewriter.rewriteSource(b, 3, 31, Ipv4.PROTO_TCP, EGRESS, NAT_PORT);
        assertEquals(NAT_PORT, Tcp.srcPort(b, 31));
        assertValid(Kind.TCP, b, 3);
    }

    /**
     * 100 000 random packets (all four kinds, payload 0..1400 random bytes, random addresses, ports,
     * IPv4 options, odd and even offsets), each rewritten once by {@link SnatRewriter} and once by
     * {@link #referenceRewrite}; the results must be equal byte for byte (see the class comment).
     */
    @Test
    void randomisedAgainstFromScratchReference() {
        Random rnd = new Random(0x5A7_0001L);
        int maxLen = Ipv4.MAX_HEADER_LENGTH + Tcp.MIN_HEADER_LENGTH + 4 + 1400;
        UnsafeBuffer fast = buffer(8 + maxLen);
        UnsafeBuffer slow = buffer(8 + maxLen);
        byte[] payloadBytes = new byte[1400];
        int[] perOffsetParity = new int[2];
        int[] perKind = new int[KINDS.length];
        for (int i = 0; i < 100_000; i++) {
            Kind k = KINDS[rnd.nextInt(KINDS.length)];
            int off = rnd.nextInt(8);
            int payload = rnd.nextInt(1401);
            int options = rnd.nextInt(4) == 0 ? 4 * (1 + rnd.nextInt(10)) : 0;
            fast.setMemory(0, fast.capacity(), (byte) 0);
            rnd.nextBytes(payloadBytes);
            int len = withIpOptions(k, fast, off, options, rnd.nextInt(), rnd.nextInt(), rnd.nextInt(65536),
                    rnd.nextInt(65536), payload, rnd.nextBoolean(), rnd.nextInt(3) == 0 ? null : payloadBytes);
            slow.putBytes(0, fast, 0, off + len);
            int l4 = l4(fast, off);

            boolean source = rnd.nextBoolean();
            int newIp = rnd.nextInt(8) == 0 ? (source ? Ipv4.srcAddress(fast, off) : Ipv4.dstAddress(fast, off))
                    : rnd.nextInt();
            int newPort = rnd.nextInt(8) == 0 ? (source ? srcPort(k, fast, l4) : dstPort(k, fast, l4))
                    : rnd.nextInt(65536);
            if (source) {
                SnatRewriter.rewriteSource(fast, off, l4, k.protocol, newIp, newPort);
            } else {
                SnatRewriter.rewriteDestination(fast, off, l4, k.protocol, newIp, newPort);
            }
            referenceRewrite(k, slow, off, source, newIp, newPort);

            for (int j = 0; j < off + len; j++) {
                if (fast.getByte(j) != slow.getByte(j)) {
                    fail("case " + i + " " + k + (source ? " source" : " destination") + " offset " + off
                            + " payload " + payload + " options " + options + ": byte " + j + " is "
                            + (fast.getByte(j) & 0xff) + ", reference says " + (slow.getByte(j) & 0xff));
                }
            }
            if ((i & 63) == 0) {
                assertValid(k, fast, off);
            }
            perOffsetParity[off & 1]++;
            perKind[k.ordinal()]++;
        }
        assertTrue(perOffsetParity[0] > 40_000 && perOffsetParity[1] > 40_000);
        for (int n : perKind) {
            assertTrue(n > 20_000);
        }
    }

    /**
     * Writes a valid packet at {@code off} with {@code optionBytes} of IPv4 options (a multiple of 4)
     * and, if {@code payloadBytes} is given, that payload instead of FrameBuilder's pattern (transport
     * checksum recomputed). Returns the packet's length.
     */
    static int withIpOptions(Kind k, MutableDirectBuffer b, int off, int optionBytes, int src, int dst, int srcPort,
            int dstPort, int payload, boolean reply, byte[] payloadBytes) {
        int len = build(k, b, off + optionBytes, src, dst, srcPort, dstPort, payload, reply);
        int l4 = off + optionBytes + Ipv4.MIN_HEADER_LENGTH;
        int l4Len = len - Ipv4.MIN_HEADER_LENGTH;
        if (payloadBytes != null) {
            int header = l4Len - payload;
            b.putBytes(l4 + header, payloadBytes, 0, payload);
            switch (k) {
                case TCP -> Tcp.checksum(b, l4, ReferenceChecksum.compute(b, l4, l4Len, 16,
                        ReferenceChecksum.pseudoHeader(src, dst, k.protocol, l4Len)));
                case UDP -> {
                    int c = ReferenceChecksum.compute(b, l4, l4Len, 6,
                            ReferenceChecksum.pseudoHeader(src, dst, k.protocol, l4Len));
                    Udp.checksum(b, l4, c == 0 ? 0xffff : c);
                }
                case UDP_NO_CHECKSUM -> {
                }
                case ICMP -> Icmp.checksum(b, l4, ReferenceChecksum.compute(b, l4, l4Len, 2, 0));
            }
        }
        if (optionBytes > 0) {
            byte[] header = new byte[Ipv4.MIN_HEADER_LENGTH];
            b.getBytes(off + optionBytes, header);
            b.putBytes(off, header);
            for (int i = 0; i < optionBytes; i++) {
                // NOPs and a final End of Options: valid, and their values enter the header checksum.
                b.putByte(off + Ipv4.MIN_HEADER_LENGTH + i, (byte) (i == optionBytes - 1 ? 0 : 1));
            }
            Ipv4.versionAndHeaderLength(b, off, Ipv4.MIN_HEADER_LENGTH + optionBytes);
            Ipv4.totalLength(b, off, len + optionBytes);
            Ipv4.updateHeaderChecksum(b, off);
            len += optionBytes;
        }
        return len;
    }

    /** The slow path: write the fields, then recompute every checksum from scratch. */
    static void referenceRewrite(Kind k, MutableDirectBuffer b, int ipOff, boolean source, int newIp, int newPort) {
        int hl = Ipv4.headerLength(b, ipOff);
        int l4 = ipOff + hl;
        int l4Len = Ipv4.totalLength(b, ipOff) - hl;
        b.putInt(ipOff + (source ? 12 : 16), newIp, ByteOrder.BIG_ENDIAN);
        int portField = k == Kind.ICMP ? 4 : source ? 0 : 2;
        b.putShort(l4 + portField, (short) newPort, ByteOrder.BIG_ENDIAN);

        b.putShort(ipOff + 10, (short) ReferenceChecksum.compute(b, ipOff, hl, 10, 0), ByteOrder.BIG_ENDIAN);
        long pseudo = ReferenceChecksum.pseudoHeader(Ipv4.srcAddress(b, ipOff), Ipv4.dstAddress(b, ipOff),
                k.protocol, l4Len);
        switch (k) {
            case TCP -> Tcp.checksum(b, l4, ReferenceChecksum.compute(b, l4, l4Len, 16, pseudo));
            case UDP, UDP_NO_CHECKSUM -> {
                if (Udp.checksum(b, l4) != 0) {
                    int c = ReferenceChecksum.compute(b, l4, l4Len, 6, pseudo);
                    Udp.checksum(b, l4, c == 0 ? 0xffff : c);
                }
            }
            case ICMP -> Icmp.checksum(b, l4, ReferenceChecksum.compute(b, l4, l4Len, 2, 0));
        }
    }
}
