package org.egressgw.benchmarks;

import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.core.datapath.PacketEvent;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.conntrack.FlowKey;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.Datapath;
import org.egressgw.core.datapath.TunnelSink;
import org.egressgw.packet.Checksum;
import org.egressgw.packet.FrameBuilder;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Tcp;
import org.egressgw.tunio.VirtioNetHeader;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The reply path with the transmit offload ({@link Datapath#replyVnetHeader}), one read per operation:
 * <ul>
 *   <li>{@code super64k}: a 64 000-byte TCP super-packet (45 segments of 1 410 bytes) with a started
 *       checksum — translated once and handed to {@link TunnelSink#sendOffloaded} whole;</li>
 *   <li>{@code started1400} / {@code started64}: a single packet with a started checksum, which the datapath
 *       finishes in Java before batching it (the ACKs and handshakes of a flow);</li>
 * </ul>
 * Each operation first restores the packet from a pristine template; {@link #copy} measures that alone.
 * Compare {@code super64k} with 45 × {@link DatapathBenchmark#reply} at 1 400 bytes: the cost of
 * forwarding 64 KB one segment at a time.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
public class OffloadedReplyBenchmark {
    @Param({"super64k", "started1400", "started64"})
    String kind;

    private static final int GSO_SIZE = 1410;

    private UnsafeBuffer slot;
    private long address;
    private UnsafeBuffer template;
    private int length;
    private ConnTable table;
    private Datapath datapath;
    private Counters reply;
    private final OffloadTunnel tunnel = new OffloadTunnel();

    /** Counts what the datapath sends towards the nodes, either way. */
    static final class OffloadTunnel implements TunnelSink {
        long packets;
        long offloaded;

        @Override
        public boolean add(long address, int length, int dstIp) {
            packets++;
            return true;
        }

        @Override
        public boolean sendOffloaded(long address, int length, int dstIp, int innerGsoType, int gsoSize, int csumStart,
                int csumOffset, int headerBytes) {
            offloaded++;
            return true;
        }

        @Override
        public int flush() {
            return 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        int size = switch (kind) {
            case "super64k" -> 64_000;
            case "started1400" -> 1400;
            case "started64" -> 64;
            default -> throw new IllegalArgumentException("kind " + kind);
        };
        int room = PacketEvent.REPLY_OFFSET + 65536;
        slot = Fixtures.offHeap(room);
        address = slot.addressOffset();
        table = new ConnTable(1024, 42);
        reply = new Counters();
        datapath = new Datapath(Fixtures.settings(), table, new Datapath.PolicyView(Fixtures.paymentPolicy()),
                (a, l) -> l, tunnel, new Counters(), reply);
        datapath.replyVnetHeader(VirtioNetHeader.LENGTH);

        // one request creates the connection (mid-stream ACK: established at once)
        UnsafeBuffer request = Fixtures.offHeap(Fixtures.SLOT_SIZE);
        int inner = FrameBuilder.tcp(request, 22, Fixtures.POD_IP, Fixtures.SERVER_IP, Fixtures.POD_PORT,
                Fixtures.SERVER_PORT, Tcp.ACK, 0, 0);
        int len = FrameBuilder.vxlan(request, 0, Fixtures.VNI, Fixtures.GW_MAC, Fixtures.NODE_MAC, inner);
        slot.putBytes(PacketEvent.REQUEST_OFFSET, request, 0, len);
        datapath.onRequest(slot, address, PacketEvent.REQUEST_OFFSET, len, Fixtures.NODE_UNDERLAY_IP, Fixtures.NOW);
        int e = table.lookup(FlowKey.hi(Fixtures.POD_IP, Fixtures.SERVER_IP),
                FlowKey.lo(Ipv4.PROTO_TCP, Fixtures.POD_PORT, Fixtures.SERVER_PORT, false));
        if (e < 0) {
            throw new IllegalStateException("request not forwarded in setup");
        }
        int natPort = FlowKey.dstPort(table.replyLo(e));

        // the reply as the TUN device hands it over: virtio-net header, then the packet with a started checksum
        template = Fixtures.offHeap(room);
        int v = PacketEvent.REPLY_OFFSET - VirtioNetHeader.LENGTH;
        length = FrameBuilder.tcp(template, PacketEvent.REPLY_OFFSET, Fixtures.SERVER_IP, Fixtures.EGRESS_IP,
                Fixtures.SERVER_PORT, natPort, Tcp.ACK, 0, size - 40);
        int started = Checksum.fold(Checksum.pseudoHeader(Fixtures.SERVER_IP, Fixtures.EGRESS_IP, Ipv4.PROTO_TCP,
                length - 20));
        template.putShort(PacketEvent.REPLY_OFFSET + 20 + Tcp.CHECKSUM_OFFSET, (short) started, ByteOrder.BIG_ENDIAN);
        VirtioNetHeader.none(template, v);
        VirtioNetHeader.flags(template, v, VirtioNetHeader.FLAG_NEEDS_CSUM);
        VirtioNetHeader.csumStart(template, v, 20);
        VirtioNetHeader.csumOffset(template, v, Tcp.CHECKSUM_OFFSET);
        if (kind.equals("super64k")) {
            VirtioNetHeader.gsoType(template, v, VirtioNetHeader.GSO_TCPV4);
            VirtioNetHeader.gsoSize(template, v, GSO_SIZE);
        }
        reply();
        if (tunnel.packets + tunnel.offloaded != 1) {
            throw new IllegalStateException("reply not forwarded in setup");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        try {
            if (reply.get(Counters.RX_PACKETS) != reply.get(Counters.TX_PACKETS)) {
                throw new IllegalStateException("replies dropped: " + reply.get(Counters.RX_PACKETS) + " received, "
                        + reply.get(Counters.TX_PACKETS) + " sent");
            }
            if (kind.equals("super64k") != (tunnel.offloaded > 0) || (tunnel.offloaded > 0 && tunnel.packets > 0)) {
                throw new IllegalStateException(kind + " took the wrong path: " + tunnel.packets + " batched, "
                        + tunnel.offloaded + " offloaded");
            }
        } finally {
            table.close();
        }
    }

    /** Baseline: restoring the header and packet from the template. */
    @Benchmark
    public void copy() {
        slot.putBytes(PacketEvent.REPLY_OFFSET - VirtioNetHeader.LENGTH, template,
                PacketEvent.REPLY_OFFSET - VirtioNetHeader.LENGTH, length + VirtioNetHeader.LENGTH);
    }

    /** Restore + one read through the reply path. */
    @Benchmark
    public void reply() {
        copy();
        datapath.onReply(slot, address, PacketEvent.REPLY_OFFSET, length, Fixtures.NOW);
        datapath.flush();
    }
}
