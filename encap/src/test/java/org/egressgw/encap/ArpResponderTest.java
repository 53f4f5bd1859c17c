package org.egressgw.encap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.packet.Arp;
import org.egressgw.packet.Ethernet;
import org.egressgw.packet.FrameBuilder;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.MacAddress;
import org.egressgw.packet.PacketError;
import org.junit.jupiter.api.Test;

/**
 * {@link ArpResponder}: the in-place reply, the requests it must ignore, malformed ARP, and random
 * input compared with a slow reference, in buffers that end exactly where the frame ends.
 */
class ArpResponderTest {
    private static final int GW_OVERLAY = Ipv4Address.parse("10.244.0.254");
    private static final long GW_MAC = MacAddress.parse("02:00:c0:00:02:0a");
    private static final long NODE_MAC = MacAddress.parse("02:00:c0:00:02:15");
    private static final int NODE_IP = Ipv4Address.parse("10.244.1.0");
    private static final int ARP_FRAME = Ethernet.HEADER_LENGTH + Arp.LENGTH;

    private final ArpResponder responder = ArpResponder.forAddress(GW_OVERLAY, GW_MAC);
    private final ArpResponder anyAddress = ArpResponder.forAnyAddress(GW_MAC);

    /** "Who has {@code target}? Tell NODE_IP" as an Ethernet frame of {@code frameLen} bytes (padding zero). */
    static byte[] request(int target, int frameLen) {
        UnsafeBuffer b = new UnsafeBuffer(new byte[8 + Math.max(frameLen, ARP_FRAME)]);
        FrameBuilder.vxlanArpRequest(b, 0, 2, NODE_MAC, NODE_IP, target);
        byte[] frame = new byte[frameLen];
        b.getBytes(8, frame, 0, frameLen);
        return frame;
    }

    /** Runs the responder over a buffer exactly {@code prefix + frame.length} long; returns the code. */
    static int respond(ArpResponder r, byte[] frame, int prefix, byte[] out) {
        byte[] bytes = new byte[prefix + frame.length];
        System.arraycopy(frame, 0, bytes, prefix, frame.length);
        int code;
        try {
            code = r.respond(new UnsafeBuffer(bytes), prefix, frame.length);
        } catch (RuntimeException e) {
            fail("respond threw for a " + frame.length + "-byte frame", e);
            return Integer.MIN_VALUE;
        }
        if (out != null) {
            System.arraycopy(bytes, prefix, out, 0, frame.length);
        }
        return code;
    }

    @Test
    void requestForTheOverlayAddressBecomesAReplyInPlace() {
        for (int frameLen : new int[] {ARP_FRAME, 60}) {
            for (int prefix : new int[] {0, 1, 8}) {
                byte[] out = new byte[frameLen];
                assertEquals(ArpResponder.REPLIED, respond(responder, request(GW_OVERLAY, frameLen), prefix, out));
                UnsafeBuffer r = new UnsafeBuffer(out);
                assertEquals(NODE_MAC, Ethernet.dstMac(r, 0), "to the asker");
                assertEquals(GW_MAC, Ethernet.srcMac(r, 0), "from us");
                assertEquals(Ethernet.TYPE_ARP, Ethernet.etherType(r, 0));
                assertEquals(PacketError.NONE, Arp.check(r, 14, frameLen - 14));
                assertEquals(Arp.OP_REPLY, Arp.op(r, 14));
                assertEquals(GW_MAC, Arp.senderMac(r, 14));
                assertEquals(GW_OVERLAY, Arp.senderIp(r, 14));
                assertEquals(NODE_MAC, Arp.targetMac(r, 14));
                assertEquals(NODE_IP, Arp.targetIp(r, 14));
                for (int i = ARP_FRAME; i < frameLen; i++) {
                    assertEquals(0, out[i], "padding untouched");
                }
            }
        }
        assertEquals(42, ArpResponder.replyLength());
    }

