package org.egressgw.nat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.conntrack.FlowKey;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Ipv4Address;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The per-destination accounting of {@link PortAllocator}: counts, the bitmap regime that makes
 * exhaustion exact, {@code busiest}, and the pool bounds. Every port handed out is checked against
 * the real {@link ConnTable} before it is inserted: the allocator must never give a port whose reply
 * key exists, whichever of list or bitmap it used ({@link PortAllocator#repairs()} stays 0 when every
 * connection goes through the allocator).
 */
class PortAllocatorTrackingTest {
    private static final int TCP = Ipv4.PROTO_TCP;
    private static final int UDP = Ipv4.PROTO_UDP;
    private static final int ICMP = Ipv4.PROTO_ICMP;
    private static final int SERVER = Ipv4Address.parse("198.51.100.7");
    private static final int OTHER_SERVER = Ipv4Address.parse("198.51.100.8");
    private static final int EGRESS = Ipv4Address.parse("203.0.113.5");
    private static final int OTHER_EGRESS = Ipv4Address.parse("203.0.113.6");

    private ConnTable table;
    private int nextPodIp = Ipv4Address.parse("10.0.0.1");

    @AfterEach
    void close() {
        if (table != null) {
            table.close();
        }
    }

    private int connect(int protocol, int egressIp, int remoteIp, int remotePort, int natPort) {
        int pod = nextPodIp++;
        assertEquals(ConnTable.NOT_FOUND, table.lookup(FlowKey.hi(remoteIp, egressIp),
                FlowKey.lo(protocol, remotePort, natPort, true)), "allocator gave a port whose reply key exists");
        int e = table.insert(FlowKey.hi(pod, remoteIp), FlowKey.lo(protocol, natPort, remotePort, false),
                FlowKey.hi(remoteIp, egressIp), FlowKey.lo(protocol, remotePort, natPort, true), 0);
        assertTrue(e >= 0, "insert returned " + e);
        return e;
    }

    @Test
    void exactly32768ConnectionsToOneDestinationFitAndAReleasedPortIsFoundAgain() {
        table = new ConnTable(33_000, 5);
        PortAllocator a = new PortAllocator(32768, 65535, 32, 1, 1024);
        Random rnd = new Random(32768);
        int[] entryByPort = new int[65536];
        for (int i = 0; i < 32768; i++) {
            int p = a.allocate(table, TCP, EGRESS, SERVER, 443, rnd.nextInt(65536));
            assertTrue(p >= 32768 && p <= 65535, "allocation " + i + " gave " + p);
            assertEquals(0, entryByPort[p], "port " + p + " twice");
            entryByPort[p] = connect(TCP, EGRESS, SERVER, 443, p) + 1;
        }
        assertEquals(32768, table.size());
        assertEquals(32768, a.inUse(TCP, EGRESS, SERVER, 443));
        assertEquals(32768, a.inUse(EGRESS));
        assertEquals(1, a.heavyDestinations());
        assertEquals(PortAllocator.EXHAUSTED, a.allocate(table, TCP, EGRESS, SERVER, 443, 0));
        assertEquals(PortAllocator.EXHAUSTED, a.allocate(table, TCP, EGRESS, SERVER, 443, 40000));
        assertEquals(32768, a.inUse(TCP, EGRESS, SERVER, 443), "a failed allocation counts nothing");
        // other destinations are unaffected
        assertEquals(40000, a.allocate(table, TCP, EGRESS, SERVER, 80, 40000));

        for (int round = 0; round < 50; round++) {
            int port = 32768 + rnd.nextInt(32768);
            table.remove(entryByPort[port] - 1);
            a.release(TCP, EGRESS, SERVER, 443, port);
            assertEquals(32767, a.inUse(TCP, EGRESS, SERVER, 443));
            int p = a.allocate(table, TCP, EGRESS, SERVER, 443, round % 2 == 0 ? 0 : 32768 + rnd.nextInt(32768));
            assertEquals(port, p, "round " + round);
            entryByPort[p] = connect(TCP, EGRESS, SERVER, 443, p) + 1;
            assertEquals(PortAllocator.EXHAUSTED, a.allocate(table, TCP, EGRESS, SERVER, 443, 0));
        }
        assertEquals(0, a.repairs());

        for (int port = 32768; port <= 65535; port++) {
            table.remove(entryByPort[port] - 1);
            a.release(TCP, EGRESS, SERVER, 443, port);
        }
        assertEquals(0, a.inUse(TCP, EGRESS, SERVER, 443));
        assertEquals(1, a.inUse(EGRESS), "the one port to SERVER:80");
        assertEquals(0, a.heavyDestinations(), "the bitmap went back to the pool");
        assertEquals(1, a.destinations());
    }

    /**
     * Random allocate / insert / remove+release sequences, with failed inserts (release without
     * insert) and spurious releases mixed in, against a set-based model, over destinations that climb
     * through the light and heavy regimes. The load drifts up and down so ranges fill completely.
     */
    @Test
    void randomSequencesMatchASetModel() {
        table = new ConnTable(4096, 9);
        int low = 1000;
        int high = 1299;
        int size = high - low + 1;
        PortAllocator a = new PortAllocator(low, high, 8, 0xD15EA5EL, 64);
        Random rnd = new Random(0x5E7_0DE1L);
        int[][] dests = {
            {EGRESS, TCP, SERVER, 443}, {EGRESS, TCP, SERVER, 80}, {EGRESS, UDP, SERVER, 53},
            {OTHER_EGRESS, TCP, SERVER, 443}, {OTHER_EGRESS, ICMP, OTHER_SERVER, 0}, {EGRESS, ICMP, SERVER, 0},
        };
        List<Set<Integer>> model = new ArrayList<>();
        List<Map<Integer, Integer>> entries = new ArrayList<>();
        for (int i = 0; i < dests.length; i++) {
            model.add(new HashSet<>());
            entries.add(new HashMap<>());
        }
        int allocated = 0;
        int exactExhausted = 0;
        int probeExhausted = 0;
        int sawHeavy = 0;
        for (int step = 0; step < 60_000; step++) {
            boolean filling = (step / 3000) % 2 == 0;
            int d = rnd.nextInt(dests.length);
            int[] t = dests[d];
            Set<Integer> used = model.get(d);
            int op = rnd.nextInt(100);
            if (op < (filling ? 75 : 35)) {
                int preferred = rnd.nextInt(3) == 0 ? rnd.nextInt(65536) : low + rnd.nextInt(size);
                int before = used.size();
                int p = a.allocate(table, t[1], t[0], t[2], t[3], preferred);
                if (p == PortAllocator.EXHAUSTED) {
                    if (before > PortAllocator.LIGHT_LIMIT) {
                        assertEquals(size, before, "heavy destination EXHAUSTED with free ports, step " + step);
                        exactExhausted++;
                    } else {
                        probeExhausted++;
                    }
                    assertEquals(before, a.inUse(t[1], t[0], t[2], t[3]));
                    continue;
                }
                assertTrue(p >= low && p <= high, "out of range " + p);
                assertFalse(used.contains(p), "step " + step + ": port " + p + " already used");
                if (preferred >= low && preferred <= high && !used.contains(preferred)) {
                    assertEquals(preferred, p, "free pod port not kept, step " + step);
                }
                if (rnd.nextInt(20) == 0) {
                    a.release(t[1], t[0], t[2], t[3], p); // the insert "failed"
                } else {
                    used.add(p);
                    entries.get(d).put(p, connect(t[1], t[0], t[2], t[3], p));
                    allocated++;
                }
            } else if (op < 97) {
                if (used.isEmpty()) {
                    continue;
                }
                int p = used.iterator().next();
                if (rnd.nextBoolean()) {
                    // not always the first: pick a random one
                    Integer[] all = used.toArray(new Integer[0]);
                    p = all[rnd.nextInt(all.length)];
                }
                used.remove(p);
                table.remove(entries.get(d).remove(p));
                a.release(t[1], t[0], t[2], t[3], p);
            } else {
                // spurious release: a port not held, or out of range
                int p = rnd.nextBoolean() ? low + rnd.nextInt(size) : rnd.nextInt(65536);
                if (!used.contains(p)) {
                    a.release(t[1], t[0], t[2], t[3], p);
                }
            }
            if (a.heavyDestinations() > 0) {
                sawHeavy++;
            }
            assertEquals(used.size(), a.inUse(t[1], t[0], t[2], t[3]), "step " + step);
            if (step % 97 == 0) {
                checkTotals(a, dests, model);
            }
        }
        checkTotals(a, dests, model);
        assertEquals(0, a.repairs());
        assertEquals(0, a.untrackedAllocations());
        assertTrue(allocated > 10_000 && exactExhausted > 100 && probeExhausted < allocated / 100 && sawHeavy > 10_000,
                "allocated " + allocated + ", exact exhausted " + exactExhausted + ", probe exhausted "
                        + probeExhausted + ", heavy steps " + sawHeavy);
    }

    private static void checkTotals(PortAllocator a, int[][] dests, List<Set<Integer>> model) {
        long egress = 0;
        long other = 0;
        int live = 0;
        for (int i = 0; i < dests.length; i++) {
            int n = model.get(i).size();
            assertEquals(n, a.inUse(dests[i][1], dests[i][0], dests[i][2], dests[i][3]));
            if (dests[i][0] == EGRESS) {
                egress += n;
            } else {
                other += n;
            }
            live += n > 0 ? 1 : 0;
        }
        assertEquals(egress, a.inUse(EGRESS));
        assertEquals(other, a.inUse(OTHER_EGRESS));
        assertEquals(live, a.destinations(), "records of destinations at 0 must be returned");
    }

    @Test
    void busiestListsDestinationsByPortsInUse() {
        table = new ConnTable(1024, 3);
        PortAllocator a = new PortAllocator(20000, 29999, 32, 4);
        int[][] dests = {
            {EGRESS, TCP, SERVER, 443, 5}, {EGRESS, UDP, SERVER, 53, 70}, {OTHER_EGRESS, ICMP, SERVER, 0, 1},
            {OTHER_EGRESS, TCP, OTHER_SERVER, 8443, 30},
        };
        for (int[] d : dests) {
            for (int i = 0; i < d[4]; i++) {
                connect(d[1], d[0], d[2], d[3], a.allocate(table, d[1], d[0], d[2], d[3], 0));
            }
        }
        List<int[]> seen = new ArrayList<>();
        a.busiest(3, (egressIp, protocol, remoteIp, remotePort, inUse, capacity) ->
                seen.add(new int[] {egressIp, protocol, remoteIp, remotePort, inUse, capacity}));
        assertEquals(3, seen.size());
        int[][] expected = {dests[1], dests[3], dests[0]};
        for (int i = 0; i < 3; i++) {
            int[] e = expected[i];
            int[] s = seen.get(i);
            assertEquals(List.of(e[0], e[1], e[2], e[3], e[4], 10000),
                    List.of(s[0], s[1], s[2], s[3], s[4], s[5]), "rank " + i);
        }
        seen.clear();
        a.busiest(100, (egressIp, protocol, remoteIp, remotePort, inUse, capacity) -> seen.add(new int[] {inUse}));
        assertEquals(List.of(70, 30, 5, 1), seen.stream().map(x -> x[0]).toList());
        seen.clear();
        a.busiest(0, (egressIp, protocol, remoteIp, remotePort, inUse, capacity) -> seen.add(new int[0]));
        assertTrue(seen.isEmpty());
    }

    @Test
    void fullDestinationPoolFallsBackToUntrackedProbing() {
        table = new ConnTable(1024, 8);
        PortAllocator a = new PortAllocator(1000, 1999, 32, 8, 2);
        int pA = a.allocate(table, TCP, EGRESS, SERVER, 1, 0);
        int eA = connect(TCP, EGRESS, SERVER, 1, pA);
        connect(TCP, EGRESS, SERVER, 2, a.allocate(table, TCP, EGRESS, SERVER, 2, 0));
        assertEquals(2, a.destinations());

        // a third destination: served, the table still decides, but not counted
        Set<Integer> ports = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            int p = a.allocate(table, TCP, EGRESS, SERVER, 3, 1500);
            assertTrue(p >= 1000 && p <= 1999 && ports.add(p), "port " + p);
            connect(TCP, EGRESS, SERVER, 3, p);
        }
        assertTrue(ports.contains(1500), "the pod's port was kept while free");
        assertEquals(50, a.untrackedAllocations());
        assertEquals(0, a.inUse(TCP, EGRESS, SERVER, 3));
        assertEquals(2, a.inUse(EGRESS));
        a.release(TCP, EGRESS, SERVER, 3, 1500); // ignored: not tracked
        assertEquals(2, a.destinations());

        // once a record is free, the next new destination is tracked again
        table.remove(eA);
        a.release(TCP, EGRESS, SERVER, 1, pA);
        assertEquals(1, a.destinations());
        int p = a.allocate(table, TCP, EGRESS, SERVER, 4, 0);
        connect(TCP, EGRESS, SERVER, 4, p);
        assertEquals(1, a.inUse(TCP, EGRESS, SERVER, 4));
        assertEquals(50, a.untrackedAllocations());
    }

    @Test
    void egressIpsBeyondTheRegistryAreServedUntracked() {
        table = new ConnTable(1024, 8);
        PortAllocator a = new PortAllocator(1000, 1999, 32, 8);
        int base = Ipv4Address.parse("203.0.113.0");
        for (int i = 0; i < PortAllocator.MAX_EGRESS_IPS; i++) {
            a.allocate(table, UDP, base + i, SERVER, 53, 1000);
            assertEquals(1, a.inUse(base + i));
        }
        int extra = Ipv4Address.parse("192.0.2.1");
        assertEquals(1000, a.allocate(table, UDP, extra, SERVER, 53, 1000));
        assertEquals(0, a.inUse(extra));
        assertEquals(1, a.untrackedAllocations());
    }

    @Test
    void countsPerEgressIpAndIgnoredReleases() {
        table = new ConnTable(1024, 8);
        PortAllocator a = new PortAllocator(1000, 1999, 32, 8);
        assertEquals(0, a.inUse(EGRESS));
        int p1 = a.allocate(table, TCP, EGRESS, SERVER, 443, 1100);
        int p2 = a.allocate(table, UDP, EGRESS, SERVER, 443, 1100);
        int p3 = a.allocate(table, TCP, EGRESS, OTHER_SERVER, 443, 1100);
        int p4 = a.allocate(table, TCP, OTHER_EGRESS, SERVER, 443, 1100);
        int p5 = a.allocate(table, TCP, EGRESS, SERVER, 443, 1100);
        assertEquals(List.of(1100, 1100, 1100, 1100), List.of(p1, p2, p3, p4));
        assertNotEquals(1100, p5, "allocated but not yet inserted is still in use");
        assertEquals(4, a.inUse(EGRESS));
        assertEquals(1, a.inUse(OTHER_EGRESS));
        assertEquals(2, a.inUse(TCP, EGRESS, SERVER, 443));

        a.release(TCP, EGRESS, SERVER, 443, 1101 == p5 ? 1102 : 1101); // not held
        a.release(TCP, EGRESS, SERVER, 443, 80); // out of range
        a.release(TCP, EGRESS, SERVER, 444, 1100); // unknown destination
        a.release(TCP, Ipv4Address.parse("192.0.2.9"), SERVER, 443, 1100); // unknown egress IP
        assertEquals(4, a.inUse(EGRESS));
        a.release(TCP, EGRESS, SERVER, 443, p1);
        a.release(TCP, EGRESS, SERVER, 443, p1); // twice: the second is ignored
        assertEquals(3, a.inUse(EGRESS));
        assertEquals(1, a.inUse(TCP, EGRESS, SERVER, 443));
        a.release(TCP, EGRESS, SERVER, 443, p5);
        a.release(UDP, EGRESS, SERVER, 443, p2);
        a.release(TCP, EGRESS, OTHER_SERVER, 443, p3);
        assertEquals(0, a.inUse(EGRESS));
        assertEquals(1, a.destinations());
    }

    @Test
    void theSixtyFifthPortMakesADestinationHeavyUntilItEmpties() {
        table = new ConnTable(1024, 8);
        PortAllocator a = new PortAllocator(1000, 1999, 32, 8);
        int[] ports = new int[70];
        int[] ids = new int[70];
        for (int i = 0; i < 70; i++) {
            ports[i] = a.allocate(table, TCP, EGRESS, SERVER, 443, 0);
            ids[i] = connect(TCP, EGRESS, SERVER, 443, ports[i]);
            assertEquals(i >= PortAllocator.LIGHT_LIMIT ? 1 : 0, a.heavyDestinations(), "after " + (i + 1));
        }
        for (int i = 0; i < 69; i++) {
            table.remove(ids[i]);
            a.release(TCP, EGRESS, SERVER, 443, ports[i]);
        }
        assertEquals(1, a.heavyDestinations(), "kept below the threshold: no rebuild when hovering");
        table.remove(ids[69]);
        a.release(TCP, EGRESS, SERVER, 443, ports[69]);
        assertEquals(0, a.heavyDestinations());
        assertEquals(0, a.destinations());
        assertEquals(0, a.repairs());
    }

    /** A connection the allocator never saw is found in the table, marked, and counted as a repair. */
    @Test
    void bitmapDisagreeingWithTheTableIsRepaired() {
        table = new ConnTable(1024, 8);
        PortAllocator a = new PortAllocator(1000, 1099, 32, 8);
        for (int i = 0; i < 70; i++) {
            connect(TCP, EGRESS, SERVER, 443, a.allocate(table, TCP, EGRESS, SERVER, 443, 0));
        }
        // fill the rest behind the allocator's back
        for (int p = 1000; p <= 1099; p++) {
            if (table.lookup(FlowKey.hi(SERVER, EGRESS), FlowKey.lo(TCP, 443, p, true)) == ConnTable.NOT_FOUND) {
                connect(TCP, EGRESS, SERVER, 443, p);
            }
        }
        assertEquals(PortAllocator.EXHAUSTED, a.allocate(table, TCP, EGRESS, SERVER, 443, 0));
        assertEquals(30, a.repairs());
        assertEquals(100, a.inUse(TCP, EGRESS, SERVER, 443));
    }

    @Test
    void smallSeedsDoNotAllStartAtTheLowEnd() {
        table = new ConnTable(16, 1);
        Set<Integer> first = new HashSet<>();
        for (long seed = 0; seed < 20; seed++) {
            first.add(new PortAllocator(32768, 65535, 32, seed).allocate(table, TCP, EGRESS, SERVER, 443, 0));
        }
        assertFalse(first.contains(32768));
        assertTrue(first.size() == 20, "first ports " + first);
    }
}
