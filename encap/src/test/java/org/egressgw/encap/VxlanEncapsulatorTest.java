package org.egressgw.encap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.packet.Arp;
import org.egressgw.packet.Checksum;
import org.egressgw.packet.Ethernet;
import org.egressgw.packet.FlowHash;
import org.egressgw.packet.FrameBuilder;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.MacAddress;
import org.egressgw.packet.PacketError;
import org.egressgw.packet.Tcp;
import org.egressgw.packet.Udp;
import org.egressgw.packet.Vxlan;
import org.junit.jupiter.api.Test;

/**
 * {@link VxlanEncapsulator}: every outer field, in buffers that end exactly where the packet ends
 * and start exactly where the headroom starts, so a write outside the 50 reserved bytes or past the
 * packet throws.
 */
class VxlanEncapsulatorTest {
    private static final int GW_UNDERLAY = Ipv4Address.parse("192.0.2.10");
    private static final int NODE_VTEP = Ipv4Address.parse("192.0.2.21");
    private static final long GW_MAC = MacAddress.parse("02:00:c0:00:02:0a");
    private static final long NODE_MAC = MacAddress.parse("02:00:c0:00:02:15");
    private static final int SERVER = Ipv4Address.parse("198.51.100.7");
    private static final int POD = Ipv4Address.parse("10.244.1.10");
    private static final int VNI = 2;

    private final VxlanEncapsulator encap = new VxlanEncapsulator(GW_UNDERLAY, Vxlan.DEFAULT_PORT, VNI, GW_MAC);

    /** Inner TCP packet (server → pod, as on the reply path) after {@code headroom} bytes, buffer exactly that long. */
    static UnsafeBuffer withHeadroom(int headroom, int payload) {
        int ipLen = Ipv4.MIN_HEADER_LENGTH + Tcp.MIN_HEADER_LENGTH + payload;
        UnsafeBuffer b = new UnsafeBuffer(ByteBuffer.allocateDirect(headroom + ipLen));
        assertEquals(ipLen, FrameBuilder.tcp(b, headroom, SERVER, POD, 443, 40000, Tcp.ACK, 0, payload));
        return b;
    }

    static byte[] copy(DirectBuffer b, int off, int len) {
        byte[] out = new byte[len];
        b.getBytes(off, out);
        return out;
    }

    static int flowHash() {
        return FlowHash.hash(SERVER, POD, 443, 40000, Ipv4.PROTO_TCP);
    }

    @Test
    void encapsulatesAnInnerPacketIntoAValidOuterPacket() {
        UnsafeBuffer b = withHeadroom(VxlanEncapsulator.OVERHEAD, 100);
        int ipLen = b.capacity() - 50;
        byte[] inner = copy(b, 50, ipLen);
        int hash = flowHash();

        int outer = encap.encapsulate(b, 50, ipLen, NODE_VTEP, NODE_MAC, hash);
        assertEquals(0, outer);
        int total = ipLen + VxlanEncapsulator.OVERHEAD;
        assertEquals(b.capacity(), total);

        // Outer IPv4
        assertEquals(PacketError.NONE, Ipv4.check(b, 0, total));
        assertEquals(4, Ipv4.version(b, 0));
        assertEquals(20, Ipv4.headerLength(b, 0));
        assertEquals(0, Ipv4.tos(b, 0));
        assertEquals(total, Ipv4.totalLength(b, 0));
        assertFalse(Ipv4.dontFragment(b, 0), "Linux's VXLAN device does not set DF by default");
        assertFalse(Ipv4.isFragment(b, 0));
        assertEquals(64, Ipv4.ttl(b, 0));
        assertEquals(Ipv4.PROTO_UDP, Ipv4.protocol(b, 0));
        assertEquals(GW_UNDERLAY, Ipv4.srcAddress(b, 0));
        assertEquals(NODE_VTEP, Ipv4.dstAddress(b, 0));
        assertTrue(Checksum.verifyIpv4Header(b, 0, 20));

        // Outer UDP
        assertEquals(PacketError.NONE, Udp.check(b, 20, total - 20));
        assertEquals(Vxlan.DEFAULT_PORT, Udp.dstPort(b, 20));
        int sport = Udp.srcPort(b, 20);
        assertTrue(sport >= 32768 && sport <= 60999, "source port " + sport);
        assertEquals(FlowHash.sourcePort(hash, 32768, 60999), sport);
        assertEquals(total - 20, Udp.length(b, 20));
        assertEquals(0, Udp.checksum(b, 20), "outer UDP checksum is 0, as RFC 7348 allows for IPv4");

        // VXLAN: I flag, reserved bits zero, VNI
        assertEquals(PacketError.NONE, Vxlan.check(b, 28, total - 28));
        assertEquals(Vxlan.FLAG_I, b.getByte(28) & 0xff);
        assertEquals(0, b.getByte(29) | b.getByte(30) | b.getByte(31) | b.getByte(35));
        assertEquals(VNI, Vxlan.vni(b, 28));

        // Inner Ethernet and the untouched inner packet
        assertEquals(NODE_MAC, Ethernet.dstMac(b, 36));
        assertEquals(GW_MAC, Ethernet.srcMac(b, 36));
        assertEquals(Ethernet.TYPE_IPV4, Ethernet.etherType(b, 36));
        assertArrayEquals(inner, copy(b, 50, ipLen));

        // What the node's kernel sees: a frame for its VXLAN device.
        assertEquals(VxlanDecapsulator.FOR_US, new VxlanDecapsulator(VNI, NODE_MAC).classify(b, 28, total - 28));
    }

