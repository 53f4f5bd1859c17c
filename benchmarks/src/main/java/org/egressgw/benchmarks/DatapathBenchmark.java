package org.egressgw.benchmarks;

import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.core.datapath.PacketEvent;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.conntrack.FlowKey;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.Datapath;
import org.egressgw.core.datapath.DropReason;
import org.egressgw.core.datapath.EgressSink;
import org.egressgw.core.datapath.TunnelSink;
import org.egressgw.packet.FrameBuilder;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Tcp;
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
 * The whole in-memory datapath, one packet per operation, for an established TCP flow of pod1 →
 * 203.0.113.5:443 under the testbed's policy:
 * <ul>
 *   <li>{@link #request}: VXLAN payload → {@link Datapath#onRequest} (decap, validate, conntrack hit,
 *       SNAT) → an {@link EgressSink} that counts;</li>
 *   <li>{@link #reply}: IPv4 reply → {@link Datapath#onReply} (validate, conntrack hit, reverse SNAT,
 *       VXLAN encap) → a {@link TunnelSink} that counts.</li>
 * </ul>
 * Both rewrite the packet in place, so each operation first restores it from a pristine template;
 * {@link #copyRequest} and {@link #copyReply} measure that copy alone so it can be subtracted.
 * {@code size} is the inner IPv4 total length.
 *
 * <p>Setup checks that a packet really goes through (no drop), and teardown that every measured
 * packet was forwarded: a benchmark that silently measured the drop path would be worthless.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
public class DatapathBenchmark {
    @Param({"64", "512", "1400"})
    int size;

    private UnsafeBuffer slot;
    private long address;
    private UnsafeBuffer requestTemplate;
    private int requestLength;
    private UnsafeBuffer replyTemplate;
    private int replyLength;
    private ConnTable table;
    private Datapath datapath;
    private Counters request;
    private Counters reply;
    private final CountingEgress egress = new CountingEgress();
    private final CountingTunnel tunnel = new CountingTunnel();

    /** Counts what the datapath writes towards the TUN device. */
    static final class CountingEgress implements EgressSink {
        long packets;
        long bytes;

        @Override
        public int write(long address, int length) {
            packets++;
            bytes += length;
            return length;
        }
    }

    /** Counts what the datapath queues towards the nodes; never full. */
    static final class CountingTunnel implements TunnelSink {
        long packets;
        long bytes;
        int queued;

        @Override
        public boolean add(long address, int length, int dstIp) {
            packets++;
            bytes += length;
            queued++;
            return true;
        }

        @Override
        public int flush() {
            int n = queued;
            queued = 0;
            return n;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        if (size < 40 || size > Fixtures.INNER_MTU) {
            throw new IllegalArgumentException("size must be 40.." + Fixtures.INNER_MTU + " (IPv4 total length): " + size);
        }
        slot = Fixtures.offHeap(Fixtures.SLOT_SIZE);
        address = slot.addressOffset();
        table = new ConnTable(1024, 42);
        request = new Counters();
        reply = new Counters();
        datapath = new Datapath(Fixtures.settings(), table,
                new Datapath.PolicyView(Fixtures.paymentPolicy()),
                egress, tunnel, request, reply);

        // request: pod1 → server, ACK (mid-stream pick-up makes the flow ESTABLISHED at once)
        requestTemplate = Fixtures.offHeap(Fixtures.SLOT_SIZE);
        int inner = FrameBuilder.tcp(requestTemplate, 22, Fixtures.POD_IP, Fixtures.SERVER_IP, Fixtures.POD_PORT,
                Fixtures.SERVER_PORT, Tcp.ACK, 0, size - 40);
        requestLength = FrameBuilder.vxlan(requestTemplate, 0, Fixtures.VNI, Fixtures.GW_MAC, Fixtures.NODE_MAC, inner);

        // the first request creates the connection; its translated port addresses the reply
        request();
        int e = table.lookup(FlowKey.hi(Fixtures.POD_IP, Fixtures.SERVER_IP),
                FlowKey.lo(Ipv4.PROTO_TCP, Fixtures.POD_PORT, Fixtures.SERVER_PORT, false));
        if (e < 0 || egress.packets != 1) {
            throw new IllegalStateException("request not forwarded in setup: " + describeDrops(request));
        }
        int natPort = FlowKey.dstPort(table.replyLo(e));

        replyTemplate = Fixtures.offHeap(Fixtures.SLOT_SIZE);
        replyLength = FrameBuilder.tcp(replyTemplate, 0, Fixtures.SERVER_IP, Fixtures.EGRESS_IP, Fixtures.SERVER_PORT,
                natPort, Tcp.ACK, 0, size - 40);
        reply();
        if (tunnel.packets != 1) {
            throw new IllegalStateException("reply not forwarded in setup: " + describeDrops(reply));
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        try {
            // what the request benchmark queued counts as sent at the flush the worker does after each batch
            datapath.flush();
            check("request", request);
            check("reply", reply);
        } finally {
            table.close();
        }
    }

    private static void check(String direction, Counters c) {
        long rx = c.get(Counters.RX_PACKETS);
        long tx = c.get(Counters.TX_PACKETS);
        if (rx != tx) {
            throw new IllegalStateException(direction + ": " + rx + " received but " + tx + " forwarded; "
                    + describeDrops(c));
        }
    }

    private static String describeDrops(Counters c) {
        StringBuilder s = new StringBuilder("drops:");
        for (int r = 0; r < DropReason.COUNT; r++) {
            if (c.drops(r) > 0) {
                s.append(' ').append(DropReason.name(r)).append('=').append(c.drops(r));
            }
        }
        return s.toString();
    }

    /** Baseline: restoring the request packet from its template. */
    @Benchmark
    public void copyRequest() {
        slot.putBytes(PacketEvent.REQUEST_OFFSET, requestTemplate, 0, requestLength);
    }

    /** Restore + one request packet through the datapath. */
    @Benchmark
    public void request() {
        slot.putBytes(PacketEvent.REQUEST_OFFSET, requestTemplate, 0, requestLength);
        datapath.onRequest(slot, address, PacketEvent.REQUEST_OFFSET, requestLength, Fixtures.NODE_UNDERLAY_IP,
                Fixtures.NOW);
    }

    /** Baseline: restoring the reply packet from its template. */
    @Benchmark
    public void copyReply() {
        slot.putBytes(PacketEvent.REPLY_OFFSET, replyTemplate, 0, replyLength);
    }

    /** Restore + one reply packet through the datapath, then the batch flush the worker would do. */
    @Benchmark
    public void reply() {
        slot.putBytes(PacketEvent.REPLY_OFFSET, replyTemplate, 0, replyLength);
        datapath.onReply(slot, address, PacketEvent.REPLY_OFFSET, replyLength, Fixtures.NOW);
        datapath.flush();
    }
}
