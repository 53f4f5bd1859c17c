package org.egressgw.tunio.netlink;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.packet.Ipv4Address;
import org.junit.jupiter.api.Test;

/** The ARP payload against bytes worked out by hand from RFC 826 / RFC 5227. */
class GratuitousArpTest {
    private static final long MAC = 0x020000000001L;
    private static final int ADDRESS = Ipv4Address.parse("192.0.2.10");

    @Test
    void requestHasTheAddressAsSenderAndTargetAndAZeroTargetMac() {
        final UnsafeBuffer b = new UnsafeBuffer(new byte[32]);
        b.setMemory(0, 32, (byte) 0xEE);
        assertEquals(28, GratuitousArp.encode(b, 2, GratuitousArp.ARPOP_REQUEST, MAC, ADDRESS));
        // htype 1, ptype 0x0800, hlen 6, plen 4, oper 1, sha, spa, tha 0, tpa
        assertEquals("0001 0800 06 04 0001 020000000001 c000020a 000000000000 c000020a".replace(" ", ""),
            KernelMessages.hex(b, 2, 28));
        assertEquals((byte) 0xEE, b.getByte(1));
        assertEquals((byte) 0xEE, b.getByte(30));
    }

    @Test
    void replyCarriesTheSenderMacAsTarget() {
        final UnsafeBuffer b = new UnsafeBuffer(new byte[28]);
        GratuitousArp.encode(b, 0, GratuitousArp.ARPOP_REPLY, 0xfedcba987654L, ADDRESS);
        assertEquals("0001 0800 06 04 0002 fedcba987654 c000020a fedcba987654 c000020a".replace(" ", ""),
            KernelMessages.hex(b, 0, 28));
    }

    @Test
    void macFormatting() {
        assertEquals("fe:dc:ba:98:76:54", LinkInfo.formatMac(0xfedcba987654L));
        assertEquals("00:00:00:00:00:00", LinkInfo.formatMac(0L));
        assertEquals("none", LinkInfo.formatMac(LinkInfo.NO_MAC));
    }
}
