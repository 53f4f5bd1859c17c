package org.egressgw.core.datapath;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.List;
import org.junit.jupiter.api.Test;

class NatStatsTest {
    private static NatStats.Destination d(int remote, int inUse, int capacity) {
        return new NatStats.Destination(10, 6, remote, 443, inUse, capacity);
    }

    @Test
    void oneShardIsItself() {
        NatStats one = new NatStats(new int[] {10}, new long[] {3}, List.of(d(1, 3, 100)));
        assertSame(one, NatStats.merge(List.of(one)));
    }

    @Test
    void shardsAddUpPerEgressIpAndPerDestination() {
        NatStats a = new NatStats(new int[] {10, 20}, new long[] {5, 1}, List.of(d(1, 4, 100), d(2, 1, 100)));
        NatStats b = new NatStats(new int[] {10}, new long[] {7}, List.of(d(2, 6, 100), d(3, 1, 100)));
        NatStats m = NatStats.merge(List.of(a, b));
        assertArrayEquals(new int[] {10, 20}, m.egressIps());
        assertArrayEquals(new long[] {12, 1}, m.inUse());
        // busiest first, at most as many as the longest part; the merged capacity is both parts of the range
        assertEquals(List.of(d(2, 7, 200), d(1, 4, 100)), m.busiest());
        assertEquals(3.5, m.busiest().get(0).saturationPercent());
    }
}