    @Test
    void worksAtOddOffsetsAndReturnsTheOuterOffset() {
        for (int outerOff : new int[] {1, 3, 64}) {
            UnsafeBuffer b = withHeadroom(outerOff + VxlanEncapsulator.OVERHEAD, 0);
            int ipOff = outerOff + 50;
            int ipLen = b.capacity() - ipOff;
            assertEquals(outerOff, encap.encapsulate(b, ipOff, ipLen, NODE_VTEP, NODE_MAC, 12345));
            assertEquals(PacketError.NONE, Ipv4.check(b, outerOff, ipLen + 50));
            assertEquals(ipLen + 30, Udp.length(b, outerOff + 20));
            assertEquals(VNI, Vxlan.vni(b, outerOff + 28));
        }
    }

    @Test
    void sourcePortIsInLinuxRangeAndAFunctionOfTheFlowHashOnly() {
        Random rnd = new Random(0xE4C4_0001L);
        Set<Integer> seen = new HashSet<>();
        int[] extremes = {0, 1, -1, Integer.MIN_VALUE, Integer.MAX_VALUE};
        for (int i = 0; i < 10_000; i++) {
            int hash = i < extremes.length ? extremes[i] : rnd.nextInt();
            UnsafeBuffer a = withHeadroom(50, rnd.nextInt(20));
            UnsafeBuffer c = withHeadroom(50, 0);
            encap.encapsulate(a, 50, a.capacity() - 50, NODE_VTEP, NODE_MAC, hash);
            new VxlanEncapsulator(Ipv4Address.parse("192.0.2.99"), 4789, 77, NODE_MAC)
                    .encapsulate(c, 50, c.capacity() - 50, Ipv4Address.parse("192.0.2.98"), GW_MAC, hash);
            int port = Udp.srcPort(a, 20);
            assertTrue(port >= VxlanEncapsulator.SRC_PORT_MIN && port <= VxlanEncapsulator.SRC_PORT_MAX, "port " + port);
            assertEquals(port, Udp.srcPort(c, 20), "same flow hash, same source port");
            seen.add(port);
        }
        assertTrue(seen.size() > 7_500, "source ports spread: " + seen.size() + " distinct of 10000");
    }

