package org.egressgw.core.datapath;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * One preallocated ring slot: a fixed window of a shared off-heap slab plus the metadata of the
 * packet in it. Producers write into {@link #buffer} and set the fields; the datapath rewrites the
 * packet in place and transmits it from the same memory. Nothing is allocated per packet.
 */
public final class PacketEvent {
    /**
     * Where a request packet (the VXLAN payload of a tunnel datagram) starts in its slot: room for an outer IPv4 and
     * UDP header in front, for the ICMP errors built there.
     */
    public static final int REQUEST_OFFSET = 32;
    /**
     * Where a reply packet (inner IPv4, read from the TUN device) starts in its slot: room for the whole
     * encapsulation in front, written in place, and for a virtio-net header read with the packet.
     */
    public static final int REPLY_OFFSET = 64;

    /** The slot's memory (capacity = slot size). */
    public final UnsafeBuffer buffer;
    /** Native address of the slot's first byte. */
    public final long address;
    /** Where the packet starts within the slot. */
    public int offset;
    /**
     * Packet length in bytes (0 is a real, empty datagram, which the datapath counts); negative
     * means "nothing here, skip" (a read that found no data, or a packet the receiver already
     * counted as a drop).
     */
    public int length;
    /** Outer source IPv4 address (tunnel side) in network order. */
    public int peerIp;

    PacketEvent(UnsafeBuffer buffer) {
        this.buffer = buffer;
        this.address = buffer.addressOffset();
    }
}
