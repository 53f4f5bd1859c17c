package org.egressgw.core.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.control.policy.PolicyTable;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.Datapath;
import org.egressgw.core.datapath.DatapathSettings;
import org.egressgw.core.datapath.DropReason;
import org.egressgw.core.datapath.EgressSink;
import org.egressgw.core.datapath.PacketEvent;
import org.egressgw.core.datapath.PacketRing;
import org.egressgw.core.datapath.TunnelSink;
import org.egressgw.packet.Checksum;
import org.egressgw.packet.Ethernet;
import org.egressgw.packet.FrameBuilder;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.Ipv4Cidr;
import org.egressgw.packet.MacAddress;
import org.egressgw.packet.Tcp;
import org.egressgw.packet.Udp;
import org.egressgw.packet.Vxlan;
import org.egressgw.tunio.NetNs;
import org.egressgw.tunio.RawIpSender;
import org.egressgw.tunio.TunDevice;
import org.egressgw.tunio.VirtioNetHeader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every way the kernel can refuse a packet after the datapath let it go is forced here, against the real kernel in
 * a throwaway namespace, and seen in the counters /metrics reads — with received = sent + dropped still holding:
 * TCP segments held by the coalescer and lost in a refused TUN write, a TUN write refused at once, tunnel
 * datagrams batched for sendmmsg and refused (no route to the node), and a full reply ring.
 */
@Timeout(60)
class DropAccountingIT {
    private static final int POD = Ipv4Address.parse("10.244.1.10");
    private static final int SERVER = Ipv4Address.parse("203.0.113.5");
    private static final int EGRESS_IP = Ipv4Address.parse("192.0.2.10");
    private static final int NODE = Ipv4Address.parse("198.51.100.1");
    private static final int GATEWAY = Ipv4Address.parse("198.51.100.2");
    private static final long GW_MAC = MacAddress.parse("02:00:0a:63:00:02");
    private static final long NODE_MAC = MacAddress.parse("02:00:0a:63:00:01");
    private static final int SEGMENT = 1000;

    private final UnsafeBuffer slot = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
    private final Counters request = new Counters();
    private final Counters reply = new Counters();
    private String ns;
    private ConnTable table;

