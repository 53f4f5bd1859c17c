package org.egressgw.core.datapath;

import com.lmax.disruptor.EventPoller;
import com.lmax.disruptor.RingBuffer;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import org.agrona.concurrent.IdleStrategy;
import org.egressgw.conntrack.TimeoutPolicy;

/**
 * The datapath thread's duty cycle (an Agrona-style agent): read the clock once, drain the
 * request ring, drain the reply ring, expire a slice of the connection table every 100 ms, and
 * back off when there was nothing to do. Transmit batches are flushed at the end of every ring
 * batch, while the slots they point into still belong to this thread.
 */
public final class Worker implements Runnable {
    public static final long EXPIRY_INTERVAL_MILLIS = 100;
    /** Connections from the group's peers installed per duty cycle at most (a bulk resync is spread out). */
    static final int APPLY_PER_CYCLE = 4096;
    private static final long STATS_INTERVAL_MILLIS = 1000;
    /** Idle duty cycles (spins and yields of the idle strategy) before the thread sleeps. */
    static final int SLEEP_AFTER_IDLE_CYCLES = 2000;
    /** Longest sleep, so expiry and statistics still run on time on an idle gateway. */
    static final long MAX_SLEEP_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final Datapath datapath;
    private final EventPoller<PacketEvent> requests;
    private final EventPoller<PacketEvent> replies;
    private final RingBuffer<PacketEvent> requestRing;
    private final RingBuffer<PacketEvent> replyRing;
    private final IdleStrategy idle;
    private final LongSupplier clock;
    private final TimeoutPolicy timeouts;
    private final int expiryVisits;
    private volatile boolean running = true;
    private volatile boolean started;
    /** Set while the datapath thread is (about to be) parked; producers unpark it after publishing. */
    private volatile boolean sleeping;
    private final boolean spinWhenIdle;
    private volatile Thread thread;
    private long now;
    private long nextExpiry;
    private long nextStats;
    private int handled;

    private final EventPoller.Handler<PacketEvent> requestHandler = (ev, seq, endOfBatch) -> {
        if (ev.length >= 0) {
            datapath().onRequest(ev.buffer, ev.address, ev.offset, ev.length, ev.peerIp, now);
        }
        handled++;
        if (endOfBatch) {
            datapath().flush();
        }
        return true;
    };

    private final EventPoller.Handler<PacketEvent> replyHandler = (ev, seq, endOfBatch) -> {
        if (ev.length >= 0) {
            datapath().onReply(ev.buffer, ev.address, ev.offset, ev.length, now);
        }
        handled++;
        if (endOfBatch) {
            datapath().flush();
        }
        return true;
    };

    public Worker(Datapath datapath, PacketRing requestRing, PacketRing replyRing, IdleStrategy idle, LongSupplier clock,
            TimeoutPolicy timeouts) {
        this(datapath, requestRing, replyRing, idle, clock, timeouts, false);
    }

    /**
     * @param spinWhenIdle never sleep: keep calling the idle strategy (lowest latency, costs a core)
     */
    public Worker(Datapath datapath, PacketRing requestRing, PacketRing replyRing, IdleStrategy idle, LongSupplier clock,
            TimeoutPolicy timeouts, boolean spinWhenIdle) {
        this.spinWhenIdle = spinWhenIdle;
        this.datapath = datapath;
        this.requestRing = requestRing.ring();
        this.replyRing = replyRing.ring();
        this.requests = requestRing.poller();
        this.replies = replyRing.poller();
        this.idle = idle;
        this.clock = clock;
        this.timeouts = timeouts;
        this.expiryVisits = Math.max(4096, datapath.table().capacity() / 50);
    }

    private Datapath datapath() {
        return datapath;
    }

    public void stop() {
        running = false;
    }

    public boolean isRunning() {
        return started && running;
    }

    /**
     * Called by a producer after it published: wakes the datapath thread if it went to sleep. A
     * volatile read when it is awake. Publishing (a volatile store of the ring cursor) happens
     * before this read, and the thread sets {@code sleeping} before it checks the rings one last
     * time, so one of the two always sees the other: no wake-up is lost.
     */
    public void wake() {
        // the ring cursor is published with a release store, which a later load may pass: the full
        // fence orders the publication before the read of {@code sleeping} (Dekker), else a
        // wake-up can be lost and the thread sleeps its full timeout
        VarHandle.fullFence();
        if (sleeping) {
            Thread t = thread;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    /**
     * The duty cycle: busy-spin, then yield (the {@code idle} strategy given, which must not park
     * long), and after {@link #SLEEP_AFTER_IDLE_CYCLES} idle cycles sleep until a producer wakes
     * the thread — so an idle gateway burns no core and a packet arriving at an idle gateway waits
     * for one thread wake-up, not for a back-off timer to expire.
     */
    @Override
    public void run() {
        thread = Thread.currentThread();
        started = true;
        int idleCycles = 0;
        try {
            while (running) {
                int work = doWork();
                if (work > 0) {
                    idleCycles = 0;
                    idle.reset();
                    continue;
                }
                if (spinWhenIdle || ++idleCycles < SLEEP_AFTER_IDLE_CYCLES) {
                    idle.idle(0);
                    continue;
                }
                sleeping = true;
                VarHandle.fullFence();
                if (!pending()) {
                    LockSupport.parkNanos(this, MAX_SLEEP_NANOS);
                }
                sleeping = false;
                idleCycles = 0;
            }
        } catch (Exception e) {
            // a bug, not bad input: bad input is counted inside the datapath
            running = false;
            throw new IllegalStateException("datapath stopped", e);
        } finally {
            datapath.flush();
        }
    }

    /**
     * Inline pipeline: the caller's thread (the I/O event loop, which is also the rings' only
     * producer) becomes the datapath thread and this call drains both rings once. Must always be
     * called from that same thread. A failure is a bug: it stops the worker (health goes red)
     * and is rethrown.
     */
    public void pollInline() {
        if (!running) {
            return;
        }
        if (!started) {
            thread = Thread.currentThread();
            started = true;
        }
        try {
            doWork();
        } catch (Exception | Error e) {
            running = false;
            // said here: thrown from a scheduled task the exception would only fail that task's future
            System.err.println("datapath stopped: " + e);
            e.printStackTrace();
            datapath.flush();
            throw new IllegalStateException("datapath stopped", e);
        }
    }

    /** True if a producer published something this thread has not handled yet (packets or a peer's connections). */
    private boolean pending() {
        return requestRing.getCursor() > requests.getSequence().get() || replyRing.getCursor() > replies.getSequence().get()
                || datapath.syncPending();
    }

    /** One duty cycle; returns the amount of work done (0 = idle). */
    public int doWork() throws Exception {
        now = clock.getAsLong();
        handled = 0;
        requests.poll(requestHandler);
        replies.poll(replyHandler);
        int work = handled + datapath.applySync(APPLY_PER_CYCLE, now);
        if (now >= nextExpiry) {
            work += datapath.expire(now, expiryVisits, timeouts);
            nextExpiry = now + EXPIRY_INTERVAL_MILLIS;
        }
        if (now >= nextStats) {
            datapath.publishStats();
            nextStats = now + STATS_INTERVAL_MILLIS;
        }
        return work;
    }
}
