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
import org.egressgw.packet.Arp;
import org.egressgw.packet.Checksum;
import org.egressgw.packet.Ethernet;
import org.egressgw.packet.FrameBuilder;
import org.egressgw.packet.Icmp;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.Ipv4Cidr;
import org.egressgw.packet.MacAddress;
import org.egressgw.packet.PacketError;
import org.egressgw.packet.Tcp;
import org.egressgw.packet.Udp;
import org.egressgw.packet.Vxlan;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The whole datapath in memory: real packet bytes in, recorded packet bytes out, every verdict counted. */
class DatapathTest {
    static final int GW_UNDERLAY = Ipv4Address.parse("198.51.100.2");
    static final int NODE = Ipv4Address.parse("198.51.100.1");
    static final int STRANGER = Ipv4Address.parse("192.0.2.1");
    static final int POD1 = Ipv4Address.parse("10.244.1.10");
    static final int POD2 = Ipv4Address.parse("10.244.1.11");
    static final int SERVER = Ipv4Address.parse("203.0.113.5");
    static final int EXCLUDED_SERVER = Ipv4Address.parse("203.0.113.200");
    static final int EGRESS_IP = Ipv4Address.parse("192.0.2.10");
    static final int OVERLAY = Ipv4Address.parse("10.99.0.2");
    static final long GW_MAC = MacAddress.parse("02:00:0a:63:00:02");
    static final long NODE_MAC = MacAddress.parse("02:00:0a:63:00:01");
    static final int VNI = 2;

    final UnsafeBuffer slot = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
    final List<byte[]> egressOut = new ArrayList<>();
    final List<byte[]> tunnelOut = new ArrayList<>();
    final List<Integer> tunnelDst = new ArrayList<>();
    final Counters request = new Counters();
    final Counters reply = new Counters();
    ConnTable table;
    Datapath dp;

    @BeforeEach
    void setUp() {
        table = new ConnTable(1024);
        PolicyTable.Builder pb = new PolicyTable.Builder();
        int id = pb.addPolicy("payment-processor-egress", EGRESS_IP);
        pb.addRule(POD1, Ipv4Cidr.parse("203.0.113.0/24"), id);
        pb.addExclusion(POD1, Ipv4Cidr.parse("203.0.113.128/25"), id);
        DatapathSettings s = new DatapathSettings(GW_UNDERLAY, 8472, VNI, GW_MAC, OVERLAY, true,
                List.of(Ipv4Cidr.parse("198.51.100.0/24")), 1450, 1410, 32768, 65535, 32);
        EgressSink egress = (address, length) -> {
            byte[] copy = new byte[length];
            new UnsafeBuffer(address, length).getBytes(0, copy);
            egressOut.add(copy);
            return length;
        };
        TunnelSink tunnel = new TunnelSink() {
            @Override
            public boolean add(long address, int length, int dstIp) {
                byte[] copy = new byte[length];
                new UnsafeBuffer(address, length).getBytes(0, copy);
                tunnelOut.add(copy);
                tunnelDst.add(dstIp);
                return true;
            }

            @Override
            public int flush() {
                return 0;
            }
        };
        dp = new Datapath(s, table, new Datapath.PolicyView(pb.build()),
                egress, tunnel, request, reply);
    }

    @AfterEach
    void tearDown() {
        table.close();
    }

    // -------------------------------------------------------------- helpers

    /** Builds a VXLAN payload from the node around an inner packet written by {@code inner}. */
    int fromNode(java.util.function.IntUnaryOperator inner) {
        int off = PacketEvent.REQUEST_OFFSET;
        int ipLen = inner.applyAsInt(off + Vxlan.HEADER_LENGTH + Ethernet.HEADER_LENGTH);
        return FrameBuilder.vxlan(slot, off, VNI, GW_MAC, NODE_MAC, ipLen);
    }

    void request(int len, int peer) {
        dp.onRequest(slot, slot.addressOffset(), PacketEvent.REQUEST_OFFSET, len, peer, 1_000);
        dp.flush(); // as the worker does at the end of every ring batch
    }

    void reply(int len) {
        dp.onReply(slot, slot.addressOffset(), PacketEvent.REPLY_OFFSET, len, 2_000);
        dp.flush(); // as the worker does at the end of every ring batch
    }

    static UnsafeBuffer wrap(byte[] b) {
        return new UnsafeBuffer(b);
    }

