package org.egressgw.tunio.netlink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/** nlmsghdr and rtattr framing: valid walks, and every way a length field can lie. */
class NetlinkFramingTest {

    /** A buffer holding {@code bytes} exactly, so that a read past them throws. */
    private static UnsafeBuffer exact(byte[] bytes) {
        return new UnsafeBuffer(bytes);
    }

    private static byte[] header(int length, int type, int flags, int seq) {
        final UnsafeBuffer b = new UnsafeBuffer(new byte[16]);
        b.putInt(0, length);
        b.putShort(4, (short) type);
        b.putShort(6, (short) flags);
        b.putInt(8, seq);
        return b.byteArray();
    }

    @Test
    void validMessagesAreWalkedInOrder() {
        // NLMSG_NOOP (16 bytes), then NEWROUTE from the kernel, then NLMSG_DONE with its int error
        final byte[] noop = header(16, Netlink.NLMSG_NOOP, 0, 1);
        final byte[] route = KernelMessages.bytes(KernelMessages.NEWROUTE);
        final byte[] done = new byte[20];
        System.arraycopy(header(20, Netlink.NLMSG_DONE, Netlink.NLM_F_MULTI, 1), 0, done, 0, 16);
        final byte[] datagram = new byte[noop.length + route.length + done.length];
        System.arraycopy(noop, 0, datagram, 0, 16);
        System.arraycopy(route, 0, datagram, 16, route.length);
        System.arraycopy(done, 0, datagram, 16 + route.length, 20);
        final UnsafeBuffer buffer = exact(datagram);

        int offset = 0;
        final int[] types = new int[3];
        int count = 0;
        while (offset < datagram.length) {
            final int length = Netlink.validate(buffer, offset, datagram.length);
            assertTrue(length >= 16, Malformed.describe(length));
            types[count++] = Netlink.type(buffer, offset);
            offset = Netlink.next(offset, length, datagram.length);
        }
        assertEquals(3, count);
        assertEquals(Netlink.NLMSG_NOOP, types[0]);
        assertEquals(Netlink.RTM_NEWROUTE, types[1]);
        assertEquals(Netlink.NLMSG_DONE, types[2]);
        assertEquals(0x0600, Netlink.flags(buffer, 16), "NLM_F_CREATE|NLM_F_EXCL echoed in the notification");
    }

    @Test
    void truncatedHeaderIsMalformed() {
        final byte[] bytes = header(16, Netlink.NLMSG_NOOP, 0, 0);
        for (int limit = 0; limit < 16; limit++) {
            assertEquals(Malformed.TRUNCATED_HEADER, Netlink.validate(exact(bytes), 0, limit), "limit " + limit);
        }
        assertEquals(Malformed.TRUNCATED_HEADER, Netlink.validate(exact(bytes), -4, 16), "negative offset");
        assertEquals(16, Netlink.validate(exact(bytes), 0, 16));
    }

    @Test
    void lengthSmallerThanHeaderIsMalformedSoWalksCannotStall() {
        for (int length : new int[] {0, 1, 4, 15}) {
            assertEquals(Malformed.LENGTH_TOO_SMALL, Netlink.validate(exact(header(length, 3, 0, 0)), 0, 16),
                "nlmsg_len " + length);
        }
    }

    @Test
    void lengthPastTheDatagramIsMalformed() {
        assertEquals(Malformed.LENGTH_PAST_END, Netlink.validate(exact(header(17, 3, 0, 0)), 0, 16));
        assertEquals(Malformed.LENGTH_PAST_END, Netlink.validate(exact(header(-1, 3, 0, 0)), 0, 16),
            "0xffffffff is 4 GiB, not -1");
        assertEquals(Malformed.LENGTH_PAST_END, Netlink.validate(exact(header(Integer.MIN_VALUE, 3, 0, 0)), 0, 16));
        final byte[] bytes = new byte[64];
        System.arraycopy(header(64, 3, 0, 0), 0, bytes, 0, 16);
        assertEquals(Malformed.LENGTH_PAST_END, Netlink.validate(exact(bytes), 0, 63), "limit below the buffer end");
    }

