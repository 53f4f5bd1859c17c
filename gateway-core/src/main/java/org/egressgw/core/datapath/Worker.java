package org.egressgw.core.datapath;

import com.lmax.disruptor.EventPoller;
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
    private static final long EXPIRY_INTERVAL_MILLIS = 100;
    private static final long STATS_INTERVAL_MILLIS = 1000;

    private final Datapath datapath;
    private final EventPoller<PacketEvent> requests;
    private final EventPoller<PacketEvent> replies;
    private final IdleStrategy idle;
    private final LongSupplier clock;
    private final TimeoutPolicy timeouts;
    private final int expiryVisits;
    private volatile boolean running = true;
    private volatile boolean started;
    private long now;
    private long nextExpiry;
    private long nextStats;
    private int handled;

    private final EventPoller.Handler<PacketEvent> requestHandler = (ev, seq, endOfBatch) -> {
        if (ev.length > 0) {
            datapath().onRequest(ev.buffer, ev.address, ev.offset, ev.length, ev.peerIp, now);
        }
        handled++;
        if (endOfBatch) {
            datapath().flush();
        }
        return true;
    };

    private final EventPoller.Handler<PacketEvent> replyHandler = (ev, seq, endOfBatch) -> {
        if (ev.length > 0) {
            datapath().onReply(ev.buffer, ev.address, ev.offset, ev.length, now);
        }
        handled++;
        if (endOfBatch) {
            datapath().flush();
        }
        return true;
    };

    public Worker(Datapath datapath, EventPoller<PacketEvent> requests, EventPoller<PacketEvent> replies,
            IdleStrategy idle, LongSupplier clock, TimeoutPolicy timeouts) {
        this.datapath = datapath;
        this.requests = requests;
        this.replies = replies;
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

    @Override
    public void run() {
        started = true;
        try {
            while (running) {
                idle.idle(doWork());
            }
        } catch (Exception e) {
            // a bug, not bad input: bad input is counted inside the datapath
            running = false;
            throw new IllegalStateException("datapath stopped", e);
        } finally {
            datapath.flush();
        }
    }

    /** One duty cycle; returns the amount of work done (0 = idle). */
    public int doWork() throws Exception {
        now = clock.getAsLong();
        handled = 0;
        requests.poll(requestHandler);
        replies.poll(replyHandler);
        int work = handled;
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
