package org.egressgw.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

class EthernetTest {
    private static final byte[] FRAME = TestBytes.hex(TestBytes.VXLAN_TCP_SYN);

    @Test
    void gettersOnRealFrame() {
        UnsafeBuffer b = TestBytes.buffer(FRAME);
        assertEquals(PacketError.NONE, Ethernet.check(b, 0, FRAME.length));
        assertEquals(MacAddress.parse("02:42:0a:00:02:09"), Ethernet.dstMac(b, 0));
        assertEquals(MacAddress.parse("02:42:0a:00:01:05"), Ethernet.srcMac(b, 0));
        assertEquals(Ethernet.TYPE_IPV4, Ethernet.etherType(b, 0));
        int inner = TestBytes.VXLAN_INNER_ETH;
        assertEquals(MacAddress.parse("0a:58:0a:f4:01:17"), Ethernet.dstMac(b, inner));
        assertEquals(MacAddress.parse("0a:58:0a:f4:01:01"), Ethernet.srcMac(b, inner));
        assertEquals(Ethernet.TYPE_IPV4, Ethernet.etherType(b, inner));

        UnsafeBuffer arp = TestBytes.buffer(TestBytes.hex(TestBytes.ARP_REQUEST));
        assertEquals(MacAddress.BROADCAST, Ethernet.dstMac(arp, 0));
        assertEquals(Ethernet.TYPE_ARP, Ethernet.etherType(arp, 0));
    }

    @Test
    void settersRoundTripWithoutTouchingNeighbours() {
        UnsafeBuffer b = new UnsafeBuffer(new byte[16]);
        Ethernet.dstMac(b, 1, 0xfedc_ba98_7654L);
        Ethernet.srcMac(b, 1, 0x0123_4567_89abL);
        Ethernet.etherType(b, 1, Ethernet.TYPE_IPV6);
        assertEquals(0xfedc_ba98_7654L, Ethernet.dstMac(b, 1));
        assertEquals(0x0123_4567_89abL, Ethernet.srcMac(b, 1));
        assertEquals(0x86dd, Ethernet.etherType(b, 1));
        assertEquals(0, b.getByte(0));
        assertEquals(0, b.getByte(15));
        assertEquals("fe:dc:ba:98:76:54", MacAddress.toString(Ethernet.dstMac(b, 1)));
        Ethernet.etherType(b, 1, Ethernet.TYPE_VLAN);
        assertEquals(0x8100, Ethernet.etherType(b, 1));
    }

    @Test
    void hostileInput() {
        Hostile.Accessors all = (b, off, len) -> {
            Ethernet.dstMac(b, off);
            Ethernet.srcMac(b, off);
            Ethernet.etherType(b, off);
        };
        assertEquals(2 * (FRAME.length - Ethernet.HEADER_LENGTH + 1), Hostile.truncations(FRAME, 0, FRAME.length, Ethernet::check, all));
        assertEquals(PacketError.ETHERNET_TRUNCATED, Hostile.run(FRAME, 0, 13, 0, Ethernet::check, all));
        assertTrue(Hostile.fuzz(14, 20_000, FRAME, Ethernet::check, all, null) > 0);
    }
}
