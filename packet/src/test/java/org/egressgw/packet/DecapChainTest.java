package org.egressgw.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/** The views composed the way the gateway decapsulates, over the real frame and hostile variants of it. */
class DecapChainTest {
    private static final byte[] FRAME = TestBytes.hex(TestBytes.VXLAN_TCP_SYN);

    /** Walks Ethernet/IPv4/UDP/VXLAN/Ethernet/IPv4/TCP; returns NONE or the first error. */
    static int walk(DirectBuffer b, int off, int len) {
        int rc = Ethernet.check(b, off, len);
        if (rc != PacketError.NONE) {
            return rc;
        }
        if (Ethernet.etherType(b, off) != Ethernet.TYPE_IPV4) {
            return PacketError.NONE;
        }
        int ip = off + Ethernet.HEADER_LENGTH;
        rc = Ipv4.check(b, ip, len - Ethernet.HEADER_LENGTH);
        if (rc != PacketError.NONE || Ipv4.protocol(b, ip) != Ipv4.PROTO_UDP || Ipv4.isFragment(b, ip)) {
            return rc;
        }
        int hl = Ipv4.headerLength(b, ip);
        int udp = ip + hl;
        rc = Udp.check(b, udp, Ipv4.totalLength(b, ip) - hl);
        if (rc != PacketError.NONE || Udp.dstPort(b, udp) != Vxlan.DEFAULT_PORT) {
            return rc;
        }
        int vx = udp + Udp.HEADER_LENGTH;
        int vxLen = Udp.length(b, udp) - Udp.HEADER_LENGTH;
        rc = Vxlan.check(b, vx, vxLen);
        if (rc != PacketError.NONE) {
            return rc;
        }
        Vxlan.vni(b, vx);
        int inner = vx + Vxlan.HEADER_LENGTH;
        int innerLen = vxLen - Vxlan.HEADER_LENGTH;
        Ethernet.srcMac(b, inner);
        if (Ethernet.etherType(b, inner) != Ethernet.TYPE_IPV4) {
            return PacketError.NONE;
        }
        int iip = inner + Ethernet.HEADER_LENGTH;
        rc = Ipv4.check(b, iip, innerLen - Ethernet.HEADER_LENGTH);
        if (rc != PacketError.NONE || Ipv4.protocol(b, iip) != Ipv4.PROTO_TCP) {
            return rc;
        }
        int ihl = Ipv4.headerLength(b, iip);
        int tcp = iip + ihl;
        int tcpLen = Ipv4.totalLength(b, iip) - ihl;
        rc = Tcp.check(b, tcp, tcpLen);
        if (rc != PacketError.NONE) {
            return rc;
        }
        Tcp.mss(b, tcp);
        Checksum.verifyTransport(b, tcp, tcpLen, Ipv4.srcAddress(b, iip), Ipv4.dstAddress(b, iip), Ipv4.PROTO_TCP);
        return PacketError.NONE;
    }

    @Test
    void realFrameWalksToTheInnerSyn() {
        assertEquals(PacketError.NONE, walk(new UnsafeBuffer(FRAME.clone()), 0, FRAME.length));
    }

    @Test
    void exactBuffersReallyThrowPastTheEnd() {
        // The hostile tests rely on Agrona's bounds checks being on.
        UnsafeBuffer b = new UnsafeBuffer(new byte[4]);
        assertThrows(IndexOutOfBoundsException.class, () -> b.getInt(1));
        assertThrows(IndexOutOfBoundsException.class, () -> b.getByte(4));
    }

    @Test
    void hostileFramesNeverThrow() {
        assertTrue(Hostile.truncations(FRAME, 0, FRAME.length, DecapChainTest::walk, (b, off, len) -> { }) > 0);
        // Mutations with fixed outer and inner IPv4 checksums, so the deeper layers are reached.
        Hostile.Fixer fix = (bytes, off, len) -> {
            Ipv4Test.FIX_CHECKSUM.fix(bytes, off + TestBytes.VXLAN_OUTER_IP, len - TestBytes.VXLAN_OUTER_IP);
            Ipv4Test.FIX_CHECKSUM.fix(bytes, off + TestBytes.VXLAN_INNER_IP, len - TestBytes.VXLAN_INNER_IP);
        };
        assertTrue(Hostile.fuzz(4242, 50_000, FRAME, DecapChainTest::walk, (b, off, len) -> { }, fix) > 0);
    }
}