    @Test
    void nextNeverPassesTheLimitAndAlwaysAdvances() {
        assertEquals(20, Netlink.next(0, 17, 100), "aligned up");
        assertEquals(18, Netlink.next(0, 17, 18), "but clamped to the limit");
        assertEquals(16, Netlink.next(0, 16, 16));
        assertEquals(Integer.MAX_VALUE, Netlink.next(Integer.MAX_VALUE - 16, 16, Integer.MAX_VALUE), "no overflow");
    }

    @Test
    void attributesWalkAndFind() {
        final UnsafeBuffer buffer = KernelMessages.buffer(KernelMessages.NEWADDR);
        final int start = Netlink.HEADER_LENGTH + IfAddrMsg.LENGTH;
        final int end = buffer.capacity();
        assertEquals(0, RtAttributes.validate(buffer, start, end));
        final int label = RtAttributes.find(buffer, start, end, IfAddrMsg.IFA_LABEL);
        assertEquals(3, RtAttributes.payloadLength(buffer, label));
        assertEquals("v0", RtAttributes.getString(buffer, label));
        assertEquals(0xc000020a, RtAttributes.getIpv4(buffer, RtAttributes.find(buffer, start, end, IfAddrMsg.IFA_LOCAL)));
        assertEquals(-1, RtAttributes.find(buffer, start, end, IfAddrMsg.IFA_BROADCAST));
        assertTrue(RtAttributes.hasPayloadSize(buffer, start, end, IfAddrMsg.IFA_FLAGS, 4));
        assertTrue(RtAttributes.hasPayloadSize(buffer, start, end, IfAddrMsg.IFA_BROADCAST, 4), "absent is fine");
        assertEquals(0, RtAttributes.validate(buffer, end, end), "an empty list is valid");
    }

    @Test
    void zeroPayloadAttributesAndFlagBitsAreHandled() {
        // rta_len 4 (no payload) twice, with NLA_F_NESTED set in the type, as the kernel ends a link message
        final UnsafeBuffer buffer = exact(KernelMessages.bytes("04003e80 04004180"));
        assertEquals(0, RtAttributes.validate(buffer, 0, 8));
        assertEquals(4, RtAttributes.find(buffer, 0, 8, 0x41));
        assertEquals(0, RtAttributes.payloadLength(buffer, 4));
        assertEquals("", RtAttributes.getString(buffer, 4));
        assertEquals(-1L, RtAttributes.getMac(buffer, 4));
    }

    @Test
    void hostileAttributeLengthsAreMalformed() {
        assertEquals(Malformed.ATTRIBUTE_LENGTH_TOO_SMALL, RtAttributes.validate(exact(KernelMessages.bytes("00000100")), 0, 4),
            "rta_len 0 would loop forever");
        assertEquals(Malformed.ATTRIBUTE_LENGTH_TOO_SMALL, RtAttributes.validate(exact(KernelMessages.bytes("03000100")), 0, 4));
        assertEquals(Malformed.ATTRIBUTE_PAST_END, RtAttributes.validate(exact(KernelMessages.bytes("09000100 c0000201")), 0, 8),
            "rta_len 9 in 8 bytes");
        assertEquals(Malformed.ATTRIBUTE_PAST_END, RtAttributes.validate(exact(KernelMessages.bytes("ffff0100 c0000201")), 0, 8));
        assertEquals(Malformed.ATTRIBUTE_TRUNCATED, RtAttributes.validate(exact(KernelMessages.bytes("08000100 c0000201 0800")), 0, 10),
            "two bytes after the last attribute");
        assertEquals(Malformed.ATTRIBUTE_PAST_END,
            RtAttributes.validate(exact(KernelMessages.bytes("08000100 c0000201 0c000200 c0000201")), 0, 16),
            "second attribute runs past the end");
        // an unpadded last attribute (rta_len 5 at the very end) is accepted: the kernel's nla_ok would too
        assertEquals(0, RtAttributes.validate(exact(KernelMessages.bytes("05000300 41")), 0, 5));
    }

