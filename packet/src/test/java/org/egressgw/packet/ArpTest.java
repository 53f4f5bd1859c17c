package org.egressgw.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

class ArpTest {
    private static final byte[] FRAME = TestBytes.hex(TestBytes.ARP_REQUEST);
    private static final int ARP = Ethernet.HEADER_LENGTH;

    @Test
    void gettersOnRealRequest() {
        UnsafeBuffer b = TestBytes.buffer(FRAME);
        assertEquals(PacketError.NONE, Arp.check(b, ARP, FRAME.length - ARP));
        assertEquals(Arp.OP_REQUEST, Arp.op(b, ARP));
        assertEquals(MacAddress.parse("02:42:c0:00:02:02"), Arp.senderMac(b, ARP));
        assertEquals(Ipv4Address.parse("192.0.2.2"), Arp.senderIp(b, ARP));
        assertEquals(0L, Arp.targetMac(b, ARP));
        assertEquals(Ipv4Address.parse("192.0.2.1"), Arp.targetIp(b, ARP));
    }

    @Test
    void settersRoundTrip() {
        UnsafeBuffer b = TestBytes.buffer(FRAME);
        Arp.op(b, ARP, Arp.OP_REPLY);
        Arp.senderMac(b, ARP, 0x0242_c000_0201L);
        Arp.senderIp(b, ARP, TestBytes.ip(192, 0, 2, 1));
        Arp.targetMac(b, ARP, 0x0242_c000_0202L);
        Arp.targetIp(b, ARP, TestBytes.ip(192, 0, 2, 2));
        assertEquals(Arp.OP_REPLY, Arp.op(b, ARP));
        assertEquals(0x0242_c000_0201L, Arp.senderMac(b, ARP));
        assertEquals(TestBytes.ip(192, 0, 2, 1), Arp.senderIp(b, ARP));
        assertEquals(0x0242_c000_0202L, Arp.targetMac(b, ARP));
        assertEquals(TestBytes.ip(192, 0, 2, 2), Arp.targetIp(b, ARP));
        assertEquals(PacketError.NONE, Arp.check(b, ARP, Arp.LENGTH));
    }

    @Test
    void writeReplyAnswersTheRequestInPlace() {
        UnsafeBuffer b = TestBytes.buffer(FRAME);
        long gatewayMac = 0x0242_c000_0201L;
        Arp.writeReply(b, ARP, gatewayMac, Arp.targetIp(b, ARP), Arp.senderMac(b, ARP), Arp.senderIp(b, ARP));
        // Expected bytes of the reply "192.0.2.1 is at 02:42:c0:00:02:01" to 192.0.2.2.
        byte[] expected = TestBytes.hex("0001080006040002" + "0242c0000201c0000201" + "0242c0000202c0000202");
        byte[] actual = new byte[Arp.LENGTH];
        b.getBytes(ARP, actual);
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, actual);

        // Onto a dirty buffer: every field is written.
        UnsafeBuffer dirty = new UnsafeBuffer(new byte[Arp.LENGTH]);
        dirty.setMemory(0, Arp.LENGTH, (byte) 0xa5);
        Arp.writeReply(dirty, 0, gatewayMac, TestBytes.ip(192, 0, 2, 1), 0x0242_c000_0202L, TestBytes.ip(192, 0, 2, 2));
        byte[] got = new byte[Arp.LENGTH];
        dirty.getBytes(0, got);
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, got);
        assertEquals(PacketError.NONE, Arp.check(dirty, 0, Arp.LENGTH));
    }

    @Test
    void rejectsOtherHardwareProtocolsAndOps() {
        int[][] corruptions = {{0, 1}, {1, 6}, {2, 0x86}, {3, 0xdd}, {4, 8}, {5, 16}, {7, 3}, {7, 0}, {6, 1}};
        for (int[] c : corruptions) {
            byte[] bytes = Hostile.slice(FRAME, ARP);
            bytes[c[0]] = (byte) c[1];
            assertEquals(PacketError.ARP_MALFORMED, Arp.check(new UnsafeBuffer(bytes), 0, bytes.length), "byte " + c[0]);
        }
    }

    @Test
    void hostileInput() {
        Hostile.Accessors all = (b, off, len) -> {
            Arp.op(b, off);
            Arp.senderMac(b, off);
            Arp.senderIp(b, off);
            Arp.targetMac(b, off);
            Arp.targetIp(b, off);
        };
        byte[] arp = Hostile.slice(FRAME, ARP);
        int passes = Hostile.truncations(arp, 0, arp.length, Arp::check, all);
        assertEquals(2 * (arp.length - Arp.LENGTH + 1), passes);
        assertTrue(Hostile.fuzz(826, 20_000, arp, Arp::check, all, null) > 0);
    }
}
