package org.egressgw.core.io;

import io.netty.channel.SelectStrategy;
import io.netty.util.IntSupplier;

/**
 * The inline event loop's idle strategy: while packets keep coming it polls its descriptors
 * ({@code epoll_wait} with timeout 0, tasks run in between) instead of blocking, and only after
 * {@code pollNanos} without any descriptor event does it block in {@code epoll_wait}. A gateway
 * with traffic then never waits for its thread to be woken (on a VM an idle vCPU takes tens of
 * microseconds to wake, about a whole kernel round trip), and an idle gateway uses no CPU.
 * {@code Long.MAX_VALUE} never blocks; 0 blocks as soon as nothing is ready (Netty's default).
 *
 * <p>One instance per event loop (it keeps the time of the last event); not thread-safe.
 */
public final class PollThenBlock implements SelectStrategy {
    private final long pollNanos;
    private long lastEvent = System.nanoTime();

    public PollThenBlock(long pollNanos) {
        if (pollNanos < 0) {
            throw new IllegalArgumentException("pollNanos " + pollNanos + " < 0");
        }
        this.pollNanos = pollNanos;
    }

    @Override
    public int calculateStrategy(IntSupplier selectNow, boolean hasTasks) throws Exception {
        if (pollNanos == 0 && !hasTasks) {
            return SelectStrategy.SELECT;
        }
        int ready = selectNow.get();
        if (ready > 0) {
            lastEvent = System.nanoTime();
            return ready;
        }
        if (hasTasks || pollNanos == Long.MAX_VALUE || System.nanoTime() - lastEvent < pollNanos) {
            // nothing ready: go round again (running tasks) without blocking
            return ready;
        }
        return SelectStrategy.SELECT;
    }
}
