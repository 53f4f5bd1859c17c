package org.egressgw.core.datapath;

/**
 * Where encapsulated packets for the nodes go (a raw IPv4 socket with batched {@code sendmmsg} in
 * production, memory in tests). Packets are queued by address: the memory must stay untouched until
 * {@link #flush()}, which the datapath calls at the end of every ring batch, before the ring may
 * reuse the slots.
 */
public interface TunnelSink {
    /** Queues a complete outer IPv4 packet; false if the batch is full (flush, then retry). */
    boolean add(long address, int length, int dstIp);

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
}
