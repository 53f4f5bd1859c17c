package org.egressgw.conntrack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Early drop takes only connections that never saw a reply, tells the listener first, and gives up after its scan. */
class UnrepliedEvictionTest {
    private static int insert(ConnTable t, int i, int state) {
        int e = t.insert(FlowKey.hi(0x0af40000 + i, 0xcb007105), FlowKey.lo(6, 1000 + i, 443, false),
                FlowKey.hi(0xcb007105, 0xc000020a), FlowKey.lo(6, 443, 40000 + i, true), 0);
        t.state(e, state);
        return e;
    }

    @Test
    void evictsAnUnrepliedConnectionAndNeverAnEstablishedOne() {
        try (ConnTable t = new ConnTable(1024, 1)) {
            List<Integer> established = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                established.add(insert(t, i, ConnState.TCP_ESTABLISHED));
            }
            int syn = insert(t, 1000, ConnState.TCP_SYN_SENT);
            UnrepliedEviction eviction = new UnrepliedEviction(t.capacity());
            List<Integer> told = new ArrayList<>();
            assertTrue(eviction.evictOne(t, (table, e) -> told.add(e)));
            assertEquals(List.of(syn), told);
            assertFalse(t.isLive(syn));
            assertFalse(eviction.evictOne(t, (table, e) -> told.add(e)), "nothing unreplied is left");
            for (int e : established) {
                assertTrue(t.isLive(e));
            }
        }
    }

    @Test
    void aScanLooksAtNoMoreThanItsShare() {
        try (ConnTable t = new ConnTable(1024, 1)) {
            for (int i = 0; i < 50; i++) {
                insert(t, i, ConnState.UDP_UNREPLIED);
            }
            UnrepliedEviction eviction = new UnrepliedEviction(1);
            int evicted = 0;
            for (int i = 0; i < t.capacity(); i++) {
                if (eviction.evictOne(t, (table, e) -> { })) {
                    evicted++;
                }
            }
            assertEquals(50, evicted, "one slot per attempt: a full lap of the cursor finds each once");
            assertEquals(0, t.size());
        }
    }

    @Test
    void aScanOfNothingIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new UnrepliedEviction(0));
    }
}