    static void assertValidIpv4(UnsafeBuffer b, int ip) {
        assertEquals(PacketError.NONE, Ipv4.check(b, ip, Ipv4.totalLength(b, ip)), "IPv4 header valid");
        int hl = Ipv4.headerLength(b, ip);
        int proto = Ipv4.protocol(b, ip);
        int l4len = Ipv4.totalLength(b, ip) - hl;
        if (proto == Ipv4.PROTO_ICMP) {
            assertEquals(0, Checksum.fold(Checksum.sum(b, ip + hl, l4len, 0)) ^ 0xffff, "ICMP checksum");
        } else {
            assertTrue(Checksum.verifyTransport(b, ip + hl, l4len, Ipv4.srcAddress(b, ip), Ipv4.dstAddress(b, ip), proto),
                    "L4 checksum");
        }
    }

    long drops(Counters c, int reason) {
        return c.drops(reason);
    }

    // -------------------------------------------------------------- request and reply

    @Test
    void tcpHandshakeIsTranslatedBothWays() {
        int len = fromNode(ip -> FrameBuilder.tcp(slot, ip, POD1, SERVER, 40000, 80, Tcp.SYN, 1460, 0));
        request(len, NODE);
        assertEquals(1, egressOut.size(), "SYN forwarded");
        UnsafeBuffer out = wrap(egressOut.get(0));
        assertEquals(EGRESS_IP, Ipv4.srcAddress(out, 0));
        assertEquals(SERVER, Ipv4.dstAddress(out, 0));
        assertEquals(40000, Tcp.srcPort(out, 20), "the pod's port is kept when free and in range");
        assertEquals(1410, Tcp.mss(out, 20), "MSS clamped to fit the tunnel");
        assertValidIpv4(out, 0);
        assertEquals(1, table.size());

        int rlen = FrameBuilder.tcp(slot, PacketEvent.REPLY_OFFSET, SERVER, EGRESS_IP, 80, 40000, Tcp.SYN | Tcp.ACK, 1460, 0);
        reply(rlen);
        assertEquals(1, tunnelOut.size(), "SYN-ACK tunnelled back");
        assertEquals(NODE, tunnelDst.get(0));
        UnsafeBuffer t = wrap(tunnelOut.get(0));
        assertEquals(rlen + VxlanEncapsulator.OVERHEAD, t.capacity());
        assertEquals(GW_UNDERLAY, Ipv4.srcAddress(t, 0));
        assertEquals(NODE, Ipv4.dstAddress(t, 0));
        assertEquals(Ipv4.PROTO_UDP, Ipv4.protocol(t, 0));
        assertTrue(Checksum.verifyIpv4Header(t, 0, 20));
        assertEquals(8472, Udp.dstPort(t, 20));
        int sport = Udp.srcPort(t, 20);
        assertTrue(sport >= 32768 && sport <= 60999, "outer source port from the flow hash: " + sport);
        assertEquals(VNI, Vxlan.vni(t, 28));
        assertEquals(NODE_MAC, Ethernet.dstMac(t, 36));
        assertEquals(GW_MAC, Ethernet.srcMac(t, 36));
        int inner = 50;
        assertEquals(SERVER, Ipv4.srcAddress(t, inner));
        assertEquals(POD1, Ipv4.dstAddress(t, inner));
        assertEquals(40000, Tcp.dstPort(t, inner + 20));
        assertEquals(1410, Tcp.mss(t, inner + 20), "SYN-ACK clamped too");
        assertValidIpv4(t, inner);
        assertEquals(2, request.get(Counters.MSS_CLAMPED) + reply.get(Counters.MSS_CLAMPED));
    }

    @Test
    void podPortOutsideTheRangeIsTranslatedAndRestored() {
        int len = fromNode(ip -> FrameBuilder.udp(slot, ip, POD1, SERVER, 1234, 53, 20, true));
        request(len, NODE);
        UnsafeBuffer out = wrap(egressOut.get(0));
        int nat = Udp.srcPort(out, 20);
        assertTrue(nat >= 32768 && nat <= 65535, "translated into the NAT range: " + nat);
        assertValidIpv4(out, 0);
        int rlen = FrameBuilder.udp(slot, PacketEvent.REPLY_OFFSET, SERVER, EGRESS_IP, 53, nat, 40, true);
        reply(rlen);
        UnsafeBuffer t = wrap(tunnelOut.get(0));
        assertEquals(1234, Udp.dstPort(t, 70));
        assertEquals(POD1, Ipv4.dstAddress(t, 50));
        assertValidIpv4(t, 50);
    }

    @Test
    void udpWithoutChecksumStaysWithoutChecksum() {
        int len = fromNode(ip -> FrameBuilder.udp(slot, ip, POD1, SERVER, 40001, 7, 10, false));
        request(len, NODE);
        assertEquals(0, Udp.checksum(wrap(egressOut.get(0)), 20));
    }

