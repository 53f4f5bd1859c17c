package org.egressgw.core.datapath;

import org.agrona.DirectBuffer;
import org.egressgw.encap.VxlanEncapsulator;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Tcp;
import org.egressgw.packet.Udp;
import org.egressgw.tunio.VirtioNetHeader;

/**
 * The offload metadata of the reply being handled: the virtio-net header the TUN device puts in front of each
 * packet it hands over with the transmit offload ({@code tunnel.offload}) — a TCP super-packet to be cut into
 * segments of {@link #gsoSize}, and/or a transport checksum the kernel only started. {@link #read} takes what the
 * header says; {@link #fits} checks it against the parsed packet. What the gateway cannot honour is dropped as
 * {@code offload_invalid}. One instance per datapath, reused for every reply.
 *
 * <p>Threading: the datapath thread only.
 */
final class ReplyOffload {
    /** The largest IPv4 packet: a super-packet must still fit one once encapsulated. */
    private static final int MAX_IPV4_LENGTH = 0xffff;

    /** The transport checksum is only started (CHECKSUM_PARTIAL): the pseudo-header sum, to be finished. */
    boolean partial;
    int gsoType;
    /** Payload bytes per segment of a super-packet. */
    int gsoSize;
    int csumStart;
    int csumOffset;

    /**
     * Reads the header of {@code vnetLength} bytes in front of the packet at {@code ip} (none when 0: nothing
     * offloaded); false if it asks for something the gateway cannot honour (a segmentation type other than
     * TCP/IPv4, with or without ECN, or a zero segment size).
     */
    boolean read(DirectBuffer b, int ip, int vnetLength) {
        if (vnetLength == 0) {
            partial = false;
            gsoType = VirtioNetHeader.GSO_NONE;
            return true;
        }
        int v = ip - vnetLength;
        partial = (VirtioNetHeader.flags(b, v) & VirtioNetHeader.FLAG_NEEDS_CSUM) != 0;
        csumStart = VirtioNetHeader.csumStart(b, v);
        csumOffset = VirtioNetHeader.csumOffset(b, v);
        gsoType = VirtioNetHeader.gsoType(b, v);
        gsoSize = VirtioNetHeader.gsoSize(b, v);
        return gsoType == VirtioNetHeader.GSO_NONE
                || ((gsoType & ~VirtioNetHeader.GSO_ECN) == VirtioNetHeader.GSO_TCPV4 && gsoSize > 0);
    }

    /** True if the packet comes with offload work: a super-packet or a started checksum. */
    boolean any() {
        return partial || gsoType != VirtioNetHeader.GSO_NONE;
    }

    /** True for a super-packet. */
    boolean gso() {
        return gsoType != VirtioNetHeader.GSO_NONE;
    }

    /**
     * Whether the metadata of an offloaded packet fits it: a started checksum whose start is the transport header
     * and whose field is TCP's or UDP's, segmentation only for TCP, and room for the encapsulation.
     */
    boolean fits(ParsedPacket p) {
        int field = p.proto == Ipv4.PROTO_TCP ? Tcp.CHECKSUM_OFFSET : p.proto == Ipv4.PROTO_UDP ? Udp.CHECKSUM_OFFSET : -1;
        return partial && field >= 0 && csumStart == p.hl && csumOffset == field
                && (!gso() || p.proto == Ipv4.PROTO_TCP) && p.total + VxlanEncapsulator.OVERHEAD <= MAX_IPV4_LENGTH;
    }

    /** What must fit the tunnel: each segment the kernel will cut from a super-packet, else the packet itself. */
    int segmentLength(DirectBuffer b, ParsedPacket p) {
        return gso() ? Math.min(p.total, p.hl + Tcp.headerLength(b, p.l4) + gsoSize) : p.total;
    }
}
