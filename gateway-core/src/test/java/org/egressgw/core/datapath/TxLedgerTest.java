package org.egressgw.core.datapath;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** What a sink only queued is counted as sent at the flush, less its losses since the last one; counters only grow. */
class TxLedgerTest {
    @Test
    void aBatchIsSentLessWhatTheSinkLost() {
        Counters c = new Counters();
        TxLedger ledger = new TxLedger(c);
        for (int i = 0; i < 10; i++) {
            ledger.queued(100);
        }
        assertEquals(0, c.get(Counters.TX_PACKETS), "nothing before the flush");
        ledger.settle(3, 300);
        assertEquals(7, c.get(Counters.TX_PACKETS));
        assertEquals(700, c.get(Counters.TX_BYTES));
        assertEquals(3, c.drops(DropReason.TX_FAILED));
        ledger.queued(50);
        ledger.settle(3, 300);
        assertEquals(8, c.get(Counters.TX_PACKETS), "the sink's earlier losses are not counted twice");
        assertEquals(750, c.get(Counters.TX_BYTES));
        assertEquals(3, c.drops(DropReason.TX_FAILED));
        ledger.settle(3, 300);
        assertEquals(8, c.get(Counters.TX_PACKETS), "an empty batch changes nothing");
    }
}
