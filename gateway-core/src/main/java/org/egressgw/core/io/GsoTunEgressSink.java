package org.egressgw.core.io;

import org.egressgw.core.datapath.EgressSink;
import org.egressgw.tunio.TcpCoalescer;
import org.egressgw.tunio.TunDevice;
import org.egressgw.tunio.VirtioNetHeader;

/**
 * Request packets leave through a TUN device opened with a vnet header ({@code TunDevice.open(name, true,
 * true)}), with the in-order TCP segments of each flow in one ring batch joined into super-packets the kernel
 * segments again ({@link TcpCoalescer}): one write per run of up to ~44 segments instead of one per segment.
 *
 * <p>{@link #write} only hands the packet to the coalescer (it is copied, the slot may be reused); TCP data
 * segments are held until {@link #flush}, which the datapath must call at the end of every ring batch and
 * before its thread stops — otherwise they are never sent. Everything else (SYN, FIN, pure ACKs, UDP, ICMP) is
 * written at once, after its flow's held segments, so per-flow order is kept.
 *
 * <p>Drops: a write-through that the kernel refuses returns 0 from {@link #write}, and the caller counts it; a held
 * segment lost in a refused super-packet write was accepted by {@link #write}, so it is reported as lost
 * ({@link #lostPackets()}, {@link #lostBytes()}) for the caller to count at the end of the batch.
 *
 * <p>Threading: the datapath thread only, like the coalescer; counters may be read elsewhere as stale values.
 */
public final class GsoTunEgressSink implements EgressSink {
    private final TunDevice tun;
    private final TcpCoalescer coalescer;

    /**
     * @param tun opened with a vnet header
     * @throws IllegalArgumentException naming the device if it was opened without one
     */
    public GsoTunEgressSink(TunDevice tun) {
        this(tun, TcpCoalescer.DEFAULT_MAX_FLOWS);
    }

    /**
     * @param tun opened with a vnet header
     * @param maxFlows flows coalesced per batch (64 KiB of native memory each)
     * @throws IllegalArgumentException naming the device if it was opened without a vnet header, or the value
     *         of maxFlows if out of range
     */
    public GsoTunEgressSink(TunDevice tun, int maxFlows) {
        if (tun.vnetHeaderLength() != VirtioNetHeader.LENGTH) {
            throw new IllegalArgumentException("TUN device " + tun.name() + " was opened without IFF_VNET_HDR");
        }
        this.tun = tun;
        this.coalescer = new TcpCoalescer(tun::write, maxFlows, true);
    }

    /** Queues (or writes) one IPv4 packet; returns {@code length}, or 0 if written at once and dropped. */
    @Override
    public int write(long address, int length) {
        return coalescer.offer(address, length) ? length : 0;
    }

    /** Writes every held super-packet; call at the end of each ring batch. */
    @Override
    public void flush() {
        coalescer.flush();
    }

    /** The TUN device written to. */
    public TunDevice tun() {
        return tun;
    }

    /** Super-packets written (runs of two or more segments). */
    public long superPackets() {
        return coalescer.superPackets();
    }

    /** Segments that left inside super-packets. */
    public long segmentsCoalesced() {
        return coalescer.segmentsCoalesced();
    }

    /** Packets written one per write. */
    public long singlePackets() {
        return coalescer.singlePackets();
    }

    /** Packets lost in refused writes (written through or held), counting every segment of a super-packet. */
    public long droppedPackets() {
        return coalescer.droppedPackets();
    }

    @Override
    public long lostPackets() {
        return coalescer.heldLostPackets();
    }

    @Override
    public long lostBytes() {
        return coalescer.heldLostBytes();
    }
}
