package org.egressgw.tunio.netlink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.packet.Ipv4Address;
import org.junit.jupiter.api.Test;

/** Decoding of messages captured from the kernel, the event decoder, and hostile variants of both. */
class RtMessageDecodingTest {

    @Test
    void addressNotification() {
        final UnsafeBuffer b = KernelMessages.buffer(KernelMessages.NEWADDR);
        assertEquals(Netlink.RTM_NEWADDR, Netlink.type(b, 0));
        assertEquals(0, IfAddrMsg.check(b, 0, b.capacity()));
        assertEquals(new AddressInfo(3, Ipv4Address.parse("192.0.2.10"), 24, RtMsg.RT_SCOPE_UNIVERSE,
            IfAddrMsg.IFA_F_PERMANENT, "v0", 0), IfAddrMsg.decode(b, 0, b.capacity()));
    }

    @Test
    void routeNotifications() {
        final UnsafeBuffer b = KernelMessages.buffer(KernelMessages.NEWROUTE);
        assertEquals(0, RtMsg.check(b, 0, b.capacity()));
        assertEquals(new RouteInfo(100, Ipv4Address.parse("198.51.100.0"), 24, 3, 0, 199, RtMsg.RT_SCOPE_LINK,
            RtMsg.RTN_UNICAST, 0, 0), RtMsg.decode(b, 0, b.capacity()));
        final UnsafeBuffer local = KernelMessages.buffer(KernelMessages.NEWROUTE_LOCAL);
        assertEquals(0, RtMsg.check(local, 0, local.capacity()));
        assertEquals(new RouteInfo(RtMsg.RT_TABLE_LOCAL, Ipv4Address.parse("192.0.2.10"), 32, 3, 0, RtMsg.RTPROT_KERNEL,
            RtMsg.RT_SCOPE_HOST, RtMsg.RTN_LOCAL, 0, Ipv4Address.parse("192.0.2.10")), RtMsg.decode(local, 0,
            local.capacity()));
    }

    @Test
    void neighbourAndProxyEntries() {
        final UnsafeBuffer b = KernelMessages.buffer(KernelMessages.NEWNEIGH);
        assertEquals(0, NdMsg.check(b, 0, b.capacity()));
        final NeighbourInfo neighbour = NdMsg.decode(b, 0, b.capacity());
        assertEquals(new NeighbourInfo(3, Ipv4Address.parse("192.0.2.99"), NdMsg.NUD_PERMANENT, 0, 0x020000000002L, 0),
            neighbour);
        assertFalse(neighbour.isProxy());

        final UnsafeBuffer p = KernelMessages.buffer(KernelMessages.PROXY);
        assertEquals(0, NdMsg.check(p, 0, p.capacity()));
        final NeighbourInfo proxy = NdMsg.decode(p, 0, p.capacity());
        assertEquals(new NeighbourInfo(3, Ipv4Address.parse("192.0.2.77"), 0, NdMsg.NTF_PROXY, LinkInfo.NO_MAC, 0), proxy);
        assertTrue(proxy.isProxy());
    }

    @Test
    void linkFromADump() {
        final UnsafeBuffer b = KernelMessages.buffer(KernelMessages.NEWLINK);
        assertEquals(0, IfInfoMsg.check(b, 0, b.capacity()));
        final LinkInfo link = IfInfoMsg.decode(b, 0, b.capacity());
        assertEquals(new LinkInfo(3, "v0", 0x11043, IfInfoMsg.IF_OPER_UP, 1, 1500, 0x020000000001L), link);
        assertTrue(link.isUp());
        assertTrue(link.isRunning());
        assertTrue(link.isLowerUp());
        assertTrue(link.isOperUp());
        assertEquals("UP", link.operstateName());
        assertEquals("02:00:00:00:00:01", LinkInfo.formatMac(link.macAddress()));
    }

    @Test
    void familyHeadersShorterThanTheirStructAreMalformed() {
        final String[] messages = {KernelMessages.NEWLINK, KernelMessages.NEWADDR, KernelMessages.NEWNEIGH,
            KernelMessages.NEWROUTE};
        final int[] structs = {IfInfoMsg.LENGTH, IfAddrMsg.LENGTH, NdMsg.LENGTH, RtMsg.LENGTH};
        for (int i = 0; i < messages.length; i++) {
            final UnsafeBuffer b = KernelMessages.buffer(messages[i]);
            for (int length = Netlink.HEADER_LENGTH; length < Netlink.HEADER_LENGTH + structs[i]; length++) {
                assertEquals(Malformed.TRUNCATED_BODY, check(Netlink.type(b, 0), b, length), "length " + length);
            }
        }
    }