    @Test
    void errorMessageTextIsFoundWithAndWithoutTheEchoedRequest() {
        // NLMSG_ERROR -ENOENT, NLM_F_CAPPED | NLM_F_ACK_TLVS, echoed 36-byte RTM_GETNEIGH header, then
        // NLMSGERR_ATTR_MSG "Proxy neighbour entry not found" (32 bytes with NUL -> rta_len 36)
        final String text = "Proxy neighbour entry not found";
        final UnsafeBuffer capped = errorWithText(true, text);
        assertEquals(-2, Netlink.errorCode(capped, 0));
        assertEquals(text, Netlink.errorMessage(capped, 0, capped.capacity()));
        final UnsafeBuffer uncapped = errorWithText(false, text);
        assertEquals(text, Netlink.errorMessage(uncapped, 0, uncapped.capacity()));
    }

    @Test
    void hostileErrorMessagesYieldNoText() {
        final UnsafeBuffer uncapped = errorWithText(false, "x");
        // echoed request claims 4 GiB
        uncapped.putInt(Netlink.ERROR_REQUEST_OFFSET, -1);
        assertNull(Netlink.errorMessage(uncapped, 0, uncapped.capacity()));
        // echoed request claims less than a header
        uncapped.putInt(Netlink.ERROR_REQUEST_OFFSET, 3);
        assertNull(Netlink.errorMessage(uncapped, 0, uncapped.capacity()));
        final UnsafeBuffer capped = errorWithText(true, "x");
        capped.putShort(Netlink.ERROR_MIN_LENGTH, (short) 200);
        assertNull(Netlink.errorMessage(capped, 0, capped.capacity()), "attribute past the end");
        assertNull(Netlink.errorMessage(capped, 0, 20), "shorter than struct nlmsgerr");
    }

    private static UnsafeBuffer errorWithText(boolean capped, String text) {
        final int echoedPayload = capped ? 0 : 20;
        final int attribute = Netlink.align(4 + text.length() + 1);
        final int length = Netlink.ERROR_MIN_LENGTH + echoedPayload + attribute;
        final UnsafeBuffer b = new UnsafeBuffer(new byte[length]);
        b.putInt(0, length);
        b.putShort(4, (short) Netlink.NLMSG_ERROR);
        b.putShort(6, (short) ((capped ? Netlink.NLM_F_CAPPED : 0) | Netlink.NLM_F_ACK_TLVS));
        b.putInt(Netlink.ERROR_CODE_OFFSET, -2);
        b.putInt(Netlink.ERROR_REQUEST_OFFSET, 16 + echoedPayload);
        b.putShort(Netlink.ERROR_REQUEST_OFFSET + 4, (short) Netlink.RTM_GETNEIGH);
        RtAttributes.putString(b, Netlink.ERROR_MIN_LENGTH + echoedPayload, Netlink.NLMSGERR_ATTR_MSG, text);
        return b;
    }

    @Test
    void randomDatagramsNeverThrowAndAlwaysTerminate() {
        final Random random = new Random(20261101L);
        for (int round = 0; round < 20_000; round++) {
            final byte[] bytes = new byte[random.nextInt(200)];
            random.nextBytes(bytes);
            if (bytes.length >= 4 && random.nextBoolean()) {
                // plausible lengths make deeper paths reachable
                new UnsafeBuffer(bytes).putInt(0, 16 + random.nextInt(Math.max(1, bytes.length - 15)));
            }
            final UnsafeBuffer buffer = exact(bytes);
            int offset = 0;
            int steps = 0;
            while (offset < bytes.length) {
                final int length = Netlink.validate(buffer, offset, bytes.length);
                if (length < 0) {
                    break;
                }
                final int start = offset + Netlink.HEADER_LENGTH;
                if (RtAttributes.validate(buffer, start, offset + length) == 0) {
                    for (int type = 0; type < 8; type++) {
                        final int attribute = RtAttributes.find(buffer, start, offset + length, type);
                        if (attribute >= 0) {
                            RtAttributes.getString(buffer, attribute);
                            RtAttributes.getMac(buffer, attribute);
                        }
                    }
                }
                Netlink.errorMessage(buffer, offset, length);
                offset = Netlink.next(offset, length, bytes.length);
                assertTrue(++steps <= bytes.length / 16 + 1, "walk must advance");
            }
        }
    }
}
