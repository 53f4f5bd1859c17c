package org.egressgw.core.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.DropReason;
import org.egressgw.packet.Ipv4;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Hostile input through the real pipeline ({@link ReplayPipeline}: rings, worker, datapath), built
 * from the corpus's real packets: every packet truncated at every byte offset, and crafted cases for
 * each header field a parser trusts. For all of them: nothing throws, each packet is dropped and
 * counted exactly once (or, for the few valid oddities, forwarded intact), no connection or NAT port
 * is created by an invalid packet, and a legitimate flow interleaved with them is unchanged byte for
 * byte. Random mutation at scale is {@link MutationProperties}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileInputTest {
    static final int IP = 22; // VXLAN (8) + Ethernet (14) in a request payload
    List<Harness.Input> corpus;
    List<Harness.Input> http;

    @BeforeAll
    void load() throws Exception {
        corpus = Harness.loadAll();
        http = Harness.load("tcp-http");
    }

    /**
     * Every packet cut at every length below its own (down to 1 byte; 0 is
     * {@link #emptyDatagramIsCounted}): dropped once, no output, no state.
     */
    @Test
    void everyPacketTruncatedAtEveryOffset() throws Exception {
        try (Harness h = new Harness(4096)) {
            long n = 0;
            for (Harness.Input in : corpus) {
                for (int len = 1; len < in.bytes().length; len++) {
                    Harness.Input cut = in.withBytes(Arrays.copyOf(in.bytes(), len));
                    assertDroppedOnce(h, cut, "truncated to " + len + " of " + in.bytes().length);
                    n++;
                }
            }
            assertNoState(h);
            assertEquals(n, h.received());
            assertTrue(n > 150_000, "cases: " + n);
        }
    }

    /**
     * An empty UDP datagram on the tunnel port (or an empty read from the TUN device) is a packet
     * received like any other and must be counted. Production's receivers publish it with length 0,
     * which the worker skips as "nothing here", so today it is neither forwarded nor counted.
     */
    @Test
    void emptyDatagramIsCounted() throws Exception {
        try (Harness h = new Harness(4096)) {
            Harness.Effect e = h.offer(corpus.get(0).withBytes(new byte[0]));
            assertEquals(0, e.outputs().size());
            assertEquals(1, e.drops(), "an empty datagram is dropped and counted under a reason");
        }
    }

    @Test
    void craftedInvalidPacketsAreDroppedCountedAndLeaveNoState() throws Exception {
        List<Case> cases = crafted();
        try (Harness h = new Harness(4096)) {
            for (Case c : cases) {
                Harness.Effect e = assertDroppedOnce(h, c.input(), c.name());
                if (c.reason() >= 0) {
                    long count = c.input().reply() ? h.pipeline.replyCounters().drops(c.reason()) + h.pipeline.egressPortCounters().drops(c.reason())
                            : h.pipeline.requestCounters().drops(c.reason()) + h.pipeline.tunnelPortCounters().drops(c.reason());
                    assertTrue(count > 0, c.name() + ": counted as " + DropReason.name(c.reason()) + " (drops " + e.drops() + ")");
                }
            }
            assertNoState(h);
        }
    }

    /** TTL 0 and 1 from a pod: answered with time exceeded, and not worth a connection or a NAT port. */
    @Test
    void expiringTtlCreatesNoConnection() throws Exception {
        try (Harness h = new Harness(4096)) {
            for (int ttl : new int[] {0, 1}) {
                Harness.Input syn = mutate(http.get(0), b -> {
                    b[IP + 8] = (byte) ttl;
                    fixIpChecksum(b, IP);
                });
                Harness.Effect e = h.offer(syn);
                assertEquals(1, e.drops(), "TTL " + ttl + ": counted once");
            }
            assertNoState(h);
        }
    }

    /** A valid packet with IP options is either forwarded with valid checksums or dropped under a reason. */
    @Test
    void ipOptionsAreHandledOneWayOrTheOther() throws Exception {
        try (Harness h = new Harness(4096)) {
            byte[] b = withOptions(http.get(0).bytes());
            Harness.Effect e = h.offer(http.get(0).withBytes(b));
            if (e.drops() == 0) {
                assertEquals(1, e.outputs().size());
                Independent.assertChecksums(Independent.ipv4(e.outputs().get(0)), "SYN with options, translated");
            } else {
                assertEquals(1, e.drops());
                assertEquals(0, e.outputs().size());
            }
        }
    }

    /** The TCP exchange of the corpus, alone and with every crafted and truncated packet interleaved. */
    @Test
    void legitimateFlowInterleavedWithHostileInputIsUnchanged() throws Exception {
        List<byte[]> clean = new ArrayList<>();
        try (Harness h = new Harness(4096)) {
            for (Harness.Input in : http) {
                clean.addAll(h.offer(in).outputs());
            }
        }
        List<Harness.Input> hostile = new ArrayList<>();
        for (Case c : crafted()) {
            hostile.add(c.input());
        }
        for (Harness.Input in : corpus) {
            for (int len = 0; len < Math.min(in.bytes().length, 120); len += 7) {
                hostile.add(in.withBytes(Arrays.copyOf(in.bytes(), len)));
            }
        }
        List<byte[]> mixed = new ArrayList<>();
        try (Harness h = new Harness(4096)) {
            int k = 0;
            for (Harness.Input in : http) {
                for (int i = 0; i < hostile.size() / http.size() + 1 && k < hostile.size(); i++, k++) {
                    Harness.Input bad = hostile.get(k);
                    h.offer(new Harness.Input(bad.reply(), bad.bytes(), bad.peer(), in.timeMillis()));
                }
                mixed.addAll(h.offer(in).outputs());
            }
        }
        assertEquals(clean.size(), mixed.size(), "the flow's packets out");
        for (int i = 0; i < clean.size(); i++) {
            assertTrue(Arrays.equals(clean.get(i), mixed.get(i)), "output #" + (i + 1) + " of the legitimate flow changed");
        }
    }

    // ------------------------------------------------------------------ crafted cases

    record Case(String name, Harness.Input input, int reason) {
    }

    List<Case> crafted() throws Exception {
        Harness.Input syn = http.get(0);
        Harness.Input synAck = http.stream().filter(Harness.Input::reply).findFirst().orElseThrow();
        List<Harness.Input> echo = Harness.load("arp-icmp-echo");
        Harness.Input arp = echo.get(0);
        Harness.Input ping = echo.stream().filter(i -> !i.reply() && i.bytes()[20] == 0x08 && i.bytes()[21] == 0).findFirst().orElseThrow();
        Harness.Input udp = Harness.load("udp-echo").get(0);
        Harness.Input timeExceeded = Harness.load("icmp-time-exceeded-outside").stream().filter(Harness.Input::reply).findFirst().orElseThrow();
        List<Harness.Input> frags = Harness.load("fragments").stream().filter(i -> !i.reply()).toList();
        List<Case> c = new ArrayList<>();
        c.add(new Case("VXLAN without the I flag", mutate(syn, b -> b[0] = 0), org.egressgw.packet.PacketError.VXLAN_BAD_FLAGS));
        c.add(new Case("wrong VNI", mutate(syn, b -> b[6] = 9), DropReason.WRONG_VNI));
        c.add(new Case("IPv6 ethertype", mutate(syn, b -> { b[20] = (byte) 0x86; b[21] = (byte) 0xdd; }), DropReason.UNSUPPORTED_ETHERTYPE));
        c.add(new Case("unknown ethertype", mutate(syn, b -> { b[20] = (byte) 0x88; b[21] = (byte) 0xb5; }), DropReason.UNSUPPORTED_ETHERTYPE));
        c.add(new Case("IPv4 version 6", mutate(syn, b -> { b[IP] = 0x65; fixIpChecksum(b, IP); }), org.egressgw.packet.PacketError.IPV4_BAD_VERSION));
        c.add(new Case("IHL 4", mutate(syn, b -> b[IP] = 0x44), org.egressgw.packet.PacketError.IPV4_BAD_IHL));
        c.add(new Case("IHL 15 beyond the packet", mutate(udp, b -> b[IP] = 0x4f), -1));
        c.add(new Case("total length beyond the frame", mutate(syn, b -> { put16(b, IP + 2, 1400); fixIpChecksum(b, IP); }), -1));
        c.add(new Case("total length below the header", mutate(syn, b -> { put16(b, IP + 2, 12); fixIpChecksum(b, IP); }), -1));
        c.add(new Case("bad header checksum", mutate(syn, b -> b[IP + 10] ^= 0x55), org.egressgw.packet.PacketError.IPV4_BAD_CHECKSUM));
        c.add(new Case("TCP data offset 3", mutate(syn, b -> b[IP + 20 + 12] = 0x30), org.egressgw.packet.PacketError.TCP_BAD_DATA_OFFSET));
        c.add(new Case("TCP data offset beyond the segment", mutate(syn, b -> b[IP + 20 + 12] = (byte) 0xf0), -1));
        c.add(new Case("UDP length beyond the packet", mutate(udp, b -> put16(b, IP + 24, 900)), org.egressgw.packet.PacketError.UDP_BAD_LENGTH));
        c.add(new Case("UDP length below its header", mutate(udp, b -> put16(b, IP + 24, 4)), -1));
        c.add(new Case("ICMP error from a pod quoting garbage", mutate(ping, b -> { b[IP + 20] = 3; b[IP + 21] = 1; }), -1));
        c.add(new Case("ICMP truncated", cutIp(ping, 24), -1));
        c.add(new Case("ARP with a 7-byte hardware address", mutate(arp, b -> b[22 + 4] = 7), -1));
        c.add(new Case("ARP opcode 9", mutate(arp, b -> b[22 + 7] = 9), -1));
        c.add(new Case("ARP for IPv6", mutate(arp, b -> { b[22 + 2] = (byte) 0x86; b[22 + 3] = (byte) 0xdd; }), -1));
        c.add(new Case("ARP cut short", arp.withBytes(Arrays.copyOf(arp.bytes(), 22 + 20)), -1));
        c.add(new Case("ARP reply (needs no answer)", mutate(arp, b -> b[22 + 7] = 2), DropReason.ARP_NOT_FOR_US));
        c.add(new Case("oversize datagram", syn.withBytes(Arrays.copyOf(syn.bytes(), 4000)), DropReason.OVERSIZE));
        c.add(new Case("oversize reply", synAck.withBytes(Arrays.copyOf(synAck.bytes(), 4000)), DropReason.OVERSIZE));
        c.add(new Case("later fragment of a datagram never seen", frags.get(1), DropReason.FRAGMENT));
        c.add(new Case("overlapping fragment of a datagram never seen", mutate(frags.get(2), b -> { put16(b, IP + 6, 0x2000 | 100); fixIpChecksum(b, IP); }), DropReason.FRAGMENT));
        // the egress side
        c.add(new Case("reply nobody asked for", synAck, DropReason.NO_CONNECTION));
        c.add(new Case("reply with version 5", mutate(synAck, b -> { b[0] = 0x55; fixIpChecksum(b, 0); }), -1));
        c.add(new Case("reply with bad checksum", mutate(synAck, b -> b[10] ^= 1), org.egressgw.packet.PacketError.IPV4_BAD_CHECKSUM));
        c.add(new Case("ICMP error quoting another flow", timeExceeded, -1));
        c.add(new Case("ICMP error quoting garbage", mutate(timeExceeded, b -> {
            for (int i = 28; i < b.length; i++) {
                b[i] = (byte) (i * 37);
            }
            fixIcmpChecksum(b, 20);
        }), -1));
        c.add(new Case("ICMP error quoting a truncated header", cutIp(timeExceeded.withBytes(timeExceeded.bytes()), 0, 28 + 12), -1));
        return c;
    }

    static Harness.Input mutate(Harness.Input in, Consumer<byte[]> change) {
        byte[] b = in.bytes().clone();
        change.accept(b);
        return in.withBytes(b);
    }

    /** The request cut so that its IPv4 packet is {@code ipLen} bytes, total length and checksum adjusted. */
    static Harness.Input cutIp(Harness.Input in, int ipLen) {
        return cutIp(in, IP, ipLen);
    }

    static Harness.Input cutIp(Harness.Input in, int ip, int ipLen) {
        byte[] b = Arrays.copyOf(in.bytes(), ip + ipLen);
        put16(b, ip + 2, ipLen);
        fixIpChecksum(b, ip);
        return in.withBytes(b);
    }

    static void put16(byte[] b, int off, int v) {
        b[off] = (byte) (v >> 8);
        b[off + 1] = (byte) v;
    }

    static void fixIpChecksum(byte[] b, int ip) {
        int hl = Math.min((b[ip] & 0x0f) * 4, b.length - ip);
        if (hl < 20) {
            return;
        }
        put16(b, ip + 10, 0);
        put16(b, ip + 10, org.egressgw.packet.Checksum.ipv4Header(new UnsafeBuffer(b), ip, hl));
    }

    static void fixIcmpChecksum(byte[] b, int icmp) {
        put16(b, icmp + 2, 0);
        put16(b, icmp + 2, org.egressgw.packet.Checksum.icmp(new UnsafeBuffer(b), icmp, b.length - icmp));
    }

    /** The SYN with a 4-byte IP option (NOP NOP NOP EOL) inserted, lengths and checksum fixed. */
    static byte[] withOptions(byte[] req) {
        byte[] b = new byte[req.length + 4];
        System.arraycopy(req, 0, b, 0, IP + 20);
        b[IP + 20] = 1;
        b[IP + 21] = 1;
        b[IP + 22] = 1;
        b[IP + 23] = 0;
        System.arraycopy(req, IP + 20, b, IP + 24, req.length - IP - 20);
        b[IP] = 0x46;
        put16(b, IP + 2, ((req[IP + 2] & 0xff) << 8 | (req[IP + 3] & 0xff)) + 4);
        fixIpChecksum(b, IP);
        return b;
    }

    // ------------------------------------------------------------------ assertions

    static Harness.Effect assertDroppedOnce(Harness h, Harness.Input in, String what) {
        Harness.Effect e = h.offer(in);
        assertEquals(1, e.drops(), what + ": dropped and counted exactly once");
        for (byte[] out : e.outputs()) {
            // the only thing an invalid packet may cause is an ICMP error back to its sender
            assertEquals(Ipv4.PROTO_ICMP, Ipv4.protocol(new UnsafeBuffer(out), in.reply() ? 0 : 50), what + ": output " + Arrays.toString(out));
        }
        return e;
    }

    static void assertNoState(Harness h) {
        assertEquals(0, h.pipeline.table().size(), "connections created by invalid packets");
        assertEquals(0, h.connectionsCreated(), "connections created by invalid packets");
        assertEquals(0, h.pipeline.natPortsInUse(), "NAT ports taken by invalid packets");
        // ICMP errors the gateway sends about a dropped packet are not counted as sent packets
        assertEquals(h.received(), h.pipeline.requestCounters().get(Counters.TX_PACKETS) + h.pipeline.replyCounters().get(Counters.TX_PACKETS)
                + h.drops(), "rx = tx + drops");
    }
}