    @Test
    void icmpEchoIdentifierIsMappedLikeAPort() {
        int len = fromNode(ip -> FrameBuilder.icmpEcho(slot, ip, POD1, SERVER, Icmp.TYPE_ECHO_REQUEST, 7, 1, 56));
        request(len, NODE);
        UnsafeBuffer out = wrap(egressOut.get(0));
        int id = Icmp.identifier(out, 20);
        assertTrue(id >= 32768, "identifier in the NAT range: " + id);
        assertValidIpv4(out, 0);
        int rlen = FrameBuilder.icmpEcho(slot, PacketEvent.REPLY_OFFSET, SERVER, EGRESS_IP, Icmp.TYPE_ECHO_REPLY, id, 1, 56);
        reply(rlen);
        UnsafeBuffer t = wrap(tunnelOut.get(0));
        assertEquals(7, Icmp.identifier(t, 70));
        assertEquals(POD1, Ipv4.dstAddress(t, 50));
        assertValidIpv4(t, 50);
    }

    @Test
    void establishedFlowReusesItsEntryAndPort() {
        for (int i = 0; i < 3; i++) {
            int len = fromNode(ip -> FrameBuilder.tcp(slot, ip, POD1, SERVER, 1000, 443, Tcp.ACK, 0, 100));
            request(len, NODE);
        }
        assertEquals(1, table.size());
        int p0 = Tcp.srcPort(wrap(egressOut.get(0)), 20);
        assertEquals(p0, Tcp.srcPort(wrap(egressOut.get(2)), 20));
        assertEquals(3, request.get(Counters.TX_PACKETS));
    }

    // -------------------------------------------------------------- what is not forwarded

    @Test
    void notAnOpenRelay() {
        request(fromNode(ip -> FrameBuilder.tcp(slot, ip, POD1, SERVER, 40000, 80, Tcp.SYN, 0, 0)), STRANGER);
        assertEquals(1, drops(request, DropReason.PEER_NOT_ALLOWED));
        request(fromNode(ip -> FrameBuilder.tcp(slot, ip, POD2, SERVER, 40000, 80, Tcp.SYN, 0, 0)), NODE);
        request(fromNode(ip -> FrameBuilder.tcp(slot, ip, POD1, Ipv4Address.parse("198.18.0.5"), 40000, 80, Tcp.SYN, 0, 0)), NODE);
        assertEquals(2, drops(request, DropReason.NO_POLICY));
        request(fromNode(ip -> FrameBuilder.tcp(slot, ip, POD1, EXCLUDED_SERVER, 40000, 80, Tcp.SYN, 0, 0)), NODE);
        assertEquals(1, drops(request, DropReason.EXCLUDED_CIDR));
        assertEquals(0, egressOut.size());
        assertEquals(0, table.size(), "no state for refused packets");
    }

    @Test
    void tunnelLevelRejections() {
        int len = fromNode(ip -> FrameBuilder.tcp(slot, ip, POD1, SERVER, 40000, 80, Tcp.SYN, 0, 0));
        Vxlan.write(slot, PacketEvent.REQUEST_OFFSET, VNI + 1);
        request(len, NODE);
        assertEquals(1, drops(request, DropReason.WRONG_VNI));
        len = fromNode(ip -> FrameBuilder.tcp(slot, ip, POD1, SERVER, 40000, 80, Tcp.SYN, 0, 0));
        Ethernet.dstMac(slot, PacketEvent.REQUEST_OFFSET + 8, MacAddress.parse("02:00:00:00:00:99"));
        request(len, NODE);
        assertEquals(1, drops(request, DropReason.NOT_OUR_MAC));
        len = fromNode(ip -> FrameBuilder.tcp(slot, ip, POD1, SERVER, 40000, 80, Tcp.SYN, 0, 0));
        Ethernet.etherType(slot, PacketEvent.REQUEST_OFFSET + 8, Ethernet.TYPE_IPV6);
        request(len, NODE);
        assertEquals(1, drops(request, DropReason.UNSUPPORTED_ETHERTYPE));
        len = fromNode(ip -> FrameBuilder.tcp(slot, ip, POD1, SERVER, 40000, 80, Tcp.RST | Tcp.ACK, 0, 0));
        request(len, NODE);
        assertEquals(1, drops(request, DropReason.NO_CONNECTION), "a stray RST opens nothing");
        len = fromNode(ip -> FrameBuilder.tcp(slot, ip, POD1, SERVER, 40000, 80, Tcp.FIN | Tcp.ACK, 0, 0));
        request(len, NODE);
        assertEquals(2, drops(request, DropReason.NO_CONNECTION), "nor does a stray FIN");
        len = fromNode(ip -> FrameBuilder.udp(slot, ip, POD1, SERVER, 40000, 80, 100, true));
        int ip = PacketEvent.REQUEST_OFFSET + 22;
        Ipv4.flagsAndFragment(slot, ip, Ipv4.FLAG_MF | 100); // a later fragment whose first never came
        Ipv4.updateHeaderChecksum(slot, ip);
        request(len, NODE);
        assertEquals(1, drops(request, DropReason.FRAGMENT));
        len = fromNode(i -> FrameBuilder.udp(slot, i, POD1, SERVER, 40000, 80, 100, true));
        Ipv4.protocol(slot, ip, 47);
        Ipv4.updateHeaderChecksum(slot, ip);
        request(len, NODE);
        assertEquals(1, drops(request, DropReason.UNSUPPORTED_PROTOCOL));
        assertEquals(0, egressOut.size());
    }

