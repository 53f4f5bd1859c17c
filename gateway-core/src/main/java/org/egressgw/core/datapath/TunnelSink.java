package org.egressgw.core.datapath;

/**
 * Where encapsulated packets for the nodes go (a raw IPv4 socket with batched {@code sendmmsg} in
 * production, memory in tests). Packets are queued by address: the memory must stay untouched until
 * {@link #flush()}, which the datapath calls at the end of every ring batch, before the ring may
 * reuse the slots.
 */
public interface TunnelSink {
    /**
     * Queues a complete outer IPv4 packet (a translated reply); false if the batch is full (flush, then retry). A
     * queued packet the kernel refuses at {@link #flush} is counted in {@link #lostPackets()}.
     */
    boolean add(long address, int length, int dstIp);

    /**
     * Sends a packet the gateway originates on the tunnel (an ARP reply, an ICMP error to a pod) at once, outside
     * the batch, so that its fate is known here: such packets are rare, and are not the reply direction's.
     *
     * @return false if the kernel refused it
     */
    default boolean sendNow(long address, int length, int dstIp) {
        if (!add(address, length, dstIp)) {
            flush();
            if (!add(address, length, dstIp)) {
                return false;
            }
        }
        flush();
        return true;
    }

    /**
     * Sends one outer IPv4 packet carrying a TCP super-packet whose checksum is only started, for the kernel to
     * segment (see {@code OffloadTunnelSink}); packets queued before it leave first. (The datapath finishes the
     * checksum of a single packet itself and uses {@link #add}.) Sinks without offload support return false, and
     * the datapath never produces such packets for them.
     *
     * @param innerGsoType the inner segmentation type (virtio-net numbering, e.g. TCPV4, with ECN if set)
     * @param gsoSize payload bytes per segment
     * @param csumStart where the inner transport header starts, from the outer IPv4 header
     * @param csumOffset where its checksum field lies within it
     * @param headerBytes outer + inner headers up to the end of the inner transport header
     * @return false if the kernel refused it
     */
    default boolean sendOffloaded(long address, int length, int dstIp, int innerGsoType, int gsoSize, int csumStart,
            int csumOffset, int headerBytes) {
        return false;
    }

    /** Sends everything queued; returns the number of packets the kernel accepted. */
    int flush();

    /** Packets queued with {@link #add} that the kernel refused, since the sink was created (datapath thread). */
    default long lostPackets() {
        return 0;
    }

    /** The bytes of {@link #lostPackets()}. */
    default long lostBytes() {
        return 0;
    }
}
