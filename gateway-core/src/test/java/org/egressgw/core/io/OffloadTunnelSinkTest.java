package org.egressgw.core.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.encap.VxlanEncapsulator;
import org.egressgw.packet.Checksum;
import org.egressgw.packet.FrameBuilder;
import org.egressgw.packet.Ipv4;
import org.egressgw.tunio.VirtioNetHeader;
import org.junit.jupiter.api.Test;

/**
 * The header {@link OffloadTunnelSink} puts in front of a super-packet, checked against the kernel's rules for
 * UDP-tunnel segmentation ({@code virtio_net_hdr_tnl_to_skb}: offsets from the Ethernet header, outer transport
 * at least Ethernet + IPv4, inner network at least 8 bytes after it, inner transport at least 20 after that),
 * and the outer identification blocks it hands out.
 */
class OffloadTunnelSinkTest {
    @Test
    void superPacketHeaderSatisfiesTheKernelsChecks() {
        UnsafeBuffer h = new UnsafeBuffer(ByteBuffer.allocateDirect(64));
        int hl = 20;
        int csumStart = VxlanEncapsulator.OVERHEAD + hl; // from the outer IPv4 header, as the datapath passes it
        OffloadTunnelSink.writeVnetHeader(h, VirtioNetHeader.GSO_TCPV4 | VirtioNetHeader.GSO_ECN, 1398, csumStart, 16,
                csumStart + 32);
        int outerTh = h.getShort(VirtioNetHeader.OUTER_TH_OFFSET_OFFSET, java.nio.ByteOrder.LITTLE_ENDIAN);
        int innerNh = h.getShort(VirtioNetHeader.INNER_NH_OFFSET_OFFSET, java.nio.ByteOrder.LITTLE_ENDIAN);
        int innerTh = VirtioNetHeader.csumStart(h, 0);
        assertEquals(14 + 20, outerTh, "outer UDP header after Ethernet and the outer IPv4 header");
        assertEquals(14 + 20 + 8 + 8 + 14, innerNh, "inner IPv4 header after UDP, VXLAN and the inner Ethernet header");
        assertEquals(innerNh + hl, innerTh, "inner TCP header");
        assertTrue(outerTh >= 14 + 20 && innerNh >= outerTh + 8 && innerTh >= innerNh + 20);
        assertEquals(16, VirtioNetHeader.csumOffset(h, 0));
        assertEquals(VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.flags(h, 0));
        assertEquals(VirtioNetHeader.GSO_TCPV4 | VirtioNetHeader.GSO_ECN | VirtioNetHeader.GSO_UDP_TUNNEL_IPV4,
                VirtioNetHeader.gsoType(h, 0));
        assertEquals(1398, VirtioNetHeader.gsoSize(h, 0));
        assertEquals(innerTh + 32, VirtioNetHeader.hdrLen(h, 0));
    }

    @Test
    void eachSuperPacketGetsItsOwnBlockOfIdentifications() {
        UnsafeBuffer p = new UnsafeBuffer(ByteBuffer.allocateDirect(64));
        FrameBuilder.udp(p, 0, 0x0a000001, 0x0a000002, 1, 2, 8, true);
        int id = 65530;
        id = OffloadTunnelSink.identify(p, id, 4);
        assertEquals(65530, Ipv4.identification(p, 0));
        assertTrue(Checksum.verifyIpv4Header(p, 0, 20), "header checksum follows the new identification");
        assertEquals(65534, id);
        id = OffloadTunnelSink.identify(p, id, 45);
        assertEquals(65534, Ipv4.identification(p, 0));
        assertTrue(Checksum.verifyIpv4Header(p, 0, 20));
        assertEquals(43, id, "wraps at 16 bits");
    }
}
