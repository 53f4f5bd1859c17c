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

    /** Sends everything queued; returns the number of packets the kernel accepted. */
    int flush();
}
