package org.egressgw.conntrack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

class ConnTableTest {
    static final int POD = (10 << 24) | (244 << 16) | (1 << 8) | 10;
    static final int SERVER = (203 << 24) | (113 << 8) | 5;
    static final int EGRESS = (198 << 24) | (51 << 16) | (100 << 8) | 7;

    /** Original key of connection {@code n}: pod:(10000+n) -> server:80. */
    static long origHi(int n) {
        return FlowKey.hi(POD + (n >>> 16), SERVER);
    }

    static long origLo(int n) {
        return FlowKey.lo(6, 10000 + (n & 0xffff), 80, false);
    }

    /** Reply key: server:80 -> egress:(20000+n). */
    static long replyHi(int n) {
        return FlowKey.hi(SERVER, EGRESS + (n >>> 16));
    }

    static long replyLo(int n) {
        return FlowKey.lo(6, 80, 20000 + (n & 0xffff), true);
    }

    static int insert(ConnTable t, int n, long now) {
        return t.insert(origHi(n), origLo(n), replyHi(n), replyLo(n), now);
    }

    @Test
    void insertLookupRemoveFromBothKeys() {
        try (ConnTable t = new ConnTable(100)) {
            assertEquals(100, t.capacity());
            assertEquals(512, t.slotCount());
            int e = insert(t, 1, 1000);
            assertTrue(e >= 0);
            assertEquals(1, t.size());
            assertEquals(e, t.lookup(origHi(1), origLo(1)));
            assertEquals(e, t.lookup(replyHi(1), replyLo(1)));
            assertEquals(ConnTable.NOT_FOUND, t.lookup(origHi(2), origLo(2)));
            assertEquals(ConnTable.NOT_FOUND, t.lookup(origHi(1), origLo(1) | FlowKey.REPLY_BIT));
            assertEquals(origHi(1), t.origHi(e));
            assertEquals(origLo(1), t.origLo(e));
            assertEquals(replyHi(1), t.replyHi(e));
            assertEquals(replyLo(1), t.replyLo(e));
            assertEquals(1000, t.created(e));
            assertEquals(1000, t.lastSeen(e));
            assertEquals(ConnState.NONE, t.state(e));

            t.remove(e);
            assertEquals(0, t.size());
            assertEquals(ConnTable.NOT_FOUND, t.lookup(origHi(1), origLo(1)));
            assertEquals(ConnTable.NOT_FOUND, t.lookup(replyHi(1), replyLo(1)));
            assertFalse(t.isLive(e));
            assertEquals(e, insert(t, 2, 2000), "freed id is reused");
            assertEquals(e, t.lookup(replyHi(2), replyLo(2)));
        }
    }

    @Test
    void fieldsStartZeroAndKeepWhatIsSet() {
        try (ConnTable t = new ConnTable(4)) {
            int e = insert(t, 7, 5);
            t.state(e, ConnState.TCP_ESTABLISHED);
            t.flags(e, 0xdeadbeef);
            t.policy(e, 42);
            t.vtep(e, 0xc0000201);
            t.peerMac(e, 0x0200_5e00_0001L);
            t.touch(e, 99);
            t.count(e, false, 1500);
            t.count(e, false, 40);
            t.count(e, true, 60);
            assertEquals(ConnState.TCP_ESTABLISHED, t.state(e));
            assertEquals(0xdeadbeef, t.flags(e));
            assertEquals(42, t.policy(e));
            assertEquals(0xc0000201, t.vtep(e));
            assertEquals(0x0200_5e00_0001L, t.peerMac(e));
            assertEquals(99, t.lastSeen(e));
            assertEquals(5, t.created(e));
            assertEquals(2, t.packets(e, false));
            assertEquals(1540, t.bytes(e, false));
            assertEquals(1, t.packets(e, true));
            assertEquals(60, t.bytes(e, true));

            t.remove(e);
            int again = insert(t, 8, 6);
            assertEquals(e, again);
            assertEquals(ConnState.NONE, t.state(again));
            assertEquals(0, t.flags(again));
            assertEquals(0, t.policy(again));
            assertEquals(0, t.vtep(again));
            assertEquals(0, t.peerMac(again));
            assertEquals(0, t.packets(again, false));
            assertEquals(0, t.bytes(again, true));
        }
    }