    @Test
    void wrongSizedAndMissingAttributesAreMalformed() {
        // IFA_LOCAL with 3 bytes
        UnsafeBuffer b = message(Netlink.RTM_NEWADDR, "02 18 00 00 03000000  0700 0200 c00002 00");
        assertEquals(Malformed.ATTRIBUTE_SIZE, IfAddrMsg.check(b, 0, b.capacity()));
        // no address at all
        b = message(Netlink.RTM_NEWADDR, "02 18 00 00 03000000  0700 0300 76300000");
        assertEquals(Malformed.MISSING_ATTRIBUTE, IfAddrMsg.check(b, 0, b.capacity()));
        // prefix length 33
        b = message(Netlink.RTM_NEWADDR, "02 21 00 00 03000000  0800 0200 c000020a");
        assertEquals(Malformed.INVALID_FIELD, IfAddrMsg.check(b, 0, b.capacity()));
        // an IPv6 address (16 bytes) is framing-checked only, and skipped by family
        b = message(Netlink.RTM_NEWADDR, "0a 40 00 fd 03000000  1400 0100 fe800000000000000000000000000001");
        assertEquals(0, IfAddrMsg.check(b, 0, b.capacity()));
        assertEquals(10, IfAddrMsg.family(b, 0));
        // neighbour without NDA_DST, and with a 16-byte one
        b = message(Netlink.RTM_NEWNEIGH, "02 00 0000 03000000 0000 08 00");
        assertEquals(Malformed.MISSING_ATTRIBUTE, NdMsg.check(b, 0, b.capacity()));
        b = message(Netlink.RTM_NEWNEIGH, "02 00 0000 03000000 0000 08 00  1400 0100 fe800000000000000000000000000001");
        assertEquals(Malformed.ATTRIBUTE_SIZE, NdMsg.check(b, 0, b.capacity()));
        // route with a 2-byte RTA_OIF, with prefix length 40
        b = message(Netlink.RTM_NEWROUTE, "02 18 00 00 64 c7 fd 01 00000000  0600 0400 0300 0000");
        assertEquals(Malformed.ATTRIBUTE_SIZE, RtMsg.check(b, 0, b.capacity()));
        b = message(Netlink.RTM_NEWROUTE, "02 28 00 00 64 c7 fd 01 00000000");
        assertEquals(Malformed.INVALID_FIELD, RtMsg.check(b, 0, b.capacity()));
        // a default route has no RTA_DST: destination 0
        b = message(Netlink.RTM_NEWROUTE, "02 00 00 00 fe 03 00 01 00000000  0800 0500 c0000201  0800 0400 03000000");
        assertEquals(0, RtMsg.check(b, 0, b.capacity()));
        assertEquals(new RouteInfo(254, 0, 0, 3, Ipv4Address.parse("192.0.2.1"), 3, 0, 1, 0, 0), RtMsg.decode(b, 0,
            b.capacity()));
        // link with a 4-byte operstate, with a 2-byte MTU
        b = message(Netlink.RTM_NEWLINK, "00 00 0100 03000000 43100100 00000000  0800 1000 06000000");
        assertEquals(Malformed.ATTRIBUTE_SIZE, IfInfoMsg.check(b, 0, b.capacity()));
        b = message(Netlink.RTM_NEWLINK, "00 00 0100 03000000 43100100 00000000  0600 0400 dc05 0000");
        assertEquals(Malformed.ATTRIBUTE_SIZE, IfInfoMsg.check(b, 0, b.capacity()));
        // a link without any attribute decodes with defaults
        b = message(Netlink.RTM_NEWLINK, "00 00 0100 03000000 43100100 00000000");
        assertEquals(new LinkInfo(3, "", 0x11043, IfInfoMsg.IF_OPER_UNKNOWN, 1, 0, LinkInfo.NO_MAC),
            IfInfoMsg.decode(b, 0, b.capacity()));
    }

