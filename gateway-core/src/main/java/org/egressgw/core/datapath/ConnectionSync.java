package org.egressgw.core.datapath;

import java.nio.ByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.OneToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import org.egressgw.conntrack.ConnTable;

/**
 * A shard's two lanes to the gateway group's state sync, off the packet path:
 *
 * <ul>
 *   <li><b>out</b>: the datapath records what changed in its connection table — a connection created, its TCP/UDP
 *       state or node changed ({@link SyncRecord#UPSERT}), a connection removed ({@link SyncRecord#REMOVE}, only
 *       while this member {@link #originatesRemovals(boolean) is active}: a standby's own expiry must never delete a live
 *       connection on the active member) — into a preallocated single-producer ring; the sync thread reads it. The
 *       datapath never waits: when the ring is full the record is counted as lost ({@link #lost()}) and the sync
 *       thread's periodic refresh sends the connection anyway;
 *   <li><b>in</b>: the sync thread puts what a peer sent into a second ring, which the datapath drains in its duty
 *       cycle ({@link Datapath#applySync}), so the connection table keeps its single writer.
 * </ul>
 *
 * <p>Threading: {@link #upserted}, {@link #removed} and the in-ring's reads on the shard's datapath thread; the
 * out-ring's reads and {@link #offer} on the sync thread; the flags from anywhere.
 */
public final class ConnectionSync {
    /** Bytes of each ring (records of {@link SyncRecord#LENGTH} bytes plus a header each). */
    static final int RING_BYTES = 1 << 20;

    private final OneToOneRingBuffer out = ring();
    private final OneToOneRingBuffer in = ring();
    private volatile boolean originatesRemovals;
    private volatile Runnable waker = () -> { };
    private long lost;

    private static OneToOneRingBuffer ring() {
        return new OneToOneRingBuffer(new UnsafeBuffer(
                ByteBuffer.allocateDirect(RING_BYTES + RingBufferDescriptor.TRAILER_LENGTH)));
    }

    /** Datapath: entry {@code e} was created or changed in a way a peer must know. */
    void upserted(ConnTable t, int e, long nowMillis) {
        record(SyncRecord.UPSERT, t, e, nowMillis);
    }

    /** Datapath: entry {@code e} is about to be removed (expired, evicted). */
    void removed(ConnTable t, int e, long nowMillis) {
        if (originatesRemovals) {
            record(SyncRecord.REMOVE, t, e, nowMillis);
        }
    }

    private void record(int type, ConnTable t, int e, long nowMillis) {
        int i = out.tryClaim(type, SyncRecord.LENGTH);
        if (i < 0) {
            lost++;
            return;
        }
        SyncRecord.writeLocal(t, e, nowMillis, out.buffer(), i);
        out.commit(i);
    }

    /** Whether this member's own removals go to its peers (true while it is the active member). */
    public void originatesRemovals(boolean on) {
        originatesRemovals = on;
    }

    /** Records the datapath could not queue (ring full); a stale read from another thread is fine. */
    public long lost() {
        return lost;
    }

    /** The datapath's records, for the sync thread. */
    public OneToOneRingBuffer outbound() {
        return out;
    }

    /**
     * Sync thread: queues a peer's record for the datapath to apply; false if the ring is full (try again after
     * the datapath caught up).
     */
    public boolean offer(int type, org.agrona.DirectBuffer record, int off) {
        return in.write(type, record, off, SyncRecord.LENGTH);
    }

    /**
     * How to get the datapath to apply what arrived soon, rather than at its next housekeeping tick (which for an
     * idle standby comes every 100 ms and applies at most a few thousand records): the pipeline sets it when its
     * threads run. Must be cheap and safe from any thread.
     */
    public void waker(Runnable waker) {
        this.waker = waker;
    }

    /** Sync thread: records were offered (or the ring is full); the datapath should run soon. */
    public void wake() {
        waker.run();
    }

    /** Records waiting for the datapath to apply them. */
    public int pending() {
        return in.size();
    }

    OneToOneRingBuffer inbound() {
        return in;
    }
}
