package org.egressgw.core.io;

import java.nio.ByteOrder;
import org.agrona.BufferUtil;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.core.datapath.TunnelSink;
import org.egressgw.encap.VxlanEncapsulator;
import org.egressgw.packet.Checksum;
import org.egressgw.packet.Ipv4;
import org.egressgw.tunio.RawIpSender;
import org.egressgw.tunio.TunDevice;
import org.egressgw.tunio.VirtioNetHeader;

/**
 * The tunnel's transmit side with the transmit offload: single packets leave through the raw socket in
 * {@code sendmmsg} batches, as with {@link RawTunnelSink} (the datapath finishes a started checksum of a single
 * packet itself); a TCP super-packet of up to 64 KiB, its inner checksum only started, is written to a TAP
 * device with a virtio-net tunnel header ({@link VirtioNetHeader#tunnelled}) and an Ethernet header addressed to
 * the TAP device itself. The kernel takes it as arriving on that interface, routes it to the node like any
 * packet it forwards, and keeps it one packet for as far as the path allows: through a veth pair into a kernel
 * VXLAN device the whole way (the node decapsulates one packet and hands its pod one), onto a NIC cut in
 * hardware, elsewhere cut in software just before the device. Either way the gateway translated and
 * encapsulated it once.
 *
 * <p>Order: a flow's packets may take either path (an ACK through the socket, data through the TAP device),
 * so everything batched for the socket is flushed before each TAP write.
 *
 * <p>Outer IPv4 identification: the raw socket lets the kernel choose it; a forwarded packet keeps what it
 * carries, and the kernel numbers the segments it cuts upwards from it. So each super-packet gets the next
 * block of IDs from a counter here (DF stays clear, as on Linux's VXLAN device), never the same ones twice
 * in a row (RFC 6864).
 *
 * <p>Threading: the datapath thread only.
 */
public final class OffloadTunnelSink extends RawTunnelSink {
    /** Ethernet header in front of the outer IPv4 packet on the TAP device. */
    static final int ETH = 14;
    static final int HEADER = VirtioNetHeader.TUNNEL_LENGTH + ETH;
    /** Any locally administered address: the kernel does not look at the source of a frame it routes. */
    private static final long SOURCE_MAC = 0x02_00_00_00_00_01L;

    private final TunDevice tap;
    private final UnsafeBuffer header = new UnsafeBuffer(BufferUtil.allocateDirectAligned(64, 64));
    /** A view of the packet being sent (re-pointed, never allocated per packet). */
    private final UnsafeBuffer packet = new UnsafeBuffer(0L, 0);
    private int nextId;

    /**
     * @param tap opened as TAP with {@link VirtioNetHeader#TUNNEL_LENGTH} and {@link TunDevice#OFFLOAD_UDP_TUNNEL_GSO}
     * @param tapMac the TAP device's own Ethernet address (frames to any other address are not routed); the
     *        gateway sets it itself, so that nothing on the host (udev) changes it after it was read
     */
    public OffloadTunnelSink(RawIpSender raw, TunDevice tap, long tapMac) {
        this(raw, tap, tapMac, 0);
    }

    /** @param firstId the first outer IPv4 identification (shards start apart, so their blocks rarely meet) */
    public OffloadTunnelSink(RawIpSender raw, TunDevice tap, long tapMac, int firstId) {
        super(raw);
        if (tap.vnetHeaderLength() != VirtioNetHeader.TUNNEL_LENGTH) {
            throw new IllegalArgumentException("TAP device " + tap.name() + " has a " + tap.vnetHeaderLength()
                    + "-byte vnet header, not " + VirtioNetHeader.TUNNEL_LENGTH);
        }
        this.tap = tap;
        int eth = VirtioNetHeader.TUNNEL_LENGTH;
        for (int i = 0; i < 6; i++) {
            header.putByte(eth + i, (byte) (tapMac >>> (40 - 8 * i)));
            header.putByte(eth + 6 + i, (byte) (SOURCE_MAC >>> (40 - 8 * i)));
        }
        header.putShort(eth + 12, (short) 0x0800, ByteOrder.BIG_ENDIAN);
        this.nextId = firstId & 0xffff;
    }

    @Override
    public boolean sendOffloaded(long address, int length, int dstIp, int innerGsoType, int gsoSize, int csumStart,
            int csumOffset, int headerBytes) {
        if (sender.pending() > 0) {
            sender.flush();
        }
        writeVnetHeader(header, innerGsoType, gsoSize, csumStart, csumOffset, headerBytes);
        packet.wrap(address, length);
        nextId = identify(packet, nextId, (length - headerBytes + gsoSize - 1) / Math.max(1, gsoSize));
        return tap.write(header.addressOffset(), HEADER, address, length) > 0;
    }

    /**
     * Writes the virtio-net tunnel header for an outer IPv4 packet (no options) that will follow an Ethernet
     * header; offsets given from the outer IPv4 header are turned into offsets from the frame's first byte.
     */
    static void writeVnetHeader(MutableDirectBuffer b, int innerGsoType, int gsoSize, int csumStart, int csumOffset,
            int headerBytes) {
        VirtioNetHeader.tunnelled(b, 0, innerGsoType, gsoSize, ETH + csumStart, csumOffset,
                ETH + Ipv4.MIN_HEADER_LENGTH, ETH + VxlanEncapsulator.OVERHEAD, ETH + headerBytes);
    }

    /**
     * Gives the outer IPv4 header at {@code outer}'s start the identification {@code id}, fixing its checksum,
     * and returns the first identification after the {@code segments} the kernel will number from it.
     */
    static int identify(MutableDirectBuffer outer, int id, int segments) {
        int old = Ipv4.identification(outer, 0);
        Ipv4.identification(outer, 0, id & 0xffff);
        Ipv4.headerChecksum(outer, 0, Checksum.update16(Ipv4.headerChecksum(outer, 0), old, id & 0xffff));
        return (id + segments) & 0xffff;
    }
}
