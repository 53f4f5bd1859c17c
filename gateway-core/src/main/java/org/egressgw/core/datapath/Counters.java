package org.egressgw.core.datapath;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Counters of one writer thread.
 *
 * <p>Concurrency: exactly one thread (the owner) increments; any thread may read. Writes and reads
 * are opaque: a reader sees each counter's value eventually and never torn, which is all a metrics
 * scrape needs, at the cost of a plain store on the hot path (no lock prefix, no contention, no
 * allocation). Totals across threads are summed by the reader.
 */
public final class Counters {
    /** Index of the first drop counter; the one for reason r is {@code DROPS + r}. */
    public static final int RX_PACKETS = 0;
    public static final int RX_BYTES = 1;
    public static final int TX_PACKETS = 2;
    public static final int TX_BYTES = 3;
    public static final int ARP_REPLIES = 4;
    public static final int MSS_CLAMPED = 5;
    public static final int FRAG_NEEDED_SENT = 6;
    public static final int CONN_CREATED = 7;
    public static final int CONN_EXPIRED = 8;
    public static final int CONN_EVICTED = 9;
    public static final int ICMP_ERRORS_SENT = 10;
    public static final int ICMP_ERRORS_TRANSLATED = 11;
    /** Replies that carried several TCP segments in one super-packet (read, translated and sent as one). */
    public static final int SUPER_PACKETS = 12;
    /** Replies too big for the tunnel, without DF, that the gateway cut into fragments (each counted once as sent). */
    public static final int FRAGMENTED = 13;
    public static final int DROPS = 14;
    public static final int SIZE = DROPS + DropReason.COUNT;

    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

    private final long[] values = new long[SIZE];

    public void increment(int index) {
        LONGS.setOpaque(values, index, (long) LONGS.getOpaque(values, index) + 1);
    }

    public void add(int index, long amount) {
        LONGS.setOpaque(values, index, (long) LONGS.getOpaque(values, index) + amount);
    }

    public void drop(int reason) {
        increment(DROPS + reason);
    }

    /**
     * A packet received and dropped before the datapath saw it (by a receiver: ring full, oversize): counted as
     * received too, so that received = sent + dropped holds over every writer's counters together.
     */
    public void dropReceived(int reason, long bytes) {
        increment(RX_PACKETS);
        add(RX_BYTES, bytes);
        increment(DROPS + reason);
    }

    public long get(int index) {
        return (long) LONGS.getOpaque(values, index);
    }

    /** Counter {@code index} summed over {@code counters} (each shard's, say), as a reader sees them now. */
    public static long sum(Counters[] counters, int index) {
        long total = 0;
        for (Counters c : counters) {
            total += c.get(index);
        }
        return total;
    }

    public long drops(int reason) {
        return get(DROPS + reason);
    }
}
