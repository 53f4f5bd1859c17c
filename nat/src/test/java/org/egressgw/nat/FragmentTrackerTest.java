package org.egressgw.nat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.packet.FrameBuilder;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.Tcp;
import org.junit.jupiter.api.Test;

class FragmentTrackerTest {
    private static final int POD = Ipv4Address.parse("10.244.1.10");
    private static final int SERVER = Ipv4Address.parse("198.51.100.7");
    private static final int EGRESS = Ipv4Address.parse("203.0.113.5");
    private static final int VTEP = Ipv4Address.parse("192.0.2.20");
    private static final long MAC = 0x02_00_5e_10_00_01L;
    private static final int UDP = Ipv4.PROTO_UDP;

    private final FragmentTracker.Result out = new FragmentTracker.Result();

    @Test
    void recordsRequestAndReplyDatagramsSeparately() {
        FragmentTracker t = new FragmentTracker(16, 1000);
        t.record(POD, SERVER, UDP, 77, EGRESS, 0, 0, 0, 10);
        t.record(SERVER, EGRESS, UDP, 77, POD, VTEP, MAC, 0xABCD, 10);
        assertTrue(t.lookup(POD, SERVER, UDP, 77, 10, out));
        assertEquals(EGRESS, out.newAddress);
        assertEquals(0, out.vtep);
        assertTrue(t.lookup(SERVER, EGRESS, UDP, 77, 11, out));
        assertEquals(POD, out.newAddress);
        assertEquals(VTEP, out.vtep);
        assertEquals(MAC, out.peerMac);
        assertEquals(0xABCD, out.flowHash);
        assertEquals(2, t.size());

        out.newAddress = 12345;
        assertFalse(t.lookup(POD, SERVER, UDP, 78, 10, out), "other IP ID");
        assertFalse(t.lookup(POD, SERVER, Ipv4.PROTO_TCP, 77, 10, out), "other protocol");
        assertFalse(t.lookup(POD + 1, SERVER, UDP, 77, 10, out), "other source");
        assertFalse(t.lookup(POD, SERVER + 1, UDP, 77, 10, out), "other destination");
        assertFalse(t.lookup(SERVER, POD, UDP, 77, 10, out), "reversed");
        assertEquals(12345, out.newAddress, "a miss leaves the result alone");
    }

    @Test
    void entriesOlderThanTheTtlAreNotFoundAndExpireFrees() {
        FragmentTracker t = new FragmentTracker(16, 1000);
        t.record(POD, SERVER, UDP, 1, EGRESS, 0, 0, 0, 0);
        t.record(POD, SERVER, UDP, 2, EGRESS, 0, 0, 0, 500);
        assertTrue(t.lookup(POD, SERVER, UDP, 1, 1000, out), "exactly the TTL old");
        assertFalse(t.lookup(POD, SERVER, UDP, 1, 1001, out));
        assertTrue(t.lookup(POD, SERVER, UDP, 2, 1001, out));
        t.expire(1000);
        assertEquals(2, t.size());
        t.expire(1001);
        assertEquals(1, t.size());
        t.expire(1501);
        assertEquals(0, t.size());
        assertFalse(t.lookup(POD, SERVER, UDP, 2, 1501, out));
        // the id can be recorded again
        t.record(POD, SERVER, UDP, 1, SERVER, 0, 0, 0, 2000);
        assertTrue(t.lookup(POD, SERVER, UDP, 1, 2000, out));
        assertEquals(SERVER, out.newAddress);
    }

    @Test
    void recordingAKnownDatagramAgainRefreshesIt() {
        FragmentTracker t = new FragmentTracker(4, 100);
        t.record(POD, SERVER, UDP, 9, EGRESS, 0, 0, 0, 0);
        t.record(POD, SERVER, UDP, 9, EGRESS + 1, 0, 0, 0, 90);
        assertEquals(1, t.size());
        assertTrue(t.lookup(POD, SERVER, UDP, 9, 150, out));
        assertEquals(EGRESS + 1, out.newAddress);
    }