    @Test
    void unsolicitedRepliesAreDropped() {
        reply(FrameBuilder.tcp(slot, PacketEvent.REPLY_OFFSET, SERVER, EGRESS_IP, 80, 40000, Tcp.SYN | Tcp.ACK, 0, 0));
        reply(FrameBuilder.icmpEcho(slot, PacketEvent.REPLY_OFFSET, SERVER, EGRESS_IP, Icmp.TYPE_ECHO_REQUEST, 1, 1, 8));
        assertEquals(1, drops(reply, DropReason.NO_CONNECTION));
        assertEquals(1, drops(reply, DropReason.UNSUPPORTED_ICMP));
        assertEquals(0, tunnelOut.size());
    }

    @Test
    void arpForTheOverlayAddressIsAnsweredOverTheTunnel() {
        int len = FrameBuilder.vxlanArpRequest(slot, PacketEvent.REQUEST_OFFSET, VNI, NODE_MAC, Ipv4Address.parse("10.99.0.1"), OVERLAY);
        request(len, NODE);
        assertEquals(1, tunnelOut.size());
        assertEquals(NODE, tunnelDst.get(0));
        UnsafeBuffer t = wrap(tunnelOut.get(0));
        assertEquals(VxlanEncapsulator.FRAME_OVERHEAD + 14 + Arp.LENGTH, t.capacity());
        int eth = 36;
        assertEquals(NODE_MAC, Ethernet.dstMac(t, eth));
        assertEquals(Ethernet.TYPE_ARP, Ethernet.etherType(t, eth));
        assertEquals(Arp.OP_REPLY, Arp.op(t, eth + 14));
        assertEquals(GW_MAC, Arp.senderMac(t, eth + 14));
        assertEquals(OVERLAY, Arp.senderIp(t, eth + 14));
        assertEquals(1, request.get(Counters.ARP_REPLIES));
        len = FrameBuilder.vxlanArpRequest(slot, PacketEvent.REQUEST_OFFSET, VNI, NODE_MAC, Ipv4Address.parse("10.99.0.1"),
                Ipv4Address.parse("10.99.0.77"));
        request(len, NODE);
        assertEquals(1, drops(request, DropReason.ARP_NOT_FOR_US));
    }

    @Test
    void replyTooBigForTheTunnelGetsFragmentationNeeded() {
        request(fromNode(ip -> FrameBuilder.tcp(slot, ip, POD1, SERVER, 40000, 80, Tcp.SYN, 0, 0)), NODE);
        egressOut.clear();
        int rlen = FrameBuilder.tcp(slot, PacketEvent.REPLY_OFFSET, SERVER, EGRESS_IP, 80, 40000, Tcp.ACK, 0, 1460);
        reply(rlen);
        assertEquals(1500, rlen);
        assertEquals(0, tunnelOut.size());
        assertEquals(1, drops(reply, DropReason.TOO_BIG));
        assertEquals(1, egressOut.size(), "ICMP sent back out of the egress side");
        UnsafeBuffer icmp = wrap(egressOut.get(0));
        assertEquals(EGRESS_IP, Ipv4.srcAddress(icmp, 0));
        assertEquals(SERVER, Ipv4.dstAddress(icmp, 0));
        assertEquals(Icmp.TYPE_DEST_UNREACHABLE, Icmp.type(icmp, 20));
        assertEquals(Icmp.CODE_FRAG_NEEDED, Icmp.code(icmp, 20));
        assertEquals(1450, Icmp.nextHopMtu(icmp, 20));
        assertEquals(EGRESS_IP, Ipv4.dstAddress(icmp, 28), "quotes the packet as the sender sent it");
        assertValidIpv4(icmp, 0);
    }

