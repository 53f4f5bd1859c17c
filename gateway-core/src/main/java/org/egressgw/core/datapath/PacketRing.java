package org.egressgw.core.datapath;

import com.lmax.disruptor.EventPoller;
import com.lmax.disruptor.RingBuffer;
import com.lmax.disruptor.YieldingWaitStrategy;
import java.nio.ByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A single-producer Disruptor ring whose events are windows over one off-heap slab
 * ({@code size × slotSize} bytes, allocated once). The datapath consumes it through an
 * {@link EventPoller}, so one worker thread can drive several rings in one duty cycle.
 */
public final class PacketRing {
    private final RingBuffer<PacketEvent> ring;
    private final EventPoller<PacketEvent> poller;
    private final int slotSize;
    private final ByteBuffer slab;

    public PacketRing(int size, int slotSize) {
        this.slotSize = slotSize;
        this.slab = ByteBuffer.allocateDirect(Math.multiplyExact(size, slotSize));
        int[] next = {0};
        // each slot wraps the slab itself (not a bare address), so the slab stays reachable — and
        // its native memory alive — for as long as any slot is, whatever happens to this object
        this.ring = RingBuffer.createSingleProducer(() -> new PacketEvent(new UnsafeBuffer(slab, next[0]++ * slotSize, slotSize)),
                size, new YieldingWaitStrategy());
        this.poller = ring.newPoller();
        ring.addGatingSequences(poller.getSequence());
    }

    /**
     * The slot size for packets of up to {@code largestPacket} bytes: room for the packet behind the larger
     * headroom ({@link PacketEvent#REPLY_OFFSET}), rounded up to a power of two.
     */
    public static int slotSize(int largestPacket) {
        return Integer.highestOneBit(largestPacket + PacketEvent.REPLY_OFFSET - 1) << 1;
    }

    public RingBuffer<PacketEvent> ring() {
        return ring;
    }

    public EventPoller<PacketEvent> poller() {
        return poller;
    }

    public int slotSize() {
        return slotSize;
    }

    int slabCapacity() {
        return slab.capacity();
    }
}
