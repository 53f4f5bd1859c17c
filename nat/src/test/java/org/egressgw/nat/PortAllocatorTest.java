package org.egressgw.nat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
 * {@link PortAllocator} over a real {@link ConnTable}: a port counts as used exactly when some
 * entry's reply key (remote → egress IP : port, same protocol) holds it.
 */
class PortAllocatorTest {
    private static final int TCP = Ipv4.PROTO_TCP;
    private static final int UDP = Ipv4.PROTO_UDP;
    private static final int ICMP = Ipv4.PROTO_ICMP;
    private static final int POD = Ipv4Address.parse("10.244.1.10");
    private static final int SERVER = Ipv4Address.parse("198.51.100.7");
    private static final int OTHER_SERVER = Ipv4Address.parse("198.51.100.8");
    private static final int EGRESS = Ipv4Address.parse("203.0.113.5");
    private static final int OTHER_EGRESS = Ipv4Address.parse("203.0.113.6");

    private final ConnTable table = new ConnTable(20_000, 42);
    private int nextPodIp = POD;

    @AfterEach
    void close() {
        table.close();
    }

    /** Inserts a connection from a fresh pod address whose reply tuple uses {@code natPort}. */
    private int connect(int protocol, int egressIp, int remoteIp, int remotePort, int natPort) {
        int pod = nextPodIp++;
        int e = table.insert(FlowKey.hi(pod, remoteIp), FlowKey.lo(protocol, natPort, remotePort, false),
                FlowKey.hi(remoteIp, egressIp), FlowKey.lo(protocol, remotePort, natPort, true), 0);
        assertTrue(e >= 0, "insert returned " + e);
        return e;
    }

    private boolean free(int protocol, int egressIp, int remoteIp, int remotePort, int port) {
        return table.lookup(FlowKey.hi(remoteIp, egressIp), FlowKey.lo(protocol, remotePort, port, true))
                == ConnTable.NOT_FOUND;
    }

    @Test
    void keepsThePodsOwnPortWhenInRangeAndFree() {
        PortAllocator a = new PortAllocator(32768, 60999, 64, 1);
        assertEquals(40000, a.allocate(table, TCP, EGRESS, SERVER, 443, 40000));
        assertEquals(32768, a.allocate(table, TCP, EGRESS, SERVER, 443, 32768));
        assertEquals(60999, a.allocate(table, TCP, EGRESS, SERVER, 443, 60999));
    }

    @Test
    void podPortOutsideTheRangeGetsOneInside() {
        PortAllocator a = new PortAllocator(32768, 60999, 64, 1);
        for (int preferred : new int[] {0, 80, 32767, 61000, 65535}) {
            int p = a.allocate(table, TCP, EGRESS, SERVER, 443, preferred);
            assertTrue(p >= 32768 && p <= 60999, "preferred " + preferred + " gave " + p);
        }
    }

    @Test
    void usedPortGivesAnotherFreePortInRange() {
        PortAllocator a = new PortAllocator(32768, 60999, 64, 7);
        connect(TCP, EGRESS, SERVER, 443, 40000);
        for (int i = 0; i < 100; i++) {
            int p = a.allocate(table, TCP, EGRESS, SERVER, 443, 40000);
            assertNotEquals(40000, p);
            assertTrue(p >= 32768 && p <= 60999, "port " + p);
            assertTrue(free(TCP, EGRESS, SERVER, 443, p));
        }
    }

    @Test
    void aPortIsOnlyUsedForItsOwnEgressProtocolAndRemote() {
        PortAllocator a = new PortAllocator(32768, 60999, 64, 7);
        connect(TCP, EGRESS, SERVER, 443, 40000);
        assertEquals(40000, a.allocate(table, TCP, EGRESS, SERVER, 80, 40000), "other remote port");
        assertEquals(40000, a.allocate(table, TCP, EGRESS, OTHER_SERVER, 443, 40000), "other remote address");
        assertEquals(40000, a.allocate(table, TCP, OTHER_EGRESS, SERVER, 443, 40000), "other egress address");
        assertEquals(40000, a.allocate(table, UDP, EGRESS, SERVER, 443, 40000), "other protocol");
    }

    @Test
    void icmpEchoIdentifiersUseRemotePortZero() {
        PortAllocator a = new PortAllocator(1, 65535, 64, 3);
        assertEquals(1234, a.allocate(table, ICMP, EGRESS, SERVER, 0, 1234));
        connect(ICMP, EGRESS, SERVER, 0, 1234);
        int id = a.allocate(table, ICMP, EGRESS, SERVER, 0, 1234);
        assertNotEquals(1234, id);
        assertTrue(id >= 1 && id <= 65535);
        assertEquals(1234, a.allocate(table, ICMP, EGRESS, OTHER_SERVER, 0, 1234));
        assertEquals(1234, a.allocate(table, TCP, EGRESS, SERVER, 0, 1234), "TCP does not share ICMP identifiers");
    }