    @Test
    void fullTableEvictsUnrepliedFlowsButNeverEstablishedOnes() {
        int cap = table.capacity();
        // fill the table with established flows: each gets a reply
        for (int i = 0; i < cap; i++) {
            int port = 1024 + i;
            request(fromNode(ip -> FrameBuilder.tcp(slot, ip, POD1, SERVER, port, 443, Tcp.SYN, 0, 0)), NODE);
            int nat = Tcp.srcPort(wrap(egressOut.get(egressOut.size() - 1)), 20);
            reply(FrameBuilder.tcp(slot, PacketEvent.REPLY_OFFSET, SERVER, EGRESS_IP, 443, nat, Tcp.SYN | Tcp.ACK, 0, 0));
        }
        assertEquals(cap, table.size());
        request(fromNode(ip -> FrameBuilder.tcp(slot, ip, POD1, SERVER, 60000, 443, Tcp.SYN, 0, 0)), NODE);
        assertEquals(1, drops(request, DropReason.CONNTRACK_FULL), "nothing unreplied to evict: refused");
        assertEquals(0, request.get(Counters.CONN_EVICTED));
    }

    @Test
    void synFloodIsEvictedToMakeRoomForNewFlows() {
        int cap = table.capacity();
        for (int i = 0; i < cap; i++) {
            int port = 1024 + i;
            request(fromNode(ip -> FrameBuilder.tcp(slot, ip, POD1, SERVER, port, 80, Tcp.SYN, 0, 0)), NODE);
        }
        assertEquals(cap, table.size());
        request(fromNode(ip -> FrameBuilder.udp(slot, ip, POD1, SERVER, 5353, 53, 10, true)), NODE);
        assertEquals(0, drops(request, DropReason.CONNTRACK_FULL));
        assertEquals(1, request.get(Counters.CONN_EVICTED));
        assertEquals(cap, table.size());
    }

    @Test
    void replyThatDoesNotFitTheStateIsNotTrusted() {
        request(fromNode(ip -> FrameBuilder.tcp(slot, ip, POD1, SERVER, 40000, 80, Tcp.SYN, 0, 0)), NODE);
        // data from the server before it answered the SYN
        reply(FrameBuilder.tcp(slot, PacketEvent.REPLY_OFFSET, SERVER, EGRESS_IP, 80, 40000, Tcp.ACK, 0, 10));
        assertEquals(1, drops(reply, DropReason.TCP_INVALID));
        assertEquals(0, tunnelOut.size());
        reply(FrameBuilder.tcp(slot, PacketEvent.REPLY_OFFSET, SERVER, EGRESS_IP, 80, 40000, Tcp.SYN | Tcp.ACK, 0, 0));
        assertEquals(1, tunnelOut.size());
    }

    @Test
    void theGatewayIsAnIpHop() {
        request(fromNode(ip -> FrameBuilder.udp(slot, ip, POD1, SERVER, 40000, 53, 10, true)), NODE);
        assertEquals(62, Ipv4.ttl(wrap(egressOut.get(0)), 0), "TTL decremented on the way out");
        assertValidIpv4(wrap(egressOut.get(0)), 0);
        reply(FrameBuilder.udp(slot, PacketEvent.REPLY_OFFSET, SERVER, EGRESS_IP, 53, 40000, 10, true));
        assertEquals(62, Ipv4.ttl(wrap(tunnelOut.get(0)), 50), "and on the way back");
    }

    @Test
    void expiringTtlFromAPodIsAnsweredWithTimeExceededThroughTheTunnel() {
        int len = fromNode(ip -> FrameBuilder.udp(slot, ip, POD1, SERVER, 33434, 33435, 12, true));
        Ipv4.ttl(slot, PacketEvent.REQUEST_OFFSET + 22, 1);
        Ipv4.updateHeaderChecksum(slot, PacketEvent.REQUEST_OFFSET + 22);
        request(len, NODE);
        assertEquals(0, egressOut.size(), "not forwarded");
        assertEquals(1, drops(request, DropReason.TTL_EXCEEDED));
        assertEquals(1, tunnelOut.size());
        assertEquals(NODE, tunnelDst.get(0));
        UnsafeBuffer t = wrap(tunnelOut.get(0));
        assertEquals(NODE_MAC, Ethernet.dstMac(t, 36));
        int ip = 50;
        assertEquals(OVERLAY, Ipv4.srcAddress(t, ip));
        assertEquals(POD1, Ipv4.dstAddress(t, ip));
        assertEquals(Icmp.TYPE_TIME_EXCEEDED, Icmp.type(t, ip + 20));
        assertEquals(POD1, Ipv4.srcAddress(t, ip + 28), "quotes the pod's own packet");
        assertEquals(33434, Udp.srcPort(t, ip + 48));
        assertValidIpv4(t, ip);
    }

