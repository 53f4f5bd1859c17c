package org.egressgw.core.ha;

import java.util.concurrent.atomic.AtomicLong;

/** The state sync's counters, for metrics (any thread). */
final class SyncCounters {
    /** Frames or handshakes refused: another key, an altered or replayed stream. */
    final AtomicLong authFailures = new AtomicLong();
    /** Records received from peers and handed to the datapaths. */
    final AtomicLong recordsReceived = new AtomicLong();
    /** Records sent to peers (all links). */
    final AtomicLong recordsSent = new AtomicLong();
}