    @Test
    void encapsulatesAnArpFrame() {
        int frameLen = ArpResponder.replyLength();
        int ethOff = VxlanEncapsulator.FRAME_OVERHEAD;
        UnsafeBuffer b = new UnsafeBuffer(new byte[ethOff + frameLen]);
        Ethernet.dstMac(b, ethOff, NODE_MAC);
        Ethernet.srcMac(b, ethOff, GW_MAC);
        Ethernet.etherType(b, ethOff, Ethernet.TYPE_ARP);
        Arp.writeReply(b, ethOff + 14, GW_MAC, Ipv4Address.parse("10.244.0.254"), NODE_MAC,
                Ipv4Address.parse("10.244.1.0"));
        byte[] frame = copy(b, ethOff, frameLen);

        assertEquals(0, encap.encapsulateFrame(b, ethOff, frameLen, NODE_VTEP, 99));
        int total = ethOff + frameLen;
        assertEquals(PacketError.NONE, Ipv4.check(b, 0, total));
        assertEquals(total, Ipv4.totalLength(b, 0));
        assertEquals(64, Ipv4.ttl(b, 0));
        assertEquals(Ipv4.PROTO_UDP, Ipv4.protocol(b, 0));
        assertEquals(GW_UNDERLAY, Ipv4.srcAddress(b, 0));
        assertEquals(NODE_VTEP, Ipv4.dstAddress(b, 0));
        assertEquals(Vxlan.DEFAULT_PORT, Udp.dstPort(b, 20));
        assertEquals(FlowHash.sourcePort(99, 32768, 60999), Udp.srcPort(b, 20));
        assertEquals(frameLen + 16, Udp.length(b, 20));
        assertEquals(0, Udp.checksum(b, 20));
        assertEquals(PacketError.NONE, Vxlan.check(b, 28, total - 28));
        assertEquals(VNI, Vxlan.vni(b, 28));
        assertArrayEquals(frame, copy(b, ethOff, frameLen), "the inner frame is not touched");
        assertEquals(VxlanDecapsulator.ARP, new VxlanDecapsulator(VNI, NODE_MAC).classify(b, 28, total - 28));
    }

    @Test
    void writesTheFull24BitVni() {
        VxlanEncapsulator max = new VxlanEncapsulator(GW_UNDERLAY, 8472, Vxlan.MAX_VNI, GW_MAC);
        UnsafeBuffer b = withHeadroom(50, 0);
        max.encapsulate(b, 50, b.capacity() - 50, NODE_VTEP, NODE_MAC, 0);
        assertEquals(Vxlan.MAX_VNI, Vxlan.vni(b, 28));
        assertEquals(0, b.getByte(35), "the byte after the VNI is reserved");
        assertEquals(Vxlan.MAX_VNI, max.vni());
        assertEquals(GW_MAC, max.localMac());

        VxlanEncapsulator zero = new VxlanEncapsulator(GW_UNDERLAY, 65535, 0, GW_MAC);
        UnsafeBuffer z = withHeadroom(50, 0);
        zero.encapsulate(z, 50, z.capacity() - 50, NODE_VTEP, NODE_MAC, 0);
        assertEquals(0, Vxlan.vni(z, 28));
        assertEquals(65535, Udp.dstPort(z, 20));
    }

    @Test
    void constructorRejectsBadVniAndPortNamingThem() {
        for (int vni : new int[] {-1, 0x100_0000, Integer.MAX_VALUE}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new VxlanEncapsulator(GW_UNDERLAY, 8472, vni, GW_MAC));
            assertTrue(e.getMessage().contains(Integer.toString(vni)), e.getMessage());
        }
        for (int port : new int[] {0, -1, 65536}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new VxlanEncapsulator(GW_UNDERLAY, port, VNI, GW_MAC));
            assertTrue(e.getMessage().contains(Integer.toString(port)), e.getMessage());
        }
        new VxlanEncapsulator(GW_UNDERLAY, 1, 0, GW_MAC);
    }

    @Test
    void overheadIsFiftyAndThirtySixBytes() {
        assertEquals(50, VxlanEncapsulator.OVERHEAD);
        assertEquals(36, VxlanEncapsulator.FRAME_OVERHEAD);
        assertEquals(VxlanEncapsulator.SRC_PORT_MIN, FlowHash.DEFAULT_MIN_PORT);
        assertEquals(VxlanEncapsulator.SRC_PORT_MAX, FlowHash.DEFAULT_MAX_PORT);
    }
}