    @Test
    void tinyRangeFillsUpThenExhaustsAndAFreedPortIsFoundAgain() {
        PortAllocator a = new PortAllocator(1000, 1009, 10, 11);
        Map<Integer, Integer> entryByPort = new HashMap<>();
        for (int i = 0; i < 10; i++) {
            int p = a.allocate(table, UDP, EGRESS, SERVER, 53, 0);
            assertTrue(p >= 1000 && p <= 1009, "port " + p);
            assertTrue(entryByPort.put(p, connect(UDP, EGRESS, SERVER, 53, p)) == null, "port " + p + " twice");
        }
        assertEquals(PortAllocator.EXHAUSTED, a.allocate(table, UDP, EGRESS, SERVER, 53, 0));
        assertEquals(PortAllocator.EXHAUSTED, a.allocate(table, UDP, EGRESS, SERVER, 53, 1004), "preferred but used");

        // Semantics changed with per-destination tracking: the datapath reports the removal.
        table.remove(entryByPort.get(1006));
        a.release(UDP, EGRESS, SERVER, 53, 1006);
        for (int i = 0; i < 20; i++) {
            assertEquals(1006, a.allocate(table, UDP, EGRESS, SERVER, 53, 0));
            a.release(UDP, EGRESS, SERVER, 53, 1006); // not inserted: handed back
        }
        assertEquals(1006, a.allocate(table, UDP, EGRESS, SERVER, 53, 1006));
        // Another remote still has the whole range.
        assertEquals(1003, a.allocate(table, UDP, EGRESS, SERVER, 54, 1003));
    }

    /**
     * With a single free port among ten and a random start, a search of {@code maxTries} ports finds
     * it in {@code maxTries} of ten starts: about 10% for one try, 50% for five, always for ten or more.
     * Probing more than allowed would show as a higher rate.
     */
    @Test
    void maxTriesIsRespected() {
        for (int i = 1000; i <= 1009; i++) {
            if (i != 1005) {
                connect(TCP, EGRESS, SERVER, 443, i);
            }
        }
        int[][] triesAndBounds = {{1, 50, 150}, {5, 430, 570}, {10, 1000, 1000}, {1_000_000, 1000, 1000}};
        for (int[] t : triesAndBounds) {
            PortAllocator a = new PortAllocator(1000, 1009, t[0], 99);
            int found = 0;
            for (int i = 0; i < 1000; i++) {
                int p = a.allocate(table, TCP, EGRESS, SERVER, 443, 0);
                if (p != PortAllocator.EXHAUSTED) {
                    assertEquals(1005, p);
                    found++;
                    // not inserted: hand it back, as the datapath does when an insert fails
                    a.release(TCP, EGRESS, SERVER, 443, p);
                }
            }
            assertTrue(found >= t[1] && found <= t[2], "maxTries " + t[0] + " found " + found + " of 1000");
        }
        connect(TCP, EGRESS, SERVER, 443, 1005);
        assertEquals(PortAllocator.EXHAUSTED,
                new PortAllocator(1000, 1009, Integer.MAX_VALUE, 5).allocate(table, TCP, EGRESS, SERVER, 443, 0));
    }