    /** A message of {@code type} with {@code bodyHex} after a 16-byte header, in an exactly sized buffer. */
    private static UnsafeBuffer message(int type, String bodyHex) {
        final byte[] body = KernelMessages.bytes(bodyHex);
        final UnsafeBuffer b = new UnsafeBuffer(new byte[16 + body.length]);
        b.putInt(0, 16 + body.length);
        b.putShort(4, (short) type);
        b.putBytes(16, body);
        return b;
    }

    private static int check(int type, DirectBuffer b, int length) {
        switch (type) {
            case Netlink.RTM_NEWLINK:
            case Netlink.RTM_DELLINK:
                return IfInfoMsg.check(b, 0, length);
            case Netlink.RTM_NEWADDR:
            case Netlink.RTM_DELADDR:
                return IfAddrMsg.check(b, 0, length);
            case Netlink.RTM_NEWNEIGH:
            case Netlink.RTM_DELNEIGH:
                return NdMsg.check(b, 0, length);
            case Netlink.RTM_NEWROUTE:
            case Netlink.RTM_DELROUTE:
                return RtMsg.check(b, 0, length);
            default:
                throw new AssertionError("type " + type);
        }
    }

    /** Check, then (if valid) decode; the only acceptable outcomes are "malformed" or a record. */
    private static Object checkAndDecode(DirectBuffer b, int length) {
        final int type = Netlink.type(b, 0);
        final int check = check(type, b, length);
        if (check < 0) {
            return check;
        }
        switch (type & ~1) {
            case Netlink.RTM_NEWLINK:
                return IfInfoMsg.decode(b, 0, length);
            case Netlink.RTM_NEWADDR:
                return IfAddrMsg.family(b, 0) == IfAddrMsg.AF_INET ? IfAddrMsg.decode(b, 0, length) : null;
            case Netlink.RTM_NEWNEIGH:
                return NdMsg.family(b, 0) == NdMsg.AF_INET ? NdMsg.decode(b, 0, length) : null;
            default:
                return RtMsg.family(b, 0) == RtMsg.AF_INET ? RtMsg.decode(b, 0, length) : null;
        }
    }

    private static final String[] CAPTURED = {KernelMessages.NEWLINK, KernelMessages.NEWADDR, KernelMessages.NEWNEIGH,
        KernelMessages.PROXY, KernelMessages.NEWROUTE, KernelMessages.NEWROUTE_LOCAL};

    @Test
    void everyTruncationIsMalformedOrDecodes() {
        for (String hex : CAPTURED) {
            final byte[] whole = KernelMessages.bytes(hex);
            for (int cut = 0; cut < whole.length; cut++) {
                final byte[] part = java.util.Arrays.copyOf(whole, cut);
                // as received: nlmsg_len still says the whole length
                assertTrue(Netlink.validate(new UnsafeBuffer(part), 0, cut) < 0, "cut " + cut);
                if (cut >= Netlink.HEADER_LENGTH) {
                    // nlmsg_len rewritten to the cut: framing valid, body cut anywhere
                    final UnsafeBuffer b = new UnsafeBuffer(part);
                    b.putInt(0, cut);
                    assertEquals(cut, Netlink.validate(b, 0, cut));
                    checkAndDecode(b, cut);
                }
            }
        }
    }

    @Test
    void randomCorruptionsNeverThrow() {
        final Random random = new Random(42);
        for (String hex : CAPTURED) {
            final byte[] whole = KernelMessages.bytes(hex);
            for (int round = 0; round < 5_000; round++) {
                final byte[] bytes = whole.clone();
                final int flips = 1 + random.nextInt(4);
                for (int f = 0; f < flips; f++) {
                    // bias towards the headers and the first attributes, where the lengths live
                    final int at = random.nextInt(Math.min(bytes.length, random.nextBoolean() ? 48 : bytes.length));
                    bytes[at] = (byte) random.nextInt(256);
                }
                final UnsafeBuffer b = new UnsafeBuffer(bytes);
                final int length = Netlink.validate(b, 0, bytes.length);
                if (length < 0) {
                    continue;
                }
                final int type = Netlink.type(b, 0);
                if (type >= Netlink.RTM_NEWLINK && type <= Netlink.RTM_DELNEIGH && type % 4 < 2) {
                    checkAndDecode(b, length);
                }
                new RtEventDecoder().decode(b, bytes.length, event -> { });
            }
        }
    }