    @Test
    void aFullTableReusesTheEntryRecordedFirst() {
        FragmentTracker t = new FragmentTracker(3, 1000);
        for (int id = 1; id <= 3; id++) {
            t.record(POD, SERVER, UDP, id, EGRESS, 0, 0, 0, id);
        }
        t.record(POD, SERVER, UDP, 4, EGRESS, 0, 0, 0, 4);
        assertEquals(3, t.size());
        assertEquals(1, t.evictions(), "a live entry was reused");
        assertFalse(t.lookup(POD, SERVER, UDP, 1, 4, out));
        for (int id = 2; id <= 4; id++) {
            assertTrue(t.lookup(POD, SERVER, UDP, id, 4, out), "id " + id);
        }
        // the oldest is expired by now: reusing it is no eviction
        t.record(POD, SERVER, UDP, 5, EGRESS, 0, 0, 0, 1003);
        assertEquals(1, t.evictions());
        assertFalse(t.lookup(POD, SERVER, UDP, 2, 1003, out));
        assertTrue(t.lookup(POD, SERVER, UDP, 5, 1003, out));
    }

    @Test
    void constructorRejectsBadArgumentsNamingThem() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new FragmentTracker(0, 10)).getMessage().contains(": 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new FragmentTracker(10, -5)).getMessage().contains("-5"));
        FragmentTracker one = new FragmentTracker(1, 10);
        one.record(1, 2, UDP, 3, 4, 0, 0, 0, 0);
        one.record(1, 2, UDP, 4, 5, 0, 0, 0, 0);
        assertTrue(one.lookup(1, 2, UDP, 4, 0, out));
        assertFalse(one.lookup(1, 2, UDP, 3, 0, out));
    }

    /** The reference: insertion-ordered map; a re-record keeps the position (LinkedHashMap does). */
    private record Entry(int newAddress, int vtep, long mac, int hash, long time) {
    }

    @Test
    void randomOperationsMatchAMapModel() {
        int capacity = 64;
        long ttl = 200;
        FragmentTracker t = new FragmentTracker(capacity, ttl);
        Map<List<Integer>, Entry> model = new LinkedHashMap<>();
        Random rnd = new Random(0xF4A6_0001L);
        long now = 0;
        int hits = 0;
        int evicted = 0;
        for (int step = 0; step < 200_000; step++) {
            now += rnd.nextInt(4);
            int src = POD + rnd.nextInt(4);
            int dst = SERVER + rnd.nextInt(3);
            int proto = rnd.nextBoolean() ? UDP : Ipv4.PROTO_TCP;
            int id = rnd.nextInt(12) * 5449;
            List<Integer> key = List.of(src, dst, proto, id);
            int op = rnd.nextInt(100);
            if (op < 45) {
                Entry e = new Entry(rnd.nextInt(), rnd.nextInt(), rnd.nextLong() & 0xffff_ffff_ffffL, rnd.nextInt(), now);
                if (!model.containsKey(key) && model.size() == capacity) {
                    Iterator<Map.Entry<List<Integer>, Entry>> it = model.entrySet().iterator();
                    if (now - it.next().getValue().time <= ttl) {
                        evicted++;
                    }
                    it.remove();
                }
                model.put(key, e);
                t.record(src, dst, proto, id, e.newAddress, e.vtep, e.mac, e.hash, now);
            } else if (op < 95) {
                Entry e = model.get(key);
                boolean expected = e != null && now - e.time <= ttl;
                assertEquals(expected, t.lookup(src, dst, proto, id, now, out), "step " + step);
                if (expected) {
                    assertEquals(List.of(e.newAddress, e.vtep, e.hash), List.of(out.newAddress, out.vtep, out.flowHash));
                    assertEquals(e.mac, out.peerMac);
                    hits++;
                }
            } else {
                Iterator<Map.Entry<List<Integer>, Entry>> it = model.entrySet().iterator();
                while (it.hasNext() && now - it.next().getValue().time > ttl) {
                    it.remove();
                }
                t.expire(now);
            }
            assertEquals(model.size(), t.size(), "step " + step);
        }
        assertEquals(evicted, t.evictions());
        assertTrue(hits > 10_000 && evicted > 100, "hits " + hits + ", evicted " + evicted);
    }

    /** Splits a packet with a 20-byte header into fragments whose payloads start at {@code cuts}. */
    private static List<byte[]> fragment(byte[] packet, int... cuts) {
        List<byte[]> out = new ArrayList<>();
        int payload = packet.length - 20;
        for (int i = 0; i < cuts.length; i++) {
            int from = cuts[i];
            int to = i + 1 < cuts.length ? cuts[i + 1] : payload;
            byte[] f = new byte[20 + to - from];
            System.arraycopy(packet, 0, f, 0, 20);
            System.arraycopy(packet, 20 + from, f, 20, to - from);
            UnsafeBuffer b = new UnsafeBuffer(f);
            Ipv4.totalLength(b, 0, f.length);
            Ipv4.flagsAndFragment(b, 0, (i + 1 < cuts.length ? Ipv4.FLAG_MF : 0) | (from >>> 3));
            Ipv4.headerChecksum(b, 0, ReferenceChecksum.compute(b, 0, 20, Ipv4.CHECKSUM_OFFSET, 0));
            out.add(f);
        }
        return out;
    }

    /**
     * The whole point of the IP-only rewrite: after translating the first fragment incrementally
     * (addresses and port) and the later ones by address only, the REASSEMBLED datagram's L4 checksum
     * is right for the new addresses, and every fragment's header checksum is right.
     */
    @Test
    void translatedFragmentsReassembleToAValidDatagram() {
        for (int proto : new int[] {UDP, Ipv4.PROTO_TCP}) {
            UnsafeBuffer whole = new UnsafeBuffer(new byte[400]);
            int len = proto == UDP ? FrameBuilder.udp(whole, 0, POD, SERVER, 40000, 53, 301, true)
                    : FrameBuilder.tcp(whole, 0, POD, SERVER, 40000, 443, Tcp.ACK | Tcp.PSH, 0, 301);
            byte[] packet = new byte[len];
            whole.getBytes(0, packet);
            List<byte[]> frags = fragment(packet, 0, 96, 200);
            FragmentTracker tracker = new FragmentTracker(8, 1000);

            // request path: the first fragment is translated as a whole packet and recorded
            UnsafeBuffer first = new UnsafeBuffer(frags.get(0));
            assertTrue(FragmentTracker.isFirstFragment(first, 0));
            assertFalse(FragmentTracker.isLaterFragment(first, 0));
            SnatRewriter.rewriteSource(first, 0, 20, proto, EGRESS, 61000);
            tracker.record(POD, SERVER, proto, Ipv4.identification(first, 0), EGRESS, 0, 0, 0, 0);
            for (int i = 1; i < frags.size(); i++) {
                UnsafeBuffer f = new UnsafeBuffer(frags.get(i));
                assertTrue(FragmentTracker.isLaterFragment(f, 0));
                assertFalse(FragmentTracker.isFirstFragment(f, 0));
                assertTrue(tracker.lookup(Ipv4.srcAddress(f, 0), Ipv4.dstAddress(f, 0), Ipv4.protocol(f, 0),
                        Ipv4.identification(f, 0), 1, out));
                FragmentTracker.rewriteSourceAddress(f, 0, out.newAddress);
            }
            checkReassembly(frags, proto, EGRESS, SERVER, len);

            // reply path: the server's answer, fragmented, back to the pod
            len = proto == UDP ? FrameBuilder.udp(whole, 0, SERVER, EGRESS, 53, 61000, 301, true)
                    : FrameBuilder.tcp(whole, 0, SERVER, EGRESS, 443, 61000, Tcp.ACK, 0, 301);
            packet = new byte[len];
            whole.getBytes(0, packet);
            frags = fragment(packet, 0, 160);
            first = new UnsafeBuffer(frags.get(0));
            SnatRewriter.rewriteDestination(first, 0, 20, proto, POD, 40000);
            tracker.record(SERVER, EGRESS, proto, Ipv4.identification(first, 0), POD, VTEP, MAC, 7, 0);
            UnsafeBuffer later = new UnsafeBuffer(frags.get(1));
            assertTrue(tracker.lookup(SERVER, EGRESS, proto, Ipv4.identification(later, 0), 1, out));
            FragmentTracker.rewriteDestinationAddress(later, 0, out.newAddress);
            checkReassembly(frags, proto, SERVER, POD, len);
        }
    }

    private static void checkReassembly(List<byte[]> frags, int proto, int src, int dst, int len) {
        byte[] l4 = new byte[len - 20];
        for (byte[] f : frags) {
            UnsafeBuffer b = new UnsafeBuffer(f);
            assertTrue(ReferenceChecksum.valid(b, 0, 20, 0), "fragment header checksum");
            assertEquals(src, Ipv4.srcAddress(b, 0));
            assertEquals(dst, Ipv4.dstAddress(b, 0));
            System.arraycopy(f, 20, l4, Ipv4.fragmentOffset(b, 0), f.length - 20);
        }
        UnsafeBuffer d = new UnsafeBuffer(l4);
        assertTrue(ReferenceChecksum.valid(d, 0, l4.length, ReferenceChecksum.pseudoHeader(src, dst, proto, l4.length)),
                "reassembled " + proto + " checksum");
    }
}
