package org.egressgw.tunio;

import java.nio.ByteOrder;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The {@code struct virtio_net_hdr} that prefixes every read and write on a TUN descriptor opened with
 * {@code IFF_VNET_HDR} ({@code include/uapi/linux/virtio_net.h}):
 *
 * <pre>
 *  0      1        2          4          6            8             10
 *  +------+--------+----------+----------+------------+-------------+
 *  |flags |gso_type| hdr_len  | gso_size | csum_start | csum_offset |
 *  +------+--------+----------+----------+------------+-------------+
 * </pre>
 *
 * <p>The 16-bit fields are little-endian: {@link TunDevice} sets {@code TUNSETVNETLE} so this holds on every
 * architecture (on x86 it is the legacy default anyway). {@link #LENGTH} (10) is the header size the device is
 * configured with ({@code TUNSETVNETHDRSZ}); the 12-byte {@code virtio_net_hdr_mrg_rxbuf} variant is not used.
 *
 * <p>Meaning on a TUN device, where the packet starts at the IP header (no link-layer header):
 * <ul>
 * <li>{@link #FLAG_NEEDS_CSUM}: the bytes from {@code csum_start} to the end still need the Internet checksum,
 *     to be stored at {@code csum_start + csum_offset}; that field already holds the folded, <em>not</em>
 *     complemented pseudo-header sum (the kernel's {@code CHECKSUM_PARTIAL}).</li>
 * <li>{@link #FLAG_DATA_VALID} (reads only): the kernel already verified the checksum.</li>
 * <li>{@code gso_type} {@link #GSO_TCPV4} with {@code gso_size} = payload bytes per segment: the packet is a
 *     TCP super-packet the kernel cuts into segments (it requires NEEDS_CSUM with csum_start at the TCP header
 *     and csum_offset 16). {@code hdr_len} is a hint: IP + TCP header bytes.</li>
 * </ul>
 *
 * <p>Static accessors over (buffer, offset), like the header views of the {@code packet} module; no state,
 * thread-safe.
 */
public final class VirtioNetHeader {
    /** Size of {@code struct virtio_net_hdr}. */
    public static final int LENGTH = 10;

    public static final int FLAGS_OFFSET = 0;
    public static final int GSO_TYPE_OFFSET = 1;
    public static final int HDR_LEN_OFFSET = 2;
    public static final int GSO_SIZE_OFFSET = 4;
    public static final int CSUM_START_OFFSET = 6;
    public static final int CSUM_OFFSET_OFFSET = 8;

    /** {@code VIRTIO_NET_HDR_F_NEEDS_CSUM}. */
    public static final int FLAG_NEEDS_CSUM = 1;
    /** {@code VIRTIO_NET_HDR_F_DATA_VALID}. */
    public static final int FLAG_DATA_VALID = 2;

    /** {@code VIRTIO_NET_HDR_GSO_NONE}. */
    public static final int GSO_NONE = 0;
    /** {@code VIRTIO_NET_HDR_GSO_TCPV4}. */
    public static final int GSO_TCPV4 = 1;
    /** {@code VIRTIO_NET_HDR_GSO_UDP} (UFO, refused by current kernels). */
    public static final int GSO_UDP = 3;
    /** {@code VIRTIO_NET_HDR_GSO_TCPV6}. */
    public static final int GSO_TCPV6 = 4;
    /** {@code VIRTIO_NET_HDR_GSO_UDP_L4}. */
    public static final int GSO_UDP_L4 = 5;
    /** {@code VIRTIO_NET_HDR_GSO_ECN}: or-ed into gso_type when the segments carry CWR. */
    public static final int GSO_ECN = 0x80;
    /**
     * {@code VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV4} (Linux 6.17+): or-ed into an inner gso_type when the super-packet
     * sits inside an IPv4/UDP tunnel; needs the {@link #TUNNEL_LENGTH}-byte header.
     */
    public static final int GSO_UDP_TUNNEL_IPV4 = 0x20;

    /**
     * Size of {@code struct virtio_net_hdr_v1_hash_tunnel}: the 10 bytes above, {@code num_buffers} (2), the
     * hash fields (8, unused here) and the two tunnel offsets. A device that segments UDP-tunnelled
     * super-packets ({@code TUN_F_UDP_TUNNEL_GSO}) is configured with this size.
     */
    public static final int TUNNEL_LENGTH = 24;
    /** Where the outer transport (UDP) header starts, from the start of the frame; tunnel header only. */
    public static final int OUTER_TH_OFFSET_OFFSET = 20;
    /** Where the inner network (IP) header starts, from the start of the frame; tunnel header only. */
    public static final int INNER_NH_OFFSET_OFFSET = 22;

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private VirtioNetHeader() {
    }

    public static int flags(DirectBuffer b, int off) {
        return b.getByte(off + FLAGS_OFFSET) & 0xff;
    }

    public static void flags(MutableDirectBuffer b, int off, int flags) {
        b.putByte(off + FLAGS_OFFSET, (byte) flags);
    }

    public static int gsoType(DirectBuffer b, int off) {
        return b.getByte(off + GSO_TYPE_OFFSET) & 0xff;
    }

    public static void gsoType(MutableDirectBuffer b, int off, int gsoType) {
        b.putByte(off + GSO_TYPE_OFFSET, (byte) gsoType);
    }

    public static int hdrLen(DirectBuffer b, int off) {
        return b.getShort(off + HDR_LEN_OFFSET, LE) & 0xffff;
    }

    public static void hdrLen(MutableDirectBuffer b, int off, int hdrLen) {
        b.putShort(off + HDR_LEN_OFFSET, (short) hdrLen, LE);
    }

    public static int gsoSize(DirectBuffer b, int off) {
        return b.getShort(off + GSO_SIZE_OFFSET, LE) & 0xffff;
    }

    public static void gsoSize(MutableDirectBuffer b, int off, int gsoSize) {
        b.putShort(off + GSO_SIZE_OFFSET, (short) gsoSize, LE);
    }

    public static int csumStart(DirectBuffer b, int off) {
        return b.getShort(off + CSUM_START_OFFSET, LE) & 0xffff;
    }

    public static void csumStart(MutableDirectBuffer b, int off, int csumStart) {
        b.putShort(off + CSUM_START_OFFSET, (short) csumStart, LE);
    }

    public static int csumOffset(DirectBuffer b, int off) {
        return b.getShort(off + CSUM_OFFSET_OFFSET, LE) & 0xffff;
    }

    public static void csumOffset(MutableDirectBuffer b, int off, int csumOffset) {
        b.putShort(off + CSUM_OFFSET_OFFSET, (short) csumOffset, LE);
    }

    /** Writes an all-zero header: a complete packet, checksums done, no segmentation. */
    public static void none(MutableDirectBuffer b, int off) {
        b.putLong(off, 0L);
        b.putShort(off + 8, (short) 0);
    }

    /**
     * Writes a TCP/IPv4 segmentation request: NEEDS_CSUM from {@code ipHeaderLength} with csum_offset 16,
     * gso_type TCPV4 (with ECN if asked), the given segment payload size and hdr_len = IP + TCP header bytes.
     */
    public static void tcpv4(MutableDirectBuffer b, int off, int ipHeaderLength, int tcpHeaderLength, int gsoSize,
                             boolean ecn) {
        flags(b, off, FLAG_NEEDS_CSUM);
        gsoType(b, off, GSO_TCPV4 | (ecn ? GSO_ECN : 0));
        hdrLen(b, off, ipHeaderLength + tcpHeaderLength);
        gsoSize(b, off, gsoSize);
        csumStart(b, off, ipHeaderLength);
        csumOffset(b, off, TCP_CHECKSUM_OFFSET);
    }

    /**
     * Writes a {@link #TUNNEL_LENGTH}-byte header for a frame whose inner packet still needs its transport
     * checksum (NEEDS_CSUM at {@code csumStart} + {@code csumOffset}, offsets from the frame's first byte):
     * with {@code innerGsoType} {@link #GSO_NONE} a single packet, otherwise a super-packet of that inner type
     * (e.g. {@link #GSO_TCPV4}, with {@link #GSO_ECN} if set) inside an IPv4/UDP tunnel whose UDP header
     * starts at {@code outerTransport} and whose inner IP header starts at {@code innerNetwork}. The outer UDP
     * checksum is left as it is (0 for VXLAN over IPv4): no {@code UDP_TUNNEL_CSUM}.
     */
    public static void tunnelled(MutableDirectBuffer b, int off, int innerGsoType, int gsoSize, int csumStart,
                                 int csumOffset, int outerTransport, int innerNetwork, int headerBytes) {
        b.setMemory(off, TUNNEL_LENGTH, (byte) 0);
        flags(b, off, FLAG_NEEDS_CSUM);
        csumStart(b, off, csumStart);
        csumOffset(b, off, csumOffset);
        if (innerGsoType != GSO_NONE) {
            gsoType(b, off, innerGsoType | GSO_UDP_TUNNEL_IPV4);
            gsoSize(b, off, gsoSize);
            hdrLen(b, off, headerBytes);
            b.putShort(off + OUTER_TH_OFFSET_OFFSET, (short) outerTransport, LE);
            b.putShort(off + INNER_NH_OFFSET_OFFSET, (short) innerNetwork, LE);
        }
    }

    private static final int TCP_CHECKSUM_OFFSET = 16;
}
