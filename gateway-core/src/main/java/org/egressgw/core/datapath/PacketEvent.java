package org.egressgw.core.datapath;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * One preallocated ring slot: a fixed window of a shared off-heap slab plus the metadata of the
 * packet in it. Producers write into {@link #buffer} and set the fields; the datapath rewrites the
 * packet in place and transmits it from the same memory. Nothing is allocated per packet.
 */
public final class PacketEvent {
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