    @Test
    void constructorRejectsBadRangesNamingThem() {
        int[][] bad = {{0, 100}, {-5, 10}, {1, 65536}, {1000, 999}, {70000, 70001}};
        for (int[] r : bad) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new PortAllocator(r[0], r[1], 10, 1));
            assertTrue(e.getMessage().contains(r[0] + "-" + r[1]), e.getMessage());
        }
        for (int maxTries : new int[] {0, -3}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new PortAllocator(1000, 2000, maxTries, 1));
            assertTrue(e.getMessage().contains(Integer.toString(maxTries)), e.getMessage());
        }
        PortAllocator widest = new PortAllocator(1, 65535, 1, 0);
        assertEquals(1, widest.low());
        assertEquals(65535, widest.high());
        PortAllocator single = new PortAllocator(5, 5, 1, 0);
        assertEquals(5, single.allocate(table, TCP, EGRESS, SERVER, 443, 0));
    }

    /**
     * Random allocations, inserts and removals over a few egress IPs, protocols and remotes sharing a
     * 64-port range, checked against a model of the used ports: a result is always in range and not
     * used for its (egress IP, protocol, remote IP, remote port); the pod's port is kept whenever it
     * is in range and free; EXHAUSTED only when all 64 are used (maxTries covers the range).
     */
    @Test
    void randomisedAllocationsNeverCollide() {
        int low = 20000;
        int high = 20063;
        int size = high - low + 1;
        PortAllocator a = new PortAllocator(low, high, size, 0xA110CL);
        Random rnd = new Random(0xA110C_0003L);
        int[] egress = {EGRESS, OTHER_EGRESS};
        int[] protocols = {TCP, UDP, ICMP};
        int[] remotes = {SERVER, OTHER_SERVER, Ipv4Address.parse("192.0.2.44")};
        int[] remotePorts = {53, 443};
        Map<List<Integer>, Set<Integer>> used = new HashMap<>();
        List<int[]> live = new ArrayList<>();
        List<List<Integer>> liveTuple = new ArrayList<>();
        int allocated = 0;
        int exhausted = 0;
        int keptPreferred = 0;
        for (int i = 0; i < 30_000; i++) {
            if (!live.isEmpty() && rnd.nextInt(10) < 4) {
                int k = rnd.nextInt(live.size());
                int[] entry = live.get(k);
                table.remove(entry[0]);
                List<Integer> t = liveTuple.get(k);
                a.release(t.get(1), t.get(0), t.get(2), t.get(3), entry[1]);
                assertTrue(used.get(t).remove(entry[1]));
                int last = live.size() - 1;
                live.set(k, live.get(last));
                liveTuple.set(k, liveTuple.get(last));
                live.remove(last);
                liveTuple.remove(last);
                continue;
            }
            int e = egress[rnd.nextInt(egress.length)];
            int proto = protocols[rnd.nextInt(protocols.length)];
            int remote = remotes[rnd.nextInt(remotes.length)];
            int remotePort = proto == ICMP ? 0 : remotePorts[rnd.nextInt(remotePorts.length)];
            int preferred = rnd.nextBoolean() ? low + rnd.nextInt(size) : rnd.nextInt(65536);
            List<Integer> tuple = List.of(e, proto, remote, remotePort);
            Set<Integer> ports = used.computeIfAbsent(tuple, x -> new HashSet<>());

            int p = a.allocate(table, proto, e, remote, remotePort, preferred);
            if (p == PortAllocator.EXHAUSTED) {
                assertEquals(size, ports.size(), "EXHAUSTED with free ports left, case " + i);
                exhausted++;
                continue;
            }
            assertTrue(p >= low && p <= high, "out of range: " + p);
            assertTrue(!ports.contains(p), "case " + i + ": port " + p + " already used for " + tuple);
            if (preferred >= low && preferred <= high && !ports.contains(preferred)) {
                assertEquals(preferred, p, "free pod port not kept, case " + i);
                keptPreferred++;
            }
            ports.add(p);
            live.add(new int[] {connect(proto, e, remote, remotePort, p), p});
            liveTuple.add(tuple);
            allocated++;
        }
        assertTrue(allocated > 10_000 && exhausted > 100 && keptPreferred > 1_000,
                "allocated " + allocated + ", exhausted " + exhausted + ", kept " + keptPreferred);
    }

    @Test
    void reservedPortsAreHeldUntilReleasedInBothRegimes() {
        PortAllocator a = new PortAllocator(32768, 33767, 64, 1);
        // light: a handful of reserved ports for one destination
        for (int p = 32800; p < 32810; p++) {
            assertTrue(a.reserve(TCP, EGRESS, SERVER, 443, p));
        }
        assertEquals(false, a.reserve(TCP, EGRESS, SERVER, 443, 32800), "already held");
        assertEquals(false, a.reserve(TCP, EGRESS, SERVER, 443, 40000), "outside the range");
        assertEquals(10, a.inUse(TCP, EGRESS, SERVER, 443));
        for (int i = 0; i < 100; i++) {
            int p = a.allocate(table, TCP, EGRESS, SERVER, 443, 32805);
            assertTrue(p < 32800 || p >= 32810, "a reserved port was handed out: " + p);
            connect(TCP, EGRESS, SERVER, 443, p);
        }
        // heavy now (over 64 in use): reserve still holds exactly what it is given
        assertEquals(false, a.reserve(TCP, EGRESS, SERVER, 443, 32809));
        int free = 33700;
        while (!free(TCP, EGRESS, SERVER, 443, free)) {
            free++;
        }
        assertTrue(a.reserve(TCP, EGRESS, SERVER, 443, free));
        assertEquals(111, a.inUse(TCP, EGRESS, SERVER, 443));
        a.release(TCP, EGRESS, SERVER, 443, free);
        a.release(TCP, EGRESS, SERVER, 443, 32800);
        assertEquals(109, a.inUse(TCP, EGRESS, SERVER, 443));
        assertEquals(109, a.inUse(EGRESS));
    }
}
