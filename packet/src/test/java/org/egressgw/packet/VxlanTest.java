package org.egressgw.packet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

class VxlanTest {
    private static final byte[] FRAME = TestBytes.hex(TestBytes.VXLAN_TCP_SYN);
    private static final int VX = TestBytes.VXLAN_HEADER;

    @Test
    void gettersOnRealFrame() {
        UnsafeBuffer b = TestBytes.buffer(FRAME);
        assertEquals(PacketError.NONE, Vxlan.check(b, VX, FRAME.length - VX));
        assertEquals(2, Vxlan.vni(b, VX));
    }

    @Test
    void writeProducesACanonicalHeader() {
        UnsafeBuffer b = new UnsafeBuffer(new byte[Vxlan.HEADER_LENGTH]);
        b.setMemory(0, 8, (byte) 0xff);
        Vxlan.write(b, 0, 0xabcdef);
        byte[] out = new byte[8];
        b.getBytes(0, out);
        assertArrayEquals(TestBytes.hex("08000000abcdef00"), out);
        assertEquals(0xabcdef, Vxlan.vni(b, 0));
        Vxlan.write(b, 0, Vxlan.MAX_VNI);
        assertEquals(Vxlan.MAX_VNI, Vxlan.vni(b, 0));
        Vxlan.write(b, 0, 0x1_000_002); // only 24 bits are representable
        assertEquals(2, Vxlan.vni(b, 0));
    }

    @Test
    void checkReasonsAndReservedBitsIgnored() {
        int len = FRAME.length - VX;
        byte[] bytes = Hostile.slice(FRAME, VX);
        UnsafeBuffer b = new UnsafeBuffer(bytes);
        assertEquals(PacketError.VXLAN_TRUNCATED, Vxlan.check(b, 0, 21));
        assertEquals(PacketError.NONE, Vxlan.check(b, 0, 22));
        bytes[0] = (byte) 0xf7; // every bit but I
        assertEquals(PacketError.VXLAN_BAD_FLAGS, Vxlan.check(b, 0, len));
        bytes[0] = (byte) 0xff;
        bytes[1] = (byte) 0xff;
        bytes[2] = (byte) 0xff;
        bytes[3] = (byte) 0xff;
        bytes[7] = (byte) 0xff;
        assertEquals(PacketError.NONE, Vxlan.check(b, 0, len));
        assertEquals(2, Vxlan.vni(b, 0));
    }

    @Test
    void hostileInput() {
        Hostile.Accessors all = (b, off, len) -> {
            Vxlan.vni(b, off);
            int inner = off + Vxlan.HEADER_LENGTH;
            assertEquals(PacketError.NONE, Ethernet.check(b, inner, len - Vxlan.HEADER_LENGTH));
            Ethernet.dstMac(b, inner);
            Ethernet.srcMac(b, inner);
            Ethernet.etherType(b, inner);
        };
        byte[] vx = Hostile.slice(FRAME, VX);
        assertEquals(2 * (vx.length - 22 + 1), Hostile.truncations(vx, 0, vx.length, Vxlan::check, all));
        assertTrue(Hostile.fuzz(7348, 20_000, vx, Vxlan::check, all, null) > 100);
    }
}