    @Test
    void repliesInsideAVxlanPayloadAsTheDecapsulatorHandsItOver() {
        UnsafeBuffer b = new UnsafeBuffer(new byte[8 + ARP_FRAME]);
        FrameBuilder.vxlanArpRequest(b, 0, 2, NODE_MAC, NODE_IP, GW_OVERLAY);
        assertEquals(VxlanDecapsulator.ARP, new VxlanDecapsulator(2, GW_MAC).classify(b, 0, b.capacity()));
        assertEquals(ArpResponder.REPLIED, responder.respond(b, 8, ARP_FRAME));
        assertEquals(GW_OVERLAY, Arp.senderIp(b, 22));
    }

    @Test
    void requestsForOtherAddressesRepliesAndADisabledResponderAreIgnored() {
        byte[] other = request(Ipv4Address.parse("10.244.0.253"), ARP_FRAME);
        byte[] out = new byte[ARP_FRAME];
        assertEquals(ArpResponder.IGNORED, respond(responder, other, 0, out));
        assertArrayEquals(other, out);

        byte[] reply = request(GW_OVERLAY, ARP_FRAME);
        new UnsafeBuffer(reply).putShort(14 + Arp.OP_OFFSET, (short) Arp.OP_REPLY, ByteOrder.BIG_ENDIAN);
        assertEquals(ArpResponder.IGNORED, respond(responder, reply, 0, out));
        assertArrayEquals(reply, out);

    }

    @Test
    void withoutAnOverlayAddressAnyAddressIsAnsweredButProbesAndAnnouncements() {
        int asked = Ipv4Address.parse("10.99.0.2");
        byte[] out = new byte[ARP_FRAME];
        assertEquals(ArpResponder.REPLIED, respond(anyAddress, request(asked, ARP_FRAME), 0, out));
        UnsafeBuffer r = new UnsafeBuffer(out);
        assertEquals(asked, Arp.senderIp(r, 14), "answered as the address asked for");
        assertEquals(GW_MAC, Arp.senderMac(r, 14));
        assertEquals(NODE_IP, Arp.targetIp(r, 14));

        byte[] announcement = request(NODE_IP, ARP_FRAME);
        assertEquals(ArpResponder.IGNORED, respond(anyAddress, announcement, 0, out), "the node announcing itself");
        assertArrayEquals(announcement, out);
        byte[] probe = request(asked, ARP_FRAME);
        new UnsafeBuffer(probe).putInt(14 + 14, 0); // sender protocol address 0.0.0.0
        assertEquals(ArpResponder.IGNORED, respond(anyAddress, probe, 0, out), "an address probe (RFC 5227)");
        assertArrayEquals(probe, out);
    }

    @Test
    void malformedArpIsArpMalformedAndUntouched() {
        int[][] fieldAndValue = {
            {Arp.HTYPE_OFFSET, 6}, {Arp.PTYPE_OFFSET, 0x86dd}, {Arp.OP_OFFSET, 0}, {Arp.OP_OFFSET, 3},
            {Arp.OP_OFFSET, 0x0101},
        };
        for (int[] fv : fieldAndValue) {
            byte[] d = request(GW_OVERLAY, ARP_FRAME);
            new UnsafeBuffer(d).putShort(14 + fv[0], (short) fv[1], ByteOrder.BIG_ENDIAN);
            assertMalformed(d);
        }
        for (int[] fv : new int[][] {{Arp.HLEN_OFFSET, 8}, {Arp.PLEN_OFFSET, 16}, {Arp.HLEN_OFFSET, 0}}) {
            byte[] d = request(GW_OVERLAY, ARP_FRAME);
            d[14 + fv[0]] = (byte) fv[1];
            assertMalformed(d);
        }
        for (int len = 0; len < ARP_FRAME; len++) {
            assertMalformed(request(GW_OVERLAY, len));
        }
    }

    private void assertMalformed(byte[] d) {
        byte[] out = new byte[d.length];
        assertEquals(PacketError.ARP_MALFORMED, respond(responder, d, 1, out), "frame of " + d.length + " bytes");
        assertArrayEquals(d, out);
    }

