package org.egressgw.core.io;

import java.nio.ByteOrder;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.core.datapath.TunnelSink;
import org.egressgw.encap.VxlanEncapsulator;
import org.egressgw.packet.Ipv4;
import org.egressgw.tunio.RawIpSender;
import org.egressgw.tunio.TunDevice;
import org.egressgw.tunio.VirtioNetHeader;

/**
 * The tunnel's transmit side when replies may arrive as TCP super-packets: plain packets leave through the raw
 * socket in {@code sendmmsg} batches, as with {@link RawTunnelSink}; a packet whose inner checksum is only
 * started — above all a super-packet of up to 64 KiB — is written to a TAP device with a virtio-net tunnel
 * header ({@link VirtioNetHeader#tunnelled}) and an Ethernet header addressed to the TAP device itself. The
 * kernel takes it as arriving on that interface, routes it to the node like any packet it forwards, and keeps
 * it one packet for as far as the path allows: through a veth pair into a kernel VXLAN device the whole way
 * (the node decapsulates one packet and hands its pod one), onto a NIC cut in hardware, elsewhere cut in
 * software just before the device. Either way the gateway translated and encapsulated it once.
 *
 * <p>Order: a flow's packets may take either path (an ACK-only packet through the socket, data through the TAP
 * device), so everything batched for the socket is flushed before each TAP write.
 *
 * <p>Threading: the datapath thread only.
 */
public final class OffloadTunnelSink implements TunnelSink {
    /** Ethernet header in front of the outer IPv4 packet on the TAP device. */
    private static final int ETH = 14;
    private static final int HEADER = VirtioNetHeader.TUNNEL_LENGTH + ETH;
    /** Any locally administered address: the kernel does not look at the source of a frame it routes. */
    private static final long SOURCE_MAC = 0x02_00_00_00_00_01L;

    private final RawIpSender raw;
    private final TunDevice tap;
    private final UnsafeBuffer header = new UnsafeBuffer(BufferUtil.allocateDirectAligned(64, 64));

    /**
     * @param tap opened as TAP with {@link VirtioNetHeader#TUNNEL_LENGTH} and {@link TunDevice#OFFLOAD_UDP_TUNNEL_GSO}
     * @param tapMac the TAP device's own Ethernet address (frames to any other address are not routed)
     */
    public OffloadTunnelSink(RawIpSender raw, TunDevice tap, long tapMac) {
        if (tap.vnetHeaderLength() != VirtioNetHeader.TUNNEL_LENGTH) {
            throw new IllegalArgumentException("TAP device " + tap.name() + " has a " + tap.vnetHeaderLength()
                    + "-byte vnet header, not " + VirtioNetHeader.TUNNEL_LENGTH);
        }
        this.raw = raw;
        this.tap = tap;
        int eth = VirtioNetHeader.TUNNEL_LENGTH;
        for (int i = 0; i < 6; i++) {
            header.putByte(eth + i, (byte) (tapMac >>> (40 - 8 * i)));
            header.putByte(eth + 6 + i, (byte) (SOURCE_MAC >>> (40 - 8 * i)));
        }
        header.putShort(eth + 12, (short) 0x0800, ByteOrder.BIG_ENDIAN);
    }

    @Override
    public boolean add(long address, int length, int dstIp) {
        return raw.add(address, length, dstIp);
    }

    @Override
    public boolean sendOffloaded(long address, int length, int dstIp, int innerGsoType, int gsoSize, int csumStart,
            int csumOffset, int headerBytes) {
        if (raw.pending() > 0) {
            raw.flush();
        }
        // offsets count from the Ethernet header; the encapsulator's outer IPv4 header has no options
        VirtioNetHeader.tunnelled(header, 0, innerGsoType, gsoSize, ETH + csumStart, csumOffset,
                ETH + Ipv4.MIN_HEADER_LENGTH, ETH + VxlanEncapsulator.OVERHEAD, ETH + headerBytes);
        return tap.write(header.addressOffset(), HEADER, address, length) > 0;
    }

    @Override
    public int flush() {
        return raw.pending() == 0 ? 0 : raw.flush();
    }
}
