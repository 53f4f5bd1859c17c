package org.egressgw.tunio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.tunio.Ipv4Tcp.Segment;
import org.junit.jupiter.api.Test;

class TcpCoalescerTest {
    /** Every write the coalescer issued: vnet header and packet, copied. */
    private final List<byte[][]> writes = new ArrayList<>();
    private final UnsafeBuffer staging = new UnsafeBuffer(BufferUtil.allocateDirectAligned(65536, 64));
    private final TcpCoalescer.Output recorder = (h, hl, p, pl) -> {
        final byte[] header = new byte[hl];
        final byte[] packet = new byte[pl];
        new UnsafeBuffer(h, hl).getBytes(0, header);
        new UnsafeBuffer(p, pl).getBytes(0, packet);
        writes.add(new byte[][] {header, packet});
        return hl + pl;
    };
    private TcpCoalescer coalescer = new TcpCoalescer(recorder);

    /** Offers through a staging buffer that is scribbled over afterwards, to prove the coalescer copied. */
    private boolean offer(byte[] packet) {
        staging.putBytes(0, packet);
        final boolean accepted = coalescer.offer(staging.addressOffset(), packet.length);
        staging.setMemory(0, packet.length, (byte) 0xee);
        return accepted;
    }

    private void offerAll(List<Segment> segments) {
        for (Segment s : segments) {
            offer(s.bytes());
        }
    }

    private static List<Segment> stream(Segment first, int... payloads) {
        final List<Segment> list = new ArrayList<>();
        Segment s = first.payload(payloads[0], 3);
        list.add(s);
        for (int i = 1; i < payloads.length; i++) {
            s = s.next(payloads[i]);
            list.add(s);
        }
        return list;
    }

    /** The segments the kernel would emit for everything written so far. */
    private List<byte[]> emitted() {
        final List<byte[]> out = new ArrayList<>();
        for (byte[][] w : writes) {
            out.addAll(Ipv4Tcp.resegment(w[0], w[1]));
        }
        return out;
    }