    @Test
    void expiringTtlFromOutsideIsAnsweredFromTheEgressIp() {
        request(fromNode(ip -> FrameBuilder.udp(slot, ip, POD1, SERVER, 40000, 53, 10, true)), NODE);
        egressOut.clear();
        int rlen = FrameBuilder.udp(slot, PacketEvent.REPLY_OFFSET, SERVER, EGRESS_IP, 53, 40000, 10, true);
        Ipv4.ttl(slot, PacketEvent.REPLY_OFFSET, 1);
        Ipv4.updateHeaderChecksum(slot, PacketEvent.REPLY_OFFSET);
        reply(rlen);
        assertEquals(0, tunnelOut.size());
        UnsafeBuffer icmp = wrap(egressOut.get(0));
        assertEquals(EGRESS_IP, Ipv4.srcAddress(icmp, 0));
        assertEquals(SERVER, Ipv4.dstAddress(icmp, 0));
        assertEquals(Icmp.TYPE_TIME_EXCEEDED, Icmp.type(icmp, 20));
        assertValidIpv4(icmp, 0);
    }

    // -------------------------------------------------------------- ICMP errors, fragments, port reuse

    /** Writes an ICMP error from {@code from} to {@code to} quoting {@code quoted} at {@code off}; returns its length. */
    static int icmpError(UnsafeBuffer b, int off, int from, int to, int type, int code, byte[] quoted, int quoteLen) {
        int total = 28 + quoteLen;
        Ipv4.versionAndHeaderLength(b, off, 20);
        Ipv4.tos(b, off, 0);
        Ipv4.totalLength(b, off, total);
        Ipv4.identification(b, off, 7);
        Ipv4.flagsAndFragment(b, off, 0);
        Ipv4.ttl(b, off, 64);
        Ipv4.protocol(b, off, Ipv4.PROTO_ICMP);
        Ipv4.srcAddress(b, off, from);
        Ipv4.dstAddress(b, off, to);
        Ipv4.updateHeaderChecksum(b, off);
        Icmp.type(b, off + 20, type);
        Icmp.code(b, off + 20, code);
        b.putInt(off + 24, 0);
        b.putBytes(off + 28, quoted, 0, quoteLen);
        Icmp.checksum(b, off + 20, 0);
        Icmp.checksum(b, off + 20, Checksum.finish(Checksum.sum(b, off + 20, 8 + quoteLen, 0)));
        return total;
    }

    @Test
    void icmpErrorFromOutsideIsTranslatedBackToThePod() {
        request(fromNode(ip -> FrameBuilder.udp(slot, ip, POD1, SERVER, 1234, 53, 20, true)), NODE);
        byte[] sent = egressOut.get(0);
        int nat = Udp.srcPort(wrap(sent), 20);
        int len = icmpError(slot, PacketEvent.REPLY_OFFSET, SERVER, EGRESS_IP, Icmp.TYPE_DEST_UNREACHABLE, 3, sent, 28);
        reply(len);
        assertEquals(1, tunnelOut.size(), "translated error tunnelled to the pod's node");
        UnsafeBuffer t = wrap(tunnelOut.get(0));
        int ip = 50;
        assertEquals(POD1, Ipv4.dstAddress(t, ip));
        assertEquals(SERVER, Ipv4.srcAddress(t, ip));
        assertEquals(POD1, Ipv4.srcAddress(t, ip + 28), "quoted source is the pod again");
        assertEquals(1234, Udp.srcPort(t, ip + 48), "quoted port is the pod's (was " + nat + ")");
        assertTrue(Checksum.verifyIpv4Header(t, ip, 20));
        assertTrue(Checksum.verifyIpv4Header(t, ip + 28, 20), "quoted header checksum fixed");
        assertValidIpv4(t, ip);
        assertEquals(1, reply.get(Counters.ICMP_ERRORS_TRANSLATED));
        // an error quoting a flow the gateway never had is dropped
        byte[] other = sent.clone();
        wrap(other).putShort(20, (short) 999);
        reply(icmpError(slot, PacketEvent.REPLY_OFFSET, SERVER, EGRESS_IP, Icmp.TYPE_TIME_EXCEEDED, 0, other, 28));
        assertEquals(1, drops(reply, DropReason.NO_CONNECTION));
    }

