package org.egressgw.core.datapath;

/**
 * Counts what a sink only queues — TCP segments held for coalescing, datagrams batched for {@code sendmmsg} — as
 * sent once the batch is flushed, less what the sink reports it lost meanwhile (counted as {@code tx_failed}). A
 * sink's losses can only be packets queued since the previous flush, so the published counters only ever grow and
 * {@code rx = tx + drops} holds after every flush.
 *
 * <p>Threading: the datapath thread only (it owns the counters it settles into).
 */
final class TxLedger {
    private final Counters counters;
    private long queued;
    private long queuedBytes;
    private long lost;
    private long lostBytes;

    TxLedger(Counters counters) {
        this.counters = counters;
    }

    /** A packet of {@code length} bytes the sink accepted into its batch. */
    void queued(int length) {
        queued++;
        queuedBytes += length;
    }

    /**
     * After the sink flushed: counts the batch as sent, less the sink's losses since the last settlement.
     *
     * @param sinkLost packets the sink lost after accepting them, since it was created
     * @param sinkLostBytes their bytes
     */
    void settle(long sinkLost, long sinkLostBytes) {
        long lostNow = sinkLost - lost;
        long lostBytesNow = sinkLostBytes - lostBytes;
        lost = sinkLost;
        lostBytes = sinkLostBytes;
        if (queued > 0) {
            counters.add(Counters.TX_PACKETS, queued - lostNow);
            counters.add(Counters.TX_BYTES, queuedBytes - lostBytesNow);
            queued = 0;
            queuedBytes = 0;
        }
        if (lostNow > 0) {
            counters.add(Counters.DROPS + DropReason.TX_FAILED, lostNow);
        }
    }
}
