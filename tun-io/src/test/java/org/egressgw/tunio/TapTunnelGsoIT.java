package org.egressgw.tunio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.tunio.Ipv4Tcp.Segment;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A VXLAN-encapsulated TCP super-packet written to a TAP device opened with the tunnel vnet header
 * ({@link VirtioNetHeader#tunnelled}, {@link TunDevice#OFFLOAD_UDP_TUNNEL_GSO}) is forwarded by the kernel to
 * a node whose kernel VXLAN device receives it — whole where the path keeps super-packets, or cut by the
 * kernel into exactly the segments the reference cuts (with valid checksums) where it does not.
 *
 * <pre>
 *  ns G (gateway side)                                   ns N (node)
 *  tnltap0 ─► forward ─► vG 10.64.0.1 ──veth── vN 10.64.0.2 ─► vx0 (VNI 42, 10.65.0.2)
 * </pre>
 */
class TapTunnelGsoIT {
    private static final String TAP = "tnltap0";
    private static final long NODE_MAC = 0x02_00_00_00_65_02L;
    private static final int OUTER_IP = 14;
    private static final int OUTER_UDP = OUTER_IP + 20;
    private static final int INNER_ETH = OUTER_UDP + 8 + 8;
    private static final int INNER_IP = INNER_ETH + 14;

    private TestNamespace g;
    private TestNamespace n;

    @BeforeEach
    void createTopology() throws Exception {
        g = new TestNamespace();
        try {
            n = new TestNamespace();
            g.disableIpv6();
            n.disableIpv6();
            g.ip("link", "add", "vG", "type", "veth", "peer", "name", "vN", "netns", n.name);
            g.ip("addr", "add", "10.64.0.1/24", "dev", "vG");
            n.ip("addr", "add", "10.64.0.2/24", "dev", "vN");
            g.ip("link", "set", "vG", "up");
            n.ip("link", "set", "vN", "up");
            n.ip("link", "add", "vx0", "address", "02:00:00:00:65:02", "type", "vxlan", "id", "42", "local",
                "10.64.0.2", "remote", "10.64.0.1", "dstport", "8472", "dev", "vN");
            n.ip("addr", "add", "10.65.0.2/24", "dev", "vx0");
            n.ip("link", "set", "vx0", "up");
            g.exec("sysctl", "-q", "-w", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.default.rp_filter=0");
        } catch (Exception e) {
            deleteTopology();
            throw e;
        }
    }

    @AfterEach
    void deleteTopology() throws Exception {
        TestNamespace.deleteAll(n, g);
    }

    @ParameterizedTest(name = "software segmentation on vG: {0}")
    @ValueSource(booleans = {false, true})
    void tunnelledSuperPacketReachesTheNode(boolean softwareSegmentation) throws Exception {
        if (softwareSegmentation) {
            g.exec("ethtool", "-K", "vG", "tso", "off", "gso", "off", "tx", "off", "tx-udp_tnl-segmentation", "off");
        }
        // ten segments of one flow, 9 x 1000 bytes and 333; the super-packet carries them all
        final List<Segment> segments = new ArrayList<>();
        Segment s = new Segment();
        s.src = Ipv4Udp.ip(10, 65, 0, 9);
        s.dst = Ipv4Udp.ip(10, 65, 0, 2);
        s.dstPort = 9;
        s.payload(1000, 1);
        segments.add(s);
        for (int i = 1; i < 10; i++) {
            s = s.next(i == 9 ? 333 : 1000);
            segments.add(s);
        }
        final Segment whole = segments.get(0).copy();
        final ByteBuffer joined = ByteBuffer.allocate(9 * 1000 + 333);
        segments.forEach(x -> joined.put(x.payload));
        whole.payload = joined.array();
        whole.flags |= Ipv4Tcp.PSH;
        final byte[] inner = whole.bytes();
        partialChecksum(inner);

        final int frameLength = INNER_IP + inner.length;
        final UnsafeBuffer frame = new UnsafeBuffer(BufferUtil.allocateDirectAligned(frameLength, 64));
        final UnsafeBuffer header = new UnsafeBuffer(BufferUtil.allocateDirectAligned(VirtioNetHeader.TUNNEL_LENGTH, 8));
        final Path pcap = Files.createTempFile("tnl", ".pcap");
        final int expectedPackets = softwareSegmentation ? 10 : 1;
        final Process tcpdump = new ProcessBuilder("ip", "netns", "exec", n.name, "tcpdump", "-i", "vN", "-n", "-U",
            "-s", "0", "-c", Integer.toString(expectedPackets), "-w", pcap.toString(), "udp dst port 8472")
            .redirectErrorStream(true).start();
        try (TunDevice tap = NetNs.call(g.name, () -> TunDevice.open(TAP, true, true, VirtioNetHeader.TUNNEL_LENGTH,
            TunDevice.OFFLOAD_CSUM | TunDevice.OFFLOAD_TSO4 | TunDevice.OFFLOAD_UDP_TUNNEL_GSO))) {
            // frames must be addressed to the TAP device: give it a known address (as the gateway does; one the
            // kernel chose at random may be replaced by udev)
            g.ip("link", "set", TAP, "address", "02:00:00:00:64:01", "up");
            g.exec("sysctl", "-q", "-w", "net.ipv4.conf." + TAP + ".rp_filter=0",
                "net.ipv4.conf." + TAP + ".accept_local=1");
            final long tapMac = 0x02_00_00_00_64_01L;
            TunVnetHeaderIT.awaitListening(tcpdump);

            putMac(frame, 0, tapMac);
            putMac(frame, 6, 0x02_00_00_00_64_feL);
            frame.putShort(12, (short) 0x0800, ByteOrder.BIG_ENDIAN);
            final int outerLength = frameLength - OUTER_IP;
            frame.putByte(OUTER_IP, (byte) 0x45);
            frame.putShort(OUTER_IP + 2, (short) outerLength, ByteOrder.BIG_ENDIAN);
            frame.putShort(OUTER_IP + 6, (short) 0x4000, ByteOrder.BIG_ENDIAN);
            frame.putByte(OUTER_IP + 8, (byte) 64);
            frame.putByte(OUTER_IP + 9, (byte) 17);
            frame.putInt(OUTER_IP + 12, Ipv4Udp.ip(10, 64, 0, 1), ByteOrder.BIG_ENDIAN);
            frame.putInt(OUTER_IP + 16, Ipv4Udp.ip(10, 64, 0, 2), ByteOrder.BIG_ENDIAN);
            frame.putShort(OUTER_IP + 10, (short) Ipv4Udp.checksum(frame, OUTER_IP, 20, 0), ByteOrder.BIG_ENDIAN);
            frame.putShort(OUTER_UDP, (short) 40001, ByteOrder.BIG_ENDIAN);
            frame.putShort(OUTER_UDP + 2, (short) 8472, ByteOrder.BIG_ENDIAN);
            frame.putShort(OUTER_UDP + 4, (short) (outerLength - 20), ByteOrder.BIG_ENDIAN);
            frame.putInt(OUTER_UDP + 8, 0x08000000, ByteOrder.BIG_ENDIAN);
            frame.putInt(OUTER_UDP + 12, 42 << 8, ByteOrder.BIG_ENDIAN);
            putMac(frame, INNER_ETH, NODE_MAC);
            putMac(frame, INNER_ETH + 6, 0x02_00_00_00_65_09L);
            frame.putShort(INNER_ETH + 12, (short) 0x0800, ByteOrder.BIG_ENDIAN);
            frame.putBytes(INNER_IP, inner);
            final int tcpHeader = 20 + whole.tcpOptions.length;
            VirtioNetHeader.tunnelled(header, 0, VirtioNetHeader.GSO_TCPV4, 1000, INNER_IP + 20, 16, OUTER_UDP,
                INNER_IP, INNER_IP + 20 + tcpHeader);

            assertEquals(VirtioNetHeader.TUNNEL_LENGTH + frameLength,
                tap.write(header.addressOffset(), VirtioNetHeader.TUNNEL_LENGTH, frame.addressOffset(), frameLength),
                "write accepted (errno " + tap.lastWriteErrno() + ")");
            assertTrue(tcpdump.waitFor(5, TimeUnit.SECONDS), "tcpdump saw " + expectedPackets + " datagrams");

            final List<byte[]> captured = TunVnetHeaderIT.readPcapIpv4(pcap);
            assertEquals(expectedPackets, captured.size());
            final byte[] gsoHeader = new byte[VirtioNetHeader.LENGTH];
            VirtioNetHeader.tcpv4(new UnsafeBuffer(gsoHeader), 0, 20, tcpHeader, 1000, false);
            final List<byte[]> expected = softwareSegmentation ? Ipv4Tcp.resegment(gsoHeader, inner) : List.of(inner);
            for (int i = 0; i < expectedPackets; i++) {
                final byte[] outer = captured.get(i);
                final UnsafeBuffer o = new UnsafeBuffer(outer);
                assertEquals(outer.length, o.getShort(2, ByteOrder.BIG_ENDIAN) & 0xffff, "outer total length " + i);
                assertEquals(outer.length - 20, o.getShort(24, ByteOrder.BIG_ENDIAN) & 0xffff, "UDP length " + i);
                assertEquals(0, Ipv4Udp.checksum(o, 0, 20, 0), "outer IP checksum " + i);
                final byte[] got = Arrays.copyOfRange(outer, INNER_IP - OUTER_IP, outer.length);
                if (softwareSegmentation) {
                    assertTrue(Ipv4Tcp.checksumsValid(got), "checksums of segment " + i);
                    assertArrayEquals(expected.get(i), got, "segment " + i);
                } else {
                    // the super-packet crossed whole: its checksum is still the partial sum
                    assertArrayEquals(expected.get(i), got, "super-packet");
                }
            }
            assertEquals(0, tap.writeDropCount());
        } finally {
            tcpdump.destroy();
            Files.deleteIfExists(pcap);
        }
    }

    /** Replaces the finished TCP checksum with the folded, not complemented pseudo-header sum (NEEDS_CSUM). */
    private static void partialChecksum(byte[] packet) {
        final UnsafeBuffer b = new UnsafeBuffer(packet);
        long pseudo = Ipv4Tcp.pseudo(b, packet.length - 20);
        while ((pseudo >>> 16) != 0) {
            pseudo = (pseudo & 0xffff) + (pseudo >>> 16);
        }
        b.putShort(20 + 16, (short) pseudo, ByteOrder.BIG_ENDIAN);
    }

    private static void putMac(UnsafeBuffer b, int at, long mac) {
        for (int i = 0; i < 6; i++) {
            b.putByte(at + i, (byte) (mac >>> (40 - 8 * i)));
        }
    }
}
