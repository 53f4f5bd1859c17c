package org.egressgw.core.datapath;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.control.policy.PolicyTable;
import org.egressgw.encap.VxlanEncapsulator;
import org.egressgw.packet.Checksum;
import org.egressgw.packet.Ethernet;
import org.egressgw.packet.FrameBuilder;
import org.egressgw.packet.Icmp;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Ipv4Cidr;
import org.egressgw.packet.Tcp;
import org.egressgw.packet.Udp;
import org.egressgw.packet.Vxlan;
import org.egressgw.tunio.VirtioNetHeader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The reply path with offload metadata ({@link Datapath#replyVnetHeader}): a TCP super-packet is translated once
 * and handed to {@link TunnelSink#sendOffloaded} whole, its started checksum finishing valid; a single packet
 * with a started checksum is finished by the datapath and batched; metadata the gateway cannot honour is
 * dropped and counted, never sent.
 */
class DatapathOffloadTest {
    static final int SERVER_PORT = 80;
    static final int POD_PORT = 40000;

    /** Room for a 64 KiB packet behind the reply headroom, as the offload reply ring has. */
    final UnsafeBuffer slot = new UnsafeBuffer(ByteBuffer.allocateDirect(PacketEvent.REPLY_OFFSET + 65536));
    final List<byte[]> plain = new ArrayList<>();
    final List<Offloaded> offloaded = new ArrayList<>();
    final Counters request = new Counters();
    final Counters reply = new Counters();
    ConnTable table;
    Datapath dp;
    int natPort;

    record Offloaded(byte[] bytes, int dstIp, int gsoType, int gsoSize, int csumStart, int csumOffset, int headerBytes) {
    }

    @BeforeEach
    void setUp() {
        table = new ConnTable(1024);
        PolicyTable.Builder pb = new PolicyTable.Builder();
        int id = pb.addPolicy("p", DatapathTest.EGRESS_IP);
        pb.addRule(DatapathTest.POD1, Ipv4Cidr.parse("203.0.113.0/24"), id);
        DatapathSettings s = new DatapathSettings(DatapathTest.GW_UNDERLAY, 8472, DatapathTest.VNI, DatapathTest.GW_MAC,
                DatapathTest.OVERLAY, true, List.of(Ipv4Cidr.parse("198.51.100.0/24")), 1450, 1410, 32768, 65535, 32);
        TunnelSink tunnel = new TunnelSink() {
            @Override
            public boolean add(long address, int length, int dstIp) {
                plain.add(copy(address, length));
                return true;
            }

            @Override
            public boolean sendOffloaded(long address, int length, int dstIp, int gsoType, int gsoSize, int csumStart,
                    int csumOffset, int headerBytes) {
                offloaded.add(new Offloaded(copy(address, length), dstIp, gsoType, gsoSize, csumStart, csumOffset,
                        headerBytes));
                return true;
            }

            @Override
            public int flush() {
                return 0;
            }
        };
        dp = new Datapath(s, table, new Datapath.PolicyView(pb.build()), (address, length) -> length, tunnel, request, reply);
        dp.replyVnetHeader(VirtioNetHeader.LENGTH);
        // an established connection: SYN out, SYN-ACK back (no offload), ACK out
        requestTcp(Tcp.SYN);
        natPort = POD_PORT;
        int rlen = FrameBuilder.tcp(slot, PacketEvent.REPLY_OFFSET, DatapathTest.SERVER, DatapathTest.EGRESS_IP, SERVER_PORT,
                natPort, Tcp.SYN | Tcp.ACK, 1460, 0);
        vnet(0, 0, 0, 0, 0);
        reply(rlen);
        requestTcp(Tcp.ACK);
        assertEquals(1, plain.size(), "the SYN-ACK went the plain way");
        plain.clear();
    }

    @AfterEach
    void tearDown() {
        table.close();
    }

    static byte[] copy(long address, int length) {
        byte[] copy = new byte[length];
        new UnsafeBuffer(address, length).getBytes(0, copy);
        return copy;
    }

    void requestTcp(int flags) {
        int off = PacketEvent.REQUEST_OFFSET;
        int ipLen = FrameBuilder.tcp(slot, off + Vxlan.HEADER_LENGTH + Ethernet.HEADER_LENGTH, DatapathTest.POD1,
                DatapathTest.SERVER, POD_PORT, SERVER_PORT, flags, flags == Tcp.SYN ? 1460 : 0, 0);
        int len = FrameBuilder.vxlan(slot, off, DatapathTest.VNI, DatapathTest.GW_MAC, DatapathTest.NODE_MAC, ipLen);
        dp.onRequest(slot, slot.addressOffset(), off, len, DatapathTest.NODE, 1_000);
        dp.flush();
    }

    void requestUdp() {
        int off = PacketEvent.REQUEST_OFFSET;
        int ipLen = FrameBuilder.udp(slot, off + Vxlan.HEADER_LENGTH + Ethernet.HEADER_LENGTH, DatapathTest.POD1,
                DatapathTest.SERVER, POD_PORT, 53, 10, true);
        int len = FrameBuilder.vxlan(slot, off, DatapathTest.VNI, DatapathTest.GW_MAC, DatapathTest.NODE_MAC, ipLen);
        dp.onRequest(slot, slot.addressOffset(), off, len, DatapathTest.NODE, 1_000);
        dp.flush();
    }

    void vnet(int flags, int gsoType, int gsoSize, int csumStart, int csumOffset) {
        int v = PacketEvent.REPLY_OFFSET - VirtioNetHeader.LENGTH;
        VirtioNetHeader.none(slot, v);
        VirtioNetHeader.flags(slot, v, flags);
        VirtioNetHeader.gsoType(slot, v, gsoType);
        VirtioNetHeader.gsoSize(slot, v, gsoSize);
        VirtioNetHeader.csumStart(slot, v, csumStart);
        VirtioNetHeader.csumOffset(slot, v, csumOffset);
    }

    void reply(int len) {
        dp.onReply(slot, slot.addressOffset(), PacketEvent.REPLY_OFFSET, len, 2_000);
        dp.flush(); // as the worker does at the end of every ring batch
    }

    /** A reply data segment from the server with the checksum started (pseudo-header sum only), as TSO leaves it. */
    int partialTcp(int flags, int mss, int payload) {
        int ip = PacketEvent.REPLY_OFFSET;
        int len = FrameBuilder.tcp(slot, ip, DatapathTest.SERVER, DatapathTest.EGRESS_IP, SERVER_PORT, natPort, flags, mss,
                payload);
        startChecksum(ip, len, Ipv4.PROTO_TCP, Tcp.CHECKSUM_OFFSET);
        return len;
    }

    void startChecksum(int ip, int len, int proto, int field) {
        int hl = Ipv4.headerLength(slot, ip);
        int started = Checksum.fold(Checksum.pseudoHeader(Ipv4.srcAddress(slot, ip), Ipv4.dstAddress(slot, ip), proto,
                len - hl));
        slot.putShort(ip + hl + field, (short) started, java.nio.ByteOrder.BIG_ENDIAN);
    }

    /** Finishes a started checksum as the kernel does, then checks it. */
    static void assertFinishesValid(byte[] outer, int csumStart, int csumOffset) {
        UnsafeBuffer b = new UnsafeBuffer(outer);
        int inner = VxlanEncapsulator.OVERHEAD;
        int l4len = Ipv4.totalLength(b, inner) - Ipv4.headerLength(b, inner);
        int finished = ~Checksum.fold(Checksum.sum(b, csumStart, l4len, 0)) & 0xffff;
        b.putShort(csumStart + csumOffset, (short) finished, java.nio.ByteOrder.BIG_ENDIAN);
        assertTrue(Checksum.verifyTransport(b, csumStart, l4len, Ipv4.srcAddress(b, inner), Ipv4.dstAddress(b, inner),
                Ipv4.protocol(b, inner)), "finished checksum valid");
    }

    @Test
    void superPacketIsTranslatedOnceAndHandedOverWhole() {
        int len = partialTcp(Tcp.ACK | Tcp.PSH, 0, 20_000);
        vnet(VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 1398, 20, 16);
        reply(len);

        assertEquals(0, plain.size());
        assertEquals(1, offloaded.size());
        Offloaded o = offloaded.get(0);
        assertEquals(DatapathTest.NODE, o.dstIp());
        assertEquals(len + VxlanEncapsulator.OVERHEAD, o.bytes().length);
        assertEquals(VirtioNetHeader.GSO_TCPV4, o.gsoType());
        assertEquals(1398, o.gsoSize());
        assertEquals(VxlanEncapsulator.OVERHEAD + 20, o.csumStart());
        assertEquals(16, o.csumOffset());
        assertEquals(VxlanEncapsulator.OVERHEAD + 40, o.headerBytes());
        UnsafeBuffer t = new UnsafeBuffer(o.bytes());
        assertEquals(len + VxlanEncapsulator.OVERHEAD, Ipv4.totalLength(t, 0), "outer length covers the super-packet");
        assertTrue(Checksum.verifyIpv4Header(t, 0, 20));
        assertEquals(DatapathTest.POD1, Ipv4.dstAddress(t, 50));
        assertEquals(POD_PORT, Tcp.dstPort(t, 70));
        assertTrue(Checksum.verifyIpv4Header(t, 50, 20), "inner IP header checksum is complete");
        assertFinishesValid(o.bytes(), o.csumStart(), o.csumOffset());
        assertEquals(1, reply.get(Counters.SUPER_PACKETS));
        assertEquals(1, reply.get(Counters.TX_PACKETS) - 1, "SYN-ACK and the super-packet");
    }

    @Test
    void startedChecksumSurvivesTheMssClamp() {
        // a retransmitted SYN-ACK whose checksum the server's kernel left started: the clamp changes the
        // option only, which the finished sum covers anyway; a single packet is finished here and batched
        int len = partialTcp(Tcp.SYN | Tcp.ACK, 1460, 0);
        vnet(VirtioNetHeader.FLAG_NEEDS_CSUM, 0, 0, 20, 16);
        reply(len);
        assertEquals(0, offloaded.size());
        assertEquals(1, plain.size());
        UnsafeBuffer t = new UnsafeBuffer(plain.get(0));
        assertEquals(1410, Tcp.mss(t, 70));
        DatapathTest.assertValidIpv4(t, 50);
        assertEquals(0, reply.get(Counters.SUPER_PACKETS));
    }

    @Test
    void singleUdpPacketWithAStartedChecksumIsFinishedAndBatched() {
        int ip = PacketEvent.REPLY_OFFSET;
        requestUdp();
        int len = FrameBuilder.udp(slot, ip, DatapathTest.SERVER, DatapathTest.EGRESS_IP, 53, POD_PORT, 300, true);
        startChecksum(ip, len, Ipv4.PROTO_UDP, Udp.CHECKSUM_OFFSET);
        vnet(VirtioNetHeader.FLAG_NEEDS_CSUM, 0, 0, 20, Udp.CHECKSUM_OFFSET);
        reply(len);
        assertEquals(1, plain.size());
        UnsafeBuffer t = new UnsafeBuffer(plain.get(0));
        assertEquals(POD_PORT, Udp.dstPort(t, 70));
        DatapathTest.assertValidIpv4(t, 50);
    }

    @Test
    void segmentsTooBigForTheTunnelAreRefusedLikeAnyTooBigPacket() {
        int len = partialTcp(Tcp.ACK, 0, 20_000);
        vnet(VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 1411, 20, 16);
        reply(len);
        assertEquals(1, reply.drops(DropReason.TOO_BIG));
        assertEquals(0, offloaded.size());
        len = partialTcp(Tcp.ACK, 0, 20_000);
        vnet(VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 1410, 20, 16);
        reply(len);
        assertEquals(1, offloaded.size(), "segments of inner MTU fit");
    }

    /** Each case: metadata the gateway cannot honour; dropped as offload_invalid, nothing sent, the flow unharmed. */
    @Test
    void metadataTheGatewayCannotHonourIsDroppedAndCounted() {
        int n = 0;
        int[][] tcpCases = {
            // flags, gsoType, gsoSize, csumStart, csumOffset
            {VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_UDP_L4, 1000, 20, 16},
            {VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV6, 1000, 20, 16},
            {VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_UDP, 1000, 20, 16},
            {0, VirtioNetHeader.GSO_TCPV4, 1000, 20, 16},
            {VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 0, 20, 16},
            {VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 1000, 19, 16},
            {VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 1000, 24, 16},
            {VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 1000, 20, 6},
            {VirtioNetHeader.FLAG_NEEDS_CSUM, 0, 0, 0xffff, 0xffff},
            {VirtioNetHeader.FLAG_NEEDS_CSUM, 0x7f, 1000, 20, 16},
        };
        for (int[] c : tcpCases) {
            int len = partialTcp(Tcp.ACK, 0, 5000);
            vnet(c[0], c[1], c[2], c[3], c[4]);
            reply(len);
            assertEquals(++n, reply.drops(DropReason.OFFLOAD_INVALID), "case " + java.util.Arrays.toString(c));
        }
        // a UDP packet may have a started checksum, but is never a TCP super-packet
        int ip = PacketEvent.REPLY_OFFSET;
        int len = FrameBuilder.udp(slot, ip, DatapathTest.SERVER, DatapathTest.EGRESS_IP, 53, natPort, 3000, true);
        vnet(VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 1000, 20, Udp.CHECKSUM_OFFSET);
        reply(len);
        assertEquals(++n, reply.drops(DropReason.OFFLOAD_INVALID), "UDP super-packet");
        // ICMP is never partial
        len = FrameBuilder.icmpEcho(slot, ip, DatapathTest.SERVER, DatapathTest.EGRESS_IP, Icmp.TYPE_ECHO_REPLY, natPort, 1, 8);
        vnet(VirtioNetHeader.FLAG_NEEDS_CSUM, 0, 0, 20, 2);
        reply(len);
        assertEquals(++n, reply.drops(DropReason.OFFLOAD_INVALID), "partial ICMP");
        // a fragment is never partial
        len = partialTcp(Tcp.ACK, 0, 1000);
        Ipv4.flagsAndFragment(slot, ip, 0x2000);
        Ipv4.updateHeaderChecksum(slot, ip);
        vnet(VirtioNetHeader.FLAG_NEEDS_CSUM, 0, 0, 20, 16);
        reply(len);
        assertEquals(++n, reply.drops(DropReason.OFFLOAD_INVALID), "partial fragment");
        // a super-packet that cannot be encapsulated within 64 KiB
        len = partialTcp(Tcp.ACK, 0, 65535 - 40 - 10);
        vnet(VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 1000, 20, 16);
        reply(len);
        assertEquals(++n, reply.drops(DropReason.OFFLOAD_INVALID), "too large to encapsulate");

        assertEquals(0, offloaded.size());
        assertEquals(0, plain.size());
        // the connection is unharmed: a good super-packet still goes through
        len = partialTcp(Tcp.ACK, 0, 5000);
        vnet(VirtioNetHeader.FLAG_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 1000, 20, 16);
        reply(len);
        assertEquals(1, offloaded.size());
    }

    /** Random vnet headers in front of valid replies: every packet is sent one way or dropped under one reason. */
    @Test
    void randomMetadataNeverLosesCount() {
        Random rnd = new Random(6_17);
        List<Offloaded> fromStartedChecksums = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            boolean started = rnd.nextBoolean();
            int len = started ? partialTcp(Tcp.ACK, 0, rnd.nextInt(30_000))
                    : FrameBuilder.tcp(slot, PacketEvent.REPLY_OFFSET, DatapathTest.SERVER, DatapathTest.EGRESS_IP, SERVER_PORT,
                            natPort, Tcp.ACK, 0, rnd.nextInt(1400));
            int v = PacketEvent.REPLY_OFFSET - VirtioNetHeader.LENGTH;
            for (int k = 0; k < VirtioNetHeader.LENGTH; k++) {
                slot.putByte(v + k, (byte) (rnd.nextInt(4) == 0 ? rnd.nextInt(256) : 0));
            }
            if (rnd.nextBoolean()) {
                vnet(VirtioNetHeader.FLAG_NEEDS_CSUM, rnd.nextBoolean() ? VirtioNetHeader.GSO_TCPV4 : 0,
                        rnd.nextInt(2000), 20, 16);
            }
            boolean claimsStarted = (VirtioNetHeader.flags(slot, v) & VirtioNetHeader.FLAG_NEEDS_CSUM) != 0;
            int before = offloaded.size();
            int plainBefore = plain.size();
            reply(len);
            if (started && offloaded.size() > before) {
                fromStartedChecksums.add(offloaded.get(before));
            }
            if (started && claimsStarted && plain.size() > plainBefore) {
                DatapathTest.assertValidIpv4(new UnsafeBuffer(plain.get(plainBefore)), 50);
            }
        }
        long drops = 0;
        for (int r = 0; r < DropReason.COUNT; r++) {
            drops += reply.drops(r);
        }
        assertEquals(reply.get(Counters.RX_PACKETS), reply.get(Counters.TX_PACKETS) + drops);
        assertEquals(reply.get(Counters.TX_PACKETS), plain.size() + offloaded.size() + 1, "plus the SYN-ACK");
        // (a header that claims a started checksum in front of a finished one is garbage in, garbage out)
        for (Offloaded o : fromStartedChecksums) {
            assertFinishesValid(o.bytes(), o.csumStart(), o.csumOffset());
        }
        assertTrue(offloaded.size() > 100 && reply.drops(DropReason.OFFLOAD_INVALID) > 100,
                offloaded.size() + " offloaded, " + reply.drops(DropReason.OFFLOAD_INVALID) + " invalid");
    }
}