    /** Splits the IPv4 packet in {@code packet} into fragments of at most {@code chunk} payload bytes. */
    static List<byte[]> fragments(byte[] packet, int chunk) {
        UnsafeBuffer p = wrap(packet);
        int total = Ipv4.totalLength(p, 0);
        List<byte[]> out = new ArrayList<>();
        for (int off = 20; off < total; off += chunk) {
            int n = Math.min(chunk, total - off);
            byte[] f = new byte[20 + n];
            System.arraycopy(packet, 0, f, 0, 20);
            System.arraycopy(packet, off, f, 20, n);
            UnsafeBuffer fb = wrap(f);
            Ipv4.totalLength(fb, 0, 20 + n);
            Ipv4.flagsAndFragment(fb, 0, (off + n < total ? Ipv4.FLAG_MF : 0) | ((off - 20) / 8));
            Ipv4.updateHeaderChecksum(fb, 0);
            out.add(f);
        }
        return out;
    }

    @Test
    void fragmentsFollowTheirFirstFragmentBothWays() {
        UnsafeBuffer tmp = new UnsafeBuffer(new byte[4000]);
        int len = FrameBuilder.udp(tmp, 0, POD1, SERVER, 40000, 53, 2000, true);
        Ipv4.flagsAndFragment(tmp, 0, 0);
        Ipv4.updateHeaderChecksum(tmp, 0);
        byte[] whole = new byte[len];
        tmp.getBytes(0, whole);
        List<byte[]> frags = fragments(whole, 1000);
        assertEquals(3, frags.size());
        // a later fragment before its first: nothing to follow yet
        request(fromNode(ip -> { slot.putBytes(ip, frags.get(1)); return frags.get(1).length; }), NODE);
        assertEquals(1, drops(request, DropReason.FRAGMENT));
        for (byte[] f : frags) {
            request(fromNode(ip -> { slot.putBytes(ip, f); return f.length; }), NODE);
        }
        assertEquals(3, egressOut.size());
        byte[] reassembled = new byte[len];
        System.arraycopy(egressOut.get(0), 0, reassembled, 0, 20);
        int at = 20;
        for (byte[] f : egressOut) {
            UnsafeBuffer fb = wrap(f);
            assertEquals(EGRESS_IP, Ipv4.srcAddress(fb, 0));
            assertTrue(Checksum.verifyIpv4Header(fb, 0, 20));
            System.arraycopy(f, 20, reassembled, at, f.length - 20);
            at += f.length - 20;
        }
        UnsafeBuffer r = wrap(reassembled);
        assertTrue(Checksum.verifyTransport(r, 20, len - 20, EGRESS_IP, SERVER, Ipv4.PROTO_UDP),
                "the first fragment's checksum fix covers the whole datagram");
        int nat = Udp.srcPort(r, 20);

        // and a fragmented reply
        len = FrameBuilder.udp(tmp, 0, SERVER, EGRESS_IP, 53, nat, 2000, true);
        Ipv4.flagsAndFragment(tmp, 0, 0);
        Ipv4.updateHeaderChecksum(tmp, 0);
        whole = new byte[len];
        tmp.getBytes(0, whole);
        for (byte[] f : fragments(whole, 1000)) {
            slot.putBytes(PacketEvent.REPLY_OFFSET, f);
            reply(f.length);
        }
        assertEquals(3, tunnelOut.size());
        for (int i = 0; i < 3; i++) {
            UnsafeBuffer t = wrap(tunnelOut.get(i));
            assertEquals(NODE, Ipv4.dstAddress(t, 0));
            assertEquals(POD1, Ipv4.dstAddress(t, 50));
            assertTrue(Checksum.verifyIpv4Header(t, 50, 20));
        }
        assertEquals(40000, Udp.dstPort(wrap(tunnelOut.get(0)), 70));
    }