    private static void assertSamePackets(List<byte[]> expected, List<byte[]> actual) {
        assertEquals(expected.size(), actual.size(), "packet count");
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i), actual.get(i), "packet " + i);
        }
    }

    private static List<byte[]> bytes(List<Segment> segments) {
        final List<byte[]> out = new ArrayList<>();
        for (Segment s : segments) {
            out.add(s.bytes());
        }
        return out;
    }

    @Test
    void consecutiveSegmentsBecomeOneGsoWrite() {
        final List<Segment> in = stream(new Segment(), 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000);
        offerAll(in);
        assertTrue(writes.isEmpty(), "held until flush");
        assertTrue(coalescer.hasPending());
        assertEquals(1, coalescer.flush());
        assertFalse(coalescer.hasPending());
        assertEquals(1, writes.size());
        final UnsafeBuffer h = new UnsafeBuffer(writes.get(0)[0]);
        assertEquals(VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.flags(h, 0));
        assertEquals(VirtioNetHeader.GSO_TCPV4, VirtioNetHeader.gsoType(h, 0));
        assertEquals(20 + 32, VirtioNetHeader.hdrLen(h, 0));
        assertEquals(1000, VirtioNetHeader.gsoSize(h, 0));
        assertEquals(20, VirtioNetHeader.csumStart(h, 0));
        assertEquals(16, VirtioNetHeader.csumOffset(h, 0));
        assertEquals(20 + 32 + 10_000, writes.get(0)[1].length);
        assertEquals(in.get(0).id, new UnsafeBuffer(writes.get(0)[1]).getShort(4, ByteOrder.BIG_ENDIAN), "first ID");
        assertSamePackets(bytes(in), emitted());
        assertEquals(1, coalescer.superPackets());
        assertEquals(10, coalescer.segmentsCoalesced());
        assertEquals(0, coalescer.singlePackets());
    }

    @Test
    void aSingleSegmentIsWrittenUnchangedWithAPlainHeader() {
        final byte[] one = new Segment().payload(1400, 1).bytes();
        offer(one);
        assertEquals(1, coalescer.flush());
        assertArrayEquals(new byte[VirtioNetHeader.LENGTH], writes.get(0)[0]);
        assertArrayEquals(one, writes.get(0)[1]);
        assertEquals(0, coalescer.flush(), "nothing left");
    }

    @Test
    void shortSegmentEndsTheRunAtOnce() {
        final List<Segment> in = stream(new Segment(), 1000, 1000, 500, 1000, 1000);
        offerAll(in.subList(0, 3));
        assertEquals(1, writes.size(), "a short segment closes its run without waiting for the flush");
        offerAll(in.subList(3, 5));
        coalescer.flush();
        assertEquals(2, writes.size());
        assertSamePackets(bytes(in), emitted());
    }

    @Test
    void pshJoinsAndEndsTheRunAndSurvivesOnTheLastSegment() {
        final List<Segment> in = stream(new Segment(), 1000, 1000, 1000, 1000);
        in.get(2).flags |= Ipv4Tcp.PSH;
        offerAll(in);
        coalescer.flush();
        assertEquals(2, writes.size());
        assertEquals(3 * 1000 + 52, writes.get(0)[1].length);
        assertSamePackets(bytes(in), emitted());
    }

    @Test
    void longerSegmentThanTheFirstStartsANewRun() {
        final List<Segment> in = stream(new Segment(), 500, 1000, 1000);
        offerAll(in);
        coalescer.flush();
        assertEquals(2, writes.size());
        assertEquals(VirtioNetHeader.GSO_NONE, writes.get(0)[0][1]);
        assertSamePackets(bytes(in), emitted());
    }

    @Test
    void superPacketsStayWithin64KiB() {
        final int[] sizes = new int[100];
        Arrays.fill(sizes, 1448);
        final List<Segment> in = stream(new Segment(), sizes);
        offerAll(in);
        coalescer.flush();
        for (byte[][] w : writes) {
            assertTrue(w[1].length <= 65535, "length " + w[1].length);
        }
        // (65535 - 52) / 1448 = 45 segments per super-packet
        assertEquals(45 * 1448 + 52, writes.get(0)[1].length);
        assertEquals(3, writes.size());
        assertSamePackets(bytes(in), emitted());
    }

    /** Each case: two in-order segments, the second altered so that it must not join the first. */
    @Test
    void segmentsThatDifferMustNotJoin() {
        final List<Consumer<Segment>> changes = List.of(
            s -> s.seq += 1, // gap
            s -> s.seq -= 1000, // retransmission
            s -> s.ack += 1,
            s -> s.window += 1,
            s -> s.tos = 2,
            s -> s.ttl = 62,
            s -> s.df = false,
            s -> s.tcpOptions = Ipv4Tcp.timestampOption(12346, 678),
            s -> s.tcpOptions = new byte[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
            s -> s.flags |= Ipv4Tcp.FIN,
            s -> s.flags |= Ipv4Tcp.SYN,
            s -> s.flags = Ipv4Tcp.RST | Ipv4Tcp.ACK,
            s -> s.flags |= Ipv4Tcp.URG,
            s -> s.flags |= Ipv4Tcp.CWR,
            s -> s.flags |= 0x40, // ECE differs
            s -> s.flags = 0, // no ACK
            s -> s.urgent = 1,
            s -> s.payload = new byte[0], // pure ACK
            s -> s.corruptChecksum = true,
            s -> s.srcPort += 1, // another flow
            s -> s.dst += 1);
        for (int i = 0; i < changes.size(); i++) {
            writes.clear();
            final Segment first = new Segment().payload(1000, 9);
            final Segment second = first.next(1000);
            changes.get(i).accept(second);
            offer(first.bytes());
            offer(second.bytes());
            coalescer.flush();
            assertEquals(2, writes.size(), "case " + i);
            for (byte[][] w : writes) {
                assertArrayEquals(new byte[VirtioNetHeader.LENGTH], w[0], "case " + i + " plain header");
            }
            final List<byte[]> expected = new ArrayList<>(List.of(first.bytes(), second.bytes()));
            assertSamePackets(expected, emitted());
        }
    }

    @Test
    void segmentsThatMayJoin() {
        // non-DF with consecutive IDs; DF with unrelated IDs; ECE on both; PSH on the last
        final Segment a = new Segment().payload(800, 1);
        a.df = false;
        final Segment b = a.next(800);
        offer(a.bytes());
        offer(b.bytes());
        final Segment c = new Segment().payload(800, 2);
        c.srcPort = 1;
        final Segment d = c.next(800);
        d.id = 9999;
        offer(c.bytes());
        offer(d.bytes());
        final Segment e = new Segment().payload(800, 3);
        e.srcPort = 2;
        e.flags |= 0x40;
        final Segment f = e.next(800);
        f.flags |= 0x40 | Ipv4Tcp.PSH;
        offer(e.bytes());
        offer(f.bytes());
        coalescer.flush();
        assertEquals(3, writes.size());
        for (byte[][] w : writes) {
            assertEquals(VirtioNetHeader.GSO_TCPV4, w[0][1]);
        }
        final Segment dAsCut = d.copy();
        dAsCut.id = c.id + 1; // the kernel numbers the pieces from the first ID
        // e+f leave first: PSH closes a run at once
        assertSamePackets(bytes(List.of(e, f, a, b, c, dAsCut)), emitted());
    }

    @Test
    void nonDfSegmentWithUnexpectedIdDoesNotJoin() {
        final Segment a = new Segment().payload(800, 1);
        a.df = false;
        final Segment b = a.next(800);
        b.id = a.id + 5;
        offer(a.bytes());
        offer(b.bytes());
        coalescer.flush();
        assertEquals(2, writes.size());
    }

    @Test
    void aSegmentThatCannotJoinLeavesAfterItsFlowsPendingRun() {
        final List<Segment> in = stream(new Segment(), 1000, 1000, 1000);
        final Segment fin = in.get(2).next(0);
        fin.flags = Ipv4Tcp.FIN | Ipv4Tcp.ACK;
        final Segment other = new Segment().payload(1000, 5);
        other.srcPort = 41000;
        offer(other.bytes());
        offerAll(in);
        offer(fin.bytes());
        assertEquals(2, writes.size(), "the run, then the FIN; the other flow still waits");
        assertEquals(VirtioNetHeader.GSO_TCPV4, writes.get(0)[0][1]);
        assertArrayEquals(fin.bytes(), writes.get(1)[1]);
        coalescer.flush();
        assertArrayEquals(other.bytes(), writes.get(2)[1]);
    }

    @Test
    void nonTcpAndUnparsablePacketsAreWrittenAtOnceWithoutDisturbingRuns() {
        final List<Segment> in = stream(new Segment(), 1000, 1000);
        offer(in.get(0).bytes());
        final UnsafeBuffer udp = new UnsafeBuffer(new byte[100]);
        final int udpLength = Ipv4Udp.build(udp, 0, in.get(0).src, 53, in.get(0).dst, 53, new byte[30], 7);
        final byte[] udpBytes = Arrays.copyOf(udp.byteArray(), udpLength);
        assertTrue(offer(udpBytes));
        final byte[] garbage = {0x45, 0, 0};
        assertTrue(offer(garbage));
        final Segment withIpOptions = new Segment().payload(100, 1);
        withIpOptions.ipOptions = new byte[] {1, 1, 1, 0};
        withIpOptions.srcPort = 7;
        offer(withIpOptions.bytes());
        final Segment fragment = new Segment().payload(100, 1);
        fragment.srcPort = 8;
        final byte[] fragmentBytes = fragment.bytes();
        fragmentBytes[6] |= 0x20; // MF
        Ipv4Tcp.finishChecksums(fragmentBytes, false);
        offer(fragmentBytes);
        assertEquals(4, writes.size());
        assertArrayEquals(udpBytes, writes.get(0)[1]);
        assertArrayEquals(garbage, writes.get(1)[1]);
        offer(in.get(1).bytes());
        coalescer.flush();
        assertEquals(5, writes.size());
        assertEquals(VirtioNetHeader.GSO_TCPV4, writes.get(4)[0][1]);
    }

    @Test
    void moreFlowsThanTrackedFlushesAndStartsOver() {
        coalescer = new TcpCoalescer(recorder, 2, true);
        final List<List<Segment>> flows = new ArrayList<>();
        for (int f = 0; f < 3; f++) {
            final Segment first = new Segment();
            first.srcPort = 1000 + f;
            flows.add(stream(first, 700, 700, 700, 700));
        }
        for (int i = 0; i < 4; i++) {
            for (List<Segment> flow : flows) {
                offer(flow.get(i).bytes());
            }
        }
        coalescer.flush();
        final Map<Integer, List<byte[]>> byFlow = groupByFlow(emitted());
        for (List<Segment> flow : flows) {
            assertSamePackets(bytes(flow), byFlow.get(flow.get(0).srcPort));
        }
    }

    @Test
    void droppedWritesAreCounted() {
        coalescer = new TcpCoalescer((h, hl, p, pl) -> 0);
        offerAll(stream(new Segment(), 1000, 1000, 1000));
        final Segment udpLike = new Segment().payload(10, 1);
        udpLike.flags = Ipv4Tcp.SYN;
        assertFalse(offer(udpLike.bytes()), "a write-through that fails reports it");
        assertEquals(4, coalescer.droppedPackets(), "the flushed run (3) and the SYN");
    }

    @Test
    void rejectsBadSettingsNamingThem() {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> new TcpCoalescer(recorder, 0, true));
        assertTrue(e.getMessage().contains("0"), e.getMessage());
        assertThrows(NullPointerException.class, () -> new TcpCoalescer(null));
    }

    @Test
    void hostileInputIsWrittenAsIsAndNeverThrows() {
        final Random random = new Random(0x5eed);
        final List<byte[]> offered = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            final byte[] packet;
            if (random.nextInt(3) == 0) {
                packet = new byte[random.nextInt(120)];
                random.nextBytes(packet);
                if (packet.length > 0) {
                    packet[0] = (byte) (0x40 | (packet[0] & 0x0f));
                }
                if (packet.length > 9) {
                    packet[9] = 6;
                }
            } else {
                // a valid segment with one random byte changed (checksums redone half the time)
                final Segment s = new Segment().payload(random.nextInt(200), i);
                s.seq = random.nextInt(4) * 100;
                packet = s.bytes();
                packet[random.nextInt(packet.length)] = (byte) random.nextInt();
                if (random.nextBoolean() && (packet[0] & 0xff) == 0x45) {
                    Ipv4Tcp.finishChecksums(packet, false);
                }
            }
            offered.add(packet);
            offer(packet);
            if (random.nextInt(16) == 0) {
                coalescer.flush();
            }
        }
        coalescer.flush();
        int count = 0;
        for (byte[][] w : writes) {
            if (w[0][1] == VirtioNetHeader.GSO_NONE) {
                count++;
            } else {
                count += Ipv4Tcp.resegment(w[0], w[1]).size();
            }
        }
        assertEquals(offered.size(), count, "every packet left exactly once");
    }

    /**
     * The main check: random interleavings of several flows (in-order runs, gaps, retransmissions, pure ACKs,
     * PSH, short segments, option changes, UDP, DF with odd IDs), random flush points; what the kernel would
     * emit must equal, per flow and in order, what was offered.
     */
    @Test
    void randomTrafficComesOutAsOfferedPerFlow() {
        final Random random = new Random(42);
        for (int round = 0; round < 200; round++) {
            writes.clear();
            coalescer = new TcpCoalescer(recorder, 1 + random.nextInt(8), true);
            final int flowCount = 1 + random.nextInt(6);
            final Segment[] last = new Segment[flowCount];
            final int[] size = new int[flowCount];
            for (int f = 0; f < flowCount; f++) {
                last[f] = new Segment();
                last[f].srcPort = 20_000 + f;
                last[f].df = random.nextInt(4) != 0;
                last[f].seq = random.nextInt() & 0xffffffffL; // wrap-around included
                last[f].id = random.nextInt(65536);
                size[f] = 1 + random.nextInt(1460);
                last[f].payload(size[f], f);
            }
            final Map<Integer, List<byte[]>> expected = new LinkedHashMap<>();
            final int packets = 50 + random.nextInt(300);
            for (int i = 0; i < packets; i++) {
                final int f = random.nextInt(flowCount);
                final Segment s = i < flowCount ? last[f] : mutate(last[f], size[f], random);
                last[f] = s;
                final byte[] b = s.bytes();
                if (random.nextInt(20) == 0) {
                    final UnsafeBuffer udp = new UnsafeBuffer(new byte[200]);
                    final int n = Ipv4Udp.build(udp, 0, s.src, s.srcPort, s.dst, s.dstPort, new byte[random.nextInt(100)], i);
                    offer(Arrays.copyOf(udp.byteArray(), n));
                    expected.computeIfAbsent(-1, k -> new ArrayList<>()).add(Arrays.copyOf(udp.byteArray(), n));
                }
                offer(b);
                expected.computeIfAbsent(s.srcPort, k -> new ArrayList<>()).add(asCut(b));
                if (random.nextInt(40) == 0) {
                    coalescer.flush();
                }
            }
            coalescer.flush();
            assertFalse(coalescer.hasPending());
            final Map<Integer, List<byte[]>> actual = groupByFlow(emitted());
            assertEquals(expected.keySet(), actual.keySet(), "round " + round);
            for (Map.Entry<Integer, List<byte[]>> e : expected.entrySet()) {
                final List<byte[]> got = actual.get(e.getKey());
                for (int i = 0; i < got.size(); i++) {
                    got.set(i, asCut(got.get(i)));
                }
                assertSamePackets(e.getValue(), got);
            }
        }
    }

    /** The next packet of a flow: usually the next full segment, sometimes something else. */
    private static Segment mutate(Segment last, int size, Random random) {
        final int r = random.nextInt(100);
        final Segment s;
        if (r < 70) {
            s = last.next(size);
        } else if (r < 75) {
            s = last.next(1 + random.nextInt(size)); // short
        } else if (r < 80) {
            s = last.next(size);
            s.flags |= Ipv4Tcp.PSH;
        } else if (r < 84) {
            s = last.next(0); // pure ACK
            s.seq = (last.seq + last.payload.length) & 0xffffffffL;
        } else if (r < 88) {
            s = last.next(size);
            s.seq = (s.seq - size * (1 + random.nextInt(3))) & 0xffffffffL; // retransmission
        } else if (r < 91) {
            s = last.next(size);
            s.ack += 1000;
        } else if (r < 94) {
            s = last.next(size);
            s.tcpOptions = Ipv4Tcp.timestampOption(random.nextInt(), 678);
        } else if (r < 97) {
            s = last.next(size);
            s.id = random.nextInt(65536); // odd ID: joins only with DF
        } else {
            s = last.next(size);
            s.seq += 1 + random.nextInt(5000); // gap
        }
        if (random.nextInt(50) == 0) {
            s.corruptChecksum = true;
        }
        return s;
    }

    /** For DF packets the ID is not kept by coalescing (RFC 6864): compare with ID and IP checksum zeroed. */
    private static byte[] asCut(byte[] packet) {
        if ((packet[6] & 0x40) == 0 || packet[9] != 6) {
            return packet;
        }
        final byte[] copy = packet.clone();
        copy[4] = copy[5] = copy[10] = copy[11] = 0;
        return copy;
    }

    /** TCP packets by source port; everything else under -1. */
    private static Map<Integer, List<byte[]>> groupByFlow(List<byte[]> packets) {
        final Map<Integer, List<byte[]>> map = new LinkedHashMap<>();
        for (byte[] p : packets) {
            final int ihl = (p[0] & 0x0f) * 4;
            final int key = p[9] == 6 ? new UnsafeBuffer(p).getShort(ihl, ByteOrder.BIG_ENDIAN) & 0xffff : -1;
            map.computeIfAbsent(key, k -> new ArrayList<>()).add(p);
        }
        return map;
    }

    @Test
    void offerAndFlushAllocateNothing() {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        final TcpCoalescer quiet = new TcpCoalescer((h, hl, p, pl) -> hl + pl);
        final List<Segment> in = stream(new Segment(), 1448, 1448, 1448, 1448, 1448, 1448, 1448, 1200);
        final UnsafeBuffer packets = new UnsafeBuffer(BufferUtil.allocateDirectAligned(in.size() * 2048, 64));
        for (int i = 0; i < in.size(); i++) {
            packets.putBytes(i * 2048, in.get(i).bytes());
        }
        final int[] lengths = in.stream().mapToInt(Segment::length).toArray();
        final Runnable batch = () -> {
            for (int i = 0; i < lengths.length; i++) {
                quiet.offer(packets.addressOffset() + i * 2048L, lengths[i]);
            }
            quiet.flush();
        };
        for (int i = 0; i < 50_000; i++) {
            batch.run();
        }
        final long before = threads.getThreadAllocatedBytes(Thread.currentThread().getId());
        for (int i = 0; i < 50_000; i++) {
            batch.run();
        }
        final long allocated = threads.getThreadAllocatedBytes(Thread.currentThread().getId()) - before;
        assertTrue(allocated < 4096, "allocated " + allocated + " bytes over 400 000 packets");
        assertEquals(100_000, quiet.superPackets());
    }
}