    @Test
    void fullAndExistsChangeNothing() {
        try (ConnTable t = new ConnTable(3)) {
            for (int n = 0; n < 3; n++) {
                assertEquals(n, insert(t, n, 0), "fresh ids are handed out in order");
            }
            assertEquals(ConnTable.FULL, insert(t, 3, 0));
            assertEquals(ConnTable.EXISTS, insert(t, 1, 0), "EXISTS is reported before FULL");
            assertEquals(ConnTable.NOT_FOUND, t.lookup(origHi(3), origLo(3)));
            assertEquals(3, t.size());
            t.remove(1);
            // Either key alone already present -> EXISTS, and the other key is not added.
            assertEquals(ConnTable.EXISTS, t.insert(origHi(0), origLo(0), replyHi(9), replyLo(9), 0));
            assertEquals(ConnTable.EXISTS, t.insert(origHi(9), origLo(9), replyHi(2), replyLo(2), 0));
            assertEquals(ConnTable.NOT_FOUND, t.lookup(replyHi(9), replyLo(9)));
            assertEquals(ConnTable.NOT_FOUND, t.lookup(origHi(9), origLo(9)));
            assertEquals(2, t.size());
            assertEquals(1, insert(t, 9, 0));
        }
    }

    @Test
    void apiMisuseIsRejectedWithTheValue() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new ConnTable(0)).getMessage().contains(": 0"));
        assertThrows(IllegalArgumentException.class, () -> new ConnTable(ConnTable.MAX_ENTRIES + 1));
        try (ConnTable t = new ConnTable(4)) {
            assertThrows(IllegalArgumentException.class, () -> t.insert(1, 2, 1, 2, 0));
            int e = insert(t, 1, 0);
            t.remove(e);
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> t.remove(e));
            assertTrue(ex.getMessage().contains(String.valueOf(e)), ex.getMessage());
            assertThrows(IllegalArgumentException.class, () -> t.remove(3));
            assertThrows(IllegalArgumentException.class, () -> t.remove(-1));
        }
    }

    @Test
    void closeIsIdempotentAndStopsUse() {
        ConnTable t = new ConnTable(1000);
        insert(t, 1, 0);
        t.close();
        t.close();
        assertThrows(IllegalStateException.class, () -> t.lookup(origHi(1), origLo(1)));
        assertThrows(IllegalStateException.class, () -> insert(t, 2, 0));
        assertThrows(IllegalStateException.class, () -> t.expire(0, 10, Timeouts.defaults(), null));
        assertThrows(IllegalStateException.class, () -> t.forEach((table, e) -> { }));
        assertEquals(0, t.size());
    }

    @Test
    void forEachVisitsLiveEntriesOnly() {
        try (ConnTable t = new ConnTable(10)) {
            for (int n = 0; n < 10; n++) {
                insert(t, n, 0);
            }
            t.remove(3);
            t.remove(7);
            List<Integer> seen = new ArrayList<>();
            t.forEach((table, e) -> seen.add(e));
            assertEquals(List.of(0, 1, 2, 4, 5, 6, 8, 9), seen);
        }
    }

    @Test
    void idleForNinetyNinePercentSurvivesOneHundredOnePercentExpires() {
        Timeouts timeouts = Timeouts.defaults();
        long timeout = timeouts.tcpEstablishedMillis();
        long t0 = 1_700_000_000_000L;
        try (ConnTable t = new ConnTable(8)) {
            int e = insert(t, 1, t0);
            t.state(e, ConnState.TCP_ESTABLISHED);
            t.count(e, true, 123);
            List<String> expired = new ArrayList<>();
            ExpiryListener listener = (table, id) -> expired.add(FlowKey.toString(table.origHi(id), table.origLo(id))
                    + " " + ConnState.name(table.state(id)) + " " + table.bytes(id, true) + " " + table.isLive(id));

            long touched = t0 + timeout * 99 / 100;
            assertEquals(0, t.expire(touched, 8, timeouts, listener));
            t.touch(e, touched);
            assertEquals(0, t.expire(touched + timeout * 99 / 100, 8, timeouts, listener));
            assertEquals(0, t.expire(touched + timeout, 8, timeouts, listener), "exactly the timeout is not yet idle");
            assertTrue(expired.isEmpty());
            assertEquals(e, t.lookup(replyHi(1), replyLo(1)));

            assertEquals(1, t.expire(touched + timeout * 101 / 100, 8, timeouts, listener));
            assertEquals(List.of("tcp 10.244.1.10:10001 -> 203.0.113.5:80 TCP_ESTABLISHED 123 true"), expired);
            assertEquals(0, t.size());
            assertEquals(ConnTable.NOT_FOUND, t.lookup(origHi(1), origLo(1)));
        }
    }

    @Test
    void expiryUsesProtocolAndStateAndARollingCursor() {
        Timeouts timeouts = Timeouts.defaults();
        try (ConnTable t = new ConnTable(16)) {
            int closing = insert(t, 1, 0);
            t.state(closing, ConnState.TCP_CLOSING);
            int established = insert(t, 2, 0);
            t.state(established, ConnState.TCP_ESTABLISHED);
            int udp = t.insert(FlowKey.hi(POD, SERVER), FlowKey.lo(17, 5000, 53, false),
                    FlowKey.hi(SERVER, EGRESS), FlowKey.lo(17, 53, 30000, true), 0);
            int syn = insert(t, 3, 0);
            t.state(syn, ConnState.TCP_SYN_SENT);

            assertEquals(1, t.expire(10_001, 100, timeouts, null));
            assertFalse(t.isLive(closing));
            // Two visits per call: the cursor moves on across calls and wraps.
            int removed = 0;
            for (int i = 0; i < 4; i++) {
                removed += t.expire(60_001, 2, timeouts, null);
            }
            assertEquals(2, removed);
            assertFalse(t.isLive(udp));
            assertFalse(t.isLive(syn));
            assertTrue(t.isLive(established));
        }
    }

    @Test
    void listenerThatRemovesTheEntryItselfIsTolerated() {
        try (ConnTable t = new ConnTable(4)) {
            insert(t, 1, 0);
            assertEquals(0, t.expire(1_000_000, 4, (p, s) -> 0, (table, e) -> table.remove(e)));
            assertEquals(0, t.size());
        }
    }

    @Test
    void churnKeepsTombstonesBoundedAndMissesTerminate() {
        try (ConnTable t = new ConnTable(1024, 7)) {
            Set<Integer> live = new HashSet<>();
            int[] idOf = new int[400_000];
            int next = 0;
            int oldest = 0;
            // Sliding window of ~1000 live connections, 400 000 insertions: every slot is reused
            // many times over.
            for (; next < idOf.length; next++) {
                if (next - oldest >= 1000) {
                    t.remove(idOf[oldest]);
                    live.remove(oldest++);
                }
                idOf[next] = insert(t, next, next);
                assertTrue(idOf[next] >= 0);
                live.add(next);
                if ((next & 255) == 0) {
                    t.expire(next, 64, (p, s) -> Long.MAX_VALUE, null);
                }
                assertTrue(t.tombstones() <= t.slotCount() / 4 + 1, "tombstones " + t.tombstones());
            }
            for (int n = oldest; n < next; n++) {
                assertEquals(idOf[n], t.lookup(origHi(n), origLo(n)));
                assertEquals(idOf[n], t.lookup(replyHi(n), replyLo(n)));
            }
            for (int n = 0; n < oldest; n += 97) {
                assertEquals(ConnTable.NOT_FOUND, t.lookup(origHi(n), origLo(n)));
            }
            t.compactNow();
            assertEquals(0, t.tombstones());
            for (int n = oldest; n < next; n++) {
                assertEquals(idOf[n], t.lookup(replyHi(n), replyLo(n)));
            }
        }
    }

    @Test
    void tinyTableWorks() {
        try (ConnTable t = new ConnTable(1)) {
            assertEquals(4, t.slotCount());
            for (int n = 0; n < 1000; n++) {
                int e = insert(t, n, n);
                assertEquals(0, e);
                assertEquals(ConnTable.FULL, insert(t, n + 1, n));
                assertEquals(e, t.lookup(replyHi(n), replyLo(n)));
                t.remove(e);
                assertEquals(ConnTable.NOT_FOUND, t.lookup(replyHi(n), replyLo(n)));
            }
        }
    }

    @Test
    void memoryIsDocumentedSize() {
        try (ConnTable t = new ConnTable(1 << 20, 1)) {
            assertEquals(1 << 22, t.slotCount());
            assertEquals(128L << 20, t.memoryBytes(), "128 bytes per connection when 4 * maxEntries is a power of two");
            assertNotEquals(0, t.toString().length());
        }
    }
}