    @Test
    void expiredConnectionsGiveTheirPortsBack() {
        table.close();
        table = new ConnTable(1024);
        DatapathSettings s = new DatapathSettings(GW_UNDERLAY, 8472, VNI, GW_MAC, OVERLAY, true,
                List.of(Ipv4Cidr.parse("198.51.100.0/24")), 1450, 1410, 40000, 40001, 32);
        PolicyTable.Builder pb = new PolicyTable.Builder();
        pb.addRule(POD1, Ipv4Cidr.parse("203.0.113.0/24"), pb.addPolicy("p", EGRESS_IP));
        dp = new Datapath(s, table, new Datapath.PolicyView(pb.build()), (a, l) -> l, tunnelSinkNoop(), request, reply);
        for (int port = 1000; port < 1003; port++) {
            int p = port;
            dp.onRequest(slot, slot.addressOffset(), PacketEvent.REQUEST_OFFSET,
                    fromNode(ip -> FrameBuilder.udp(slot, ip, POD1, SERVER, p, 53, 8, true)), NODE, 1_000);
        }
        assertEquals(2, table.size(), "two ports in the range");
        assertEquals(1, drops(request, DropReason.NAT_PORT_EXHAUSTED));
        dp.publishStats();
        assertEquals(2, dp.natStats().inUse()[0]);
        assertEquals(100.0, dp.natStats().busiest().get(0).saturationPercent());
        dp.expire(1_000 + 60_001, 4096, org.egressgw.conntrack.Timeouts.defaults());
        assertEquals(0, table.size());
        dp.publishStats();
        assertEquals(0, dp.natStats().inUse()[0]);
        dp.onRequest(slot, slot.addressOffset(), PacketEvent.REQUEST_OFFSET,
                fromNode(ip -> FrameBuilder.udp(slot, ip, POD1, SERVER, 1003, 53, 8, true)), NODE, 70_000);
        assertEquals(1, table.size(), "a port is free again");
    }

    static TunnelSink tunnelSinkNoop() {
        return new TunnelSink() {
            @Override
            public boolean add(long address, int length, int dstIp) {
                return true;
            }

            @Override
            public int flush() {
                return 0;
            }
        };
    }

    // -------------------------------------------------------------- hostile input

    /**
     * Random mutations of valid packets in both directions: nothing throws, and every packet is
     * accounted for exactly once — forwarded, or dropped under one reason.
     */
    @Test
    void everyPacketIsForwardedOrCountedOnce() {
        Random rnd = new Random(42);
        for (int i = 0; i < 200_000; i++) {
            boolean req = rnd.nextBoolean();
            int len;
            int kind = rnd.nextInt(4);
            if (req) {
                len = fromNode(ip -> switch (kind) {
                    case 0 -> FrameBuilder.tcp(slot, ip, POD1, SERVER, 40000 + rnd.nextInt(50), 80, Tcp.SYN, 1460, rnd.nextInt(40));
                    case 1 -> FrameBuilder.udp(slot, ip, POD1, SERVER, 40000 + rnd.nextInt(50), 53, rnd.nextInt(100), rnd.nextBoolean());
                    case 2 -> FrameBuilder.icmpEcho(slot, ip, POD1, SERVER, Icmp.TYPE_ECHO_REQUEST, rnd.nextInt(50), 1, 8);
                    default -> FrameBuilder.tcp(slot, ip, POD1, SERVER, 40000 + rnd.nextInt(50), 80, Tcp.ACK, 0, rnd.nextInt(40));
                });
            } else {
                int off = PacketEvent.REPLY_OFFSET;
                len = switch (kind) {
                    case 0 -> FrameBuilder.tcp(slot, off, SERVER, EGRESS_IP, 80, 40000 + rnd.nextInt(50), Tcp.SYN | Tcp.ACK, 1460, 0);
                    case 1 -> FrameBuilder.udp(slot, off, SERVER, EGRESS_IP, 53, 40000 + rnd.nextInt(50), rnd.nextInt(100), true);
                    case 2 -> FrameBuilder.icmpEcho(slot, off, SERVER, EGRESS_IP, Icmp.TYPE_ECHO_REPLY, rnd.nextInt(50), 1, 8);
                    default -> FrameBuilder.tcp(slot, off, SERVER, EGRESS_IP, 80, 40000 + rnd.nextInt(50), Tcp.ACK, 0, 10);
                };
            }
            int base = req ? PacketEvent.REQUEST_OFFSET : PacketEvent.REPLY_OFFSET;
            int mutations = rnd.nextInt(4);
            for (int m = 0; m < mutations; m++) {
                slot.putByte(base + rnd.nextInt(len), (byte) rnd.nextInt(256));
            }
            if (rnd.nextInt(8) == 0) {
                len = rnd.nextInt(len + 1);
            }
            if (req) {
                request(len, rnd.nextInt(10) == 0 ? STRANGER : NODE);
            } else {
                reply(len);
            }
        }
        assertAccounted(request);
        assertAccounted(reply);
        assertTrue(request.get(Counters.TX_PACKETS) > 10_000, "plenty of valid traffic got through");
    }

    private static void assertAccounted(Counters c) {
        long dropped = 0;
        for (int r = 0; r < DropReason.COUNT; r++) {
            dropped += c.drops(r);
        }
        assertEquals(c.get(Counters.RX_PACKETS), c.get(Counters.TX_PACKETS) + dropped,
                "every received packet is forwarded or dropped, exactly once");
    }
}