    @Test
    void eventDecoderDeliversInOrderAndSkipsWhatItDoesNotDecode() {
        final byte[] ipv6Address = message(Netlink.RTM_NEWADDR, "0a 40 00 fd 03000000  1400 0100 fe800000000000000000000000000001")
            .byteArray();
        final byte[] bridgePort = message(Netlink.RTM_DELLINK, "07 00 0100 03000000 43100100 00000000").byteArray();
        final byte[] done = message(Netlink.NLMSG_DONE, "00000000").byteArray();
        final UnsafeBuffer datagram = datagram(KernelMessages.bytes(KernelMessages.NEWADDR), ipv6Address,
            KernelMessages.bytes(KernelMessages.NEWROUTE), bridgePort, KernelMessages.bytes(KernelMessages.NEWNEIGH),
            done, KernelMessages.bytes(KernelMessages.NEWLINK));
        final RtEventDecoder decoder = new RtEventDecoder();
        final List<RtEvent> events = new ArrayList<>();
        assertEquals(4, decoder.decode(datagram, datagram.capacity(), events::add));
        assertEquals(4, events.size());
        assertEquals(RtEvent.Action.NEW, assertInstanceOf(RtEvent.AddressChanged.class, events.get(0)).action());
        assertEquals(199, assertInstanceOf(RtEvent.RouteChanged.class, events.get(1)).route().protocol());
        assertEquals(Ipv4Address.parse("192.0.2.99"),
            assertInstanceOf(RtEvent.NeighbourChanged.class, events.get(2)).neighbour().address());
        assertEquals("v0", assertInstanceOf(RtEvent.LinkChanged.class, events.get(3)).link().name());
        assertEquals(3, decoder.ignoredCount(), "IPv6 address, bridge-port DELLINK, NLMSG_DONE");
        assertEquals(0, decoder.malformedCount());
    }

    @Test
    void deleteNotificationsSayDelete() {
        final UnsafeBuffer b = KernelMessages.buffer(KernelMessages.NEWROUTE);
        b.putShort(Netlink.TYPE_OFFSET, (short) Netlink.RTM_DELROUTE);
        final List<RtEvent> events = new ArrayList<>();
        new RtEventDecoder().decode(b, b.capacity(), events::add);
        assertEquals(RtEvent.Action.DELETE, assertInstanceOf(RtEvent.RouteChanged.class, events.get(0)).action());
    }

    @Test
    void malformedNotificationsBecomeOverrunsAndBadFramingEndsTheDatagram() {
        final byte[] badAddress = message(Netlink.RTM_NEWADDR, "02 18 00 00 03000000  0700 0200 c00002 00").byteArray();
        final byte[] route = KernelMessages.bytes(KernelMessages.NEWROUTE);
        final byte[] zeroLength = new byte[16]; // nlmsg_len 0: must not loop
        final UnsafeBuffer datagram = datagram(route, badAddress, route, zeroLength, route);
        final RtEventDecoder decoder = new RtEventDecoder();
        final List<RtEvent> events = new ArrayList<>();
        assertEquals(4, decoder.decode(datagram, datagram.capacity(), events::add));
        assertInstanceOf(RtEvent.RouteChanged.class, events.get(0));
        final RtEvent.Overrun malformed = assertInstanceOf(RtEvent.Overrun.class, events.get(1));
        assertTrue(malformed.reason().contains("RTM_NEWADDR"), malformed.reason());
        assertInstanceOf(RtEvent.RouteChanged.class, events.get(2));
        final RtEvent.Overrun framing = assertInstanceOf(RtEvent.Overrun.class, events.get(3));
        assertTrue(framing.reason().contains("nlmsg_len smaller"), framing.reason());
        assertEquals(2, decoder.malformedCount());
    }

    private static UnsafeBuffer datagram(byte[]... messages) {
        int length = 0;
        for (byte[] message : messages) {
            length += Netlink.align(message.length);
        }
        final UnsafeBuffer b = new UnsafeBuffer(new byte[length]);
        int offset = 0;
        for (byte[] message : messages) {
            b.putBytes(offset, message);
            offset += Netlink.align(message.length);
        }
        return b;
    }
}