    @BeforeEach
    void setUp() throws Exception {
        ns = String.format("egwdrop-%08x", ThreadLocalRandom.current().nextInt());
        run("ip", "netns", "add", ns);
        run("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1");
        run("ip", "-n", ns, "link", "set", "lo", "up");
        table = new ConnTable(1024);
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            table.close();
        } finally {
            run("ip", "netns", "del", ns);
        }
    }

    @Test
    void tcpSegmentsLostInARefusedTunWriteAreCountedOnce() throws Exception {
        // a TUN device that is down refuses every write (EIO)
        try (TunDevice tun = NetNs.call(ns, () -> TunDevice.open("egwdrop0", false, true, VirtioNetHeader.LENGTH, 0))) {
            GsoTunEgressSink sink = new GsoTunEgressSink(tun);
            Datapath dp = datapath(sink, new CollectingTunnel());
            request(dp, tcp(Tcp.SYN, 0, 0));
            dp.flush();
            assertEquals(1, request.drops(DropReason.TX_FAILED), "a SYN is written at once, and refused at once");
            for (int i = 0; i < 5; i++) {
                // one ring batch: the data segments are held to be coalesced, and lost together at the flush
                request(dp, tcp(Tcp.ACK, i * SEGMENT, SEGMENT));
            }
            assertEquals(0, request.get(Counters.TX_PACKETS), "held segments are not counted before the flush");
            dp.flush();
            assertEquals(5, sink.lostPackets(), "the five held segments went down with the refused write");
            assertEquals(6, request.drops(DropReason.TX_FAILED));
            assertEquals(0, request.get(Counters.TX_PACKETS));
            assertEquals(0, request.get(Counters.TX_BYTES));
            assertAccounted(request);
        }
    }

    @Test
    void batchedTunnelDatagramsTheKernelRefusesAreCounted() throws Exception {
        // the namespace has no route to the node: sendmmsg fails with ENETUNREACH at the flush
        try (RawIpSender raw = NetNs.call(ns, () -> new RawIpSender(64))) {
            Datapath dp = datapath((address, length) -> length, new RawTunnelSink(raw));
            int natPort = 0;
            for (int i = 0; i < 3; i++) {
                request(dp, udp(4000 + i));
            }
            dp.flush();
            assertEquals(3, request.get(Counters.TX_PACKETS));
            for (int e = 0; e < table.capacity(); e++) {
                if (table.isLive(e)) {
                    natPort = org.egressgw.conntrack.FlowKey.dstPort(table.replyLo(e));
                    int ipLen = FrameBuilder.udp(slot, PacketEvent.REPLY_OFFSET, SERVER, EGRESS_IP, 53, natPort, 20, true);
                    dp.onReply(slot, slot.addressOffset(), PacketEvent.REPLY_OFFSET, ipLen, 1_100);
                }
            }
            assertTrue(natPort >= 32768);
            assertEquals(3, reply.get(Counters.RX_PACKETS));
            dp.flush();
            assertEquals(3, reply.drops(DropReason.TX_FAILED), "all three were queued, then refused by the kernel");
            assertEquals(3, raw.batchDroppedCount());
            assertEquals(0, reply.get(Counters.TX_PACKETS));
            assertAccounted(reply);
        }
    }

    @Test
    void aFullReplyRingCountsWhatItCouldNotTakeAsReceivedAndDropped() throws Exception {
        try (TunDevice tun = NetNs.call(ns, () -> TunDevice.open("egwdrop1", true))) {
            run("ip", "-n", ns, "addr", "add", "10.9.0.1/24", "dev", "egwdrop1");
            run("ip", "-n", ns, "link", "set", "egwdrop1", "up");
            NetNs.call(ns, () -> {
                try (DatagramSocket s = new DatagramSocket(new InetSocketAddress("10.9.0.1", 0))) {
                    for (int i = 0; i < 100; i++) {
                        s.send(new DatagramPacket(new byte[64], 64, new InetSocketAddress("10.9.0.2", 9)));
                    }
                }
                return null;
            });
            PacketRing ring = new PacketRing(64, 2048);
            Counters egressRx = new Counters();
            EgressReceiver receiver = new EgressReceiver(tun, ring.ring(), egressRx, () -> { });
            int published = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (published + egressRx.drops(DropReason.RING_FULL) < 100 && System.nanoTime() < deadline) {
                published += receiver.readBurst();
            }
            assertEquals(64, published, "the ring takes what it holds");
            assertEquals(36, egressRx.drops(DropReason.RING_FULL), "the rest is read off the device and counted");
            assertEquals(36, egressRx.get(Counters.RX_PACKETS), "counted as received too");
            assertEquals(36 * (20 + 8 + 64), egressRx.get(Counters.RX_BYTES));
        }
    }

    // ---------------------------------------------------------------- helpers

    private Datapath datapath(EgressSink egress, TunnelSink tunnel) {
        PolicyTable.Builder pb = new PolicyTable.Builder();
        pb.addRule(POD, Ipv4Cidr.parse("203.0.113.0/24"), pb.addPolicy("p", EGRESS_IP));
        DatapathSettings s = new DatapathSettings(GATEWAY, 8472, 2, GW_MAC, 0, false,
                List.of(Ipv4Cidr.parse("198.51.100.0/24")), 1450, 1410, 32768, 65535, 32);
        return new Datapath(s, table, new Datapath.PolicyView(pb.build()), egress, tunnel, request, reply);
    }

    private void request(Datapath dp, int vxlanLength) {
        dp.onRequest(slot, slot.addressOffset(), PacketEvent.REQUEST_OFFSET, vxlanLength, NODE, 1_000);
    }

    /** A VXLAN payload from the node carrying a TCP segment of the pod's one flow, at {@code offset} in its stream. */
    private int tcp(int flags, int offset, int payload) {
        int ip = PacketEvent.REQUEST_OFFSET + Vxlan.HEADER_LENGTH + Ethernet.HEADER_LENGTH;
        int ipLen = FrameBuilder.tcp(slot, ip, POD, SERVER, 40000, 443, flags, flags == Tcp.SYN ? 1460 : 0, payload);
        int l4 = ip + Ipv4.headerLength(slot, ip);
        Tcp.sequence(slot, l4, 1000 + offset);
        Checksum.storeTransport(slot, l4, ipLen - (l4 - ip), POD, SERVER, Ipv4.PROTO_TCP);
        return FrameBuilder.vxlan(slot, PacketEvent.REQUEST_OFFSET, 2, GW_MAC, NODE_MAC, ipLen);
    }

    private int udp(int podPort) {
        int ip = PacketEvent.REQUEST_OFFSET + Vxlan.HEADER_LENGTH + Ethernet.HEADER_LENGTH;
        int ipLen = FrameBuilder.udp(slot, ip, POD, SERVER, podPort, 53, 20, true);
        assertEquals(Udp.HEADER_LENGTH + 20, ipLen - Ipv4.MIN_HEADER_LENGTH);
        return FrameBuilder.vxlan(slot, PacketEvent.REQUEST_OFFSET, 2, GW_MAC, NODE_MAC, ipLen);
    }

    private static void assertAccounted(Counters c) {
        long dropped = 0;
        for (int r = 0; r < DropReason.COUNT; r++) {
            dropped += c.drops(r);
        }
        assertEquals(c.get(Counters.RX_PACKETS), c.get(Counters.TX_PACKETS) + dropped, "received = sent + dropped");
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS), String.join(" ", cmd));
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.exitValue(), () -> String.join(" ", cmd) + ": " + out);
    }

    /** A tunnel sink that takes everything (the request tests never tunnel anything but ARP replies). */
    private static final class CollectingTunnel implements TunnelSink {
        @Override
        public boolean add(long address, int length, int dstIp) {
            return true;
        }

        @Override
        public int flush() {
            return 0;
        }
    }
}