    /**
     * Random bytes and mutated requests at random lengths: never throws, returns only the defined
     * codes, agrees with the reference, leaves the frame alone unless it replied, and every reply is
     * a correct one.
     */
    @Test
    void fuzzNeverThrowsAndMatchesTheReference() {
        Random rnd = new Random(0xA4B_0001L);
        int[] counts = new int[3];
        for (int i = 0; i < 100_000; i++) {
            byte[] d;
            if (rnd.nextInt(5) == 0) {
                d = new byte[rnd.nextInt(70)];
                rnd.nextBytes(d);
            } else {
                d = request(rnd.nextBoolean() ? GW_OVERLAY : rnd.nextInt(), ARP_FRAME + rnd.nextInt(19));
                for (int m = rnd.nextInt(3); m > 0; m--) {
                    int at = rnd.nextInt(d.length);
                    d[at] = (byte) (rnd.nextInt(3) == 0 ? rnd.nextInt(256) : d[at] ^ (1 << rnd.nextInt(8)));
                }
                if (rnd.nextInt(6) == 0) {
                    d = Arrays.copyOf(d, rnd.nextInt(d.length + 1));
                }
            }
            boolean any = rnd.nextInt(10) == 0;
            ArpResponder r = any ? anyAddress : responder;
            byte[] out = new byte[d.length];
            int got = respond(r, d, rnd.nextInt(3), out);
            assertEquals(reference(d, any), got, "case " + i);
            switch (got) {
                case ArpResponder.REPLIED -> {
                    assertCorrectReply(d, out);
                    counts[0]++;
                }
                case ArpResponder.IGNORED -> {
                    assertArrayEquals(d, out);
                    counts[1]++;
                }
                case PacketError.ARP_MALFORMED -> {
                    assertArrayEquals(d, out);
                    counts[2]++;
                }
                default -> fail("undefined code " + got);
            }
        }
        for (int c : counts) {
            assertTrue(c > 1_000, Arrays.toString(counts));
        }
    }

    private static void assertCorrectReply(byte[] request, byte[] reply) {
        UnsafeBuffer q = new UnsafeBuffer(request);
        UnsafeBuffer r = new UnsafeBuffer(reply);
        assertEquals(Arp.senderMac(q, 14), Ethernet.dstMac(r, 0));
        assertEquals(GW_MAC, Ethernet.srcMac(r, 0));
        assertEquals(Ethernet.etherType(q, 0), Ethernet.etherType(r, 0), "ether type is left as it came");
        assertEquals(Arp.OP_REPLY, Arp.op(r, 14));
        assertEquals(GW_MAC, Arp.senderMac(r, 14));
        assertEquals(Arp.targetIp(q, 14), Arp.senderIp(r, 14), "answered as the address asked for");
        assertEquals(Arp.senderMac(q, 14), Arp.targetMac(r, 14));
        assertEquals(Arp.senderIp(q, 14), Arp.targetIp(r, 14));
        for (int i = ARP_FRAME; i < request.length; i++) {
            assertEquals(request[i], reply[i], "byte " + i + " after the ARP packet changed");
        }
    }

    /** Slow reference from RFC 826 and the class contract. */
    static int reference(byte[] d, boolean anyAddress) {
        if (d.length < 14 + 28) {
            return PacketError.ARP_MALFORMED;
        }
        int htype = u16(d, 14);
        int ptype = u16(d, 16);
        int op = u16(d, 20);
        if (htype != 1 || ptype != 0x0800 || d[18] != 6 || d[19] != 4 || (op != 1 && op != 2)) {
            return PacketError.ARP_MALFORMED;
        }
        int target = (u16(d, 38) << 16) | u16(d, 40);
        int sender = (u16(d, 28) << 16) | u16(d, 30);
        boolean answered = anyAddress ? sender != 0 && target != sender : target == GW_OVERLAY;
        return op == 1 && answered ? ArpResponder.REPLIED : ArpResponder.IGNORED;
    }

    private static int u16(byte[] d, int i) {
        return ((d[i] & 0xff) << 8) | (d[i + 1] & 0xff);
    }
}
