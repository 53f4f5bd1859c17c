package org.egressgw.benchmarks;

import com.lmax.disruptor.EventPoller;
import com.lmax.disruptor.RingBuffer;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.Datapath;
import org.egressgw.core.datapath.PacketEvent;
import org.egressgw.core.datapath.PacketRing;
import org.egressgw.packet.FrameBuilder;
import org.egressgw.packet.Tcp;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The worker's request loop without threads or sockets: claim {@value #BATCH} slots of a
 * {@link PacketRing}, copy a received VXLAN payload into each (what the receive thread does), publish,
 * then drain them through the {@link EventPoller} into {@link Datapath#onRequest}, flushing at the end
 * of the batch as {@code Worker} does. Reported per packet. One thread plays both sides, so this is
 * the ring's bookkeeping cost, not the cross-core hand-off (which adds cache-line transfers).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
public class RingBenchmark {
    static final int BATCH = 32;

    @Param({"64", "1400"})
    int size;

    // held for the whole trial: the slots are raw addresses into its slab, which the GC frees with it
    private PacketRing packetRing;
    private RingBuffer<PacketEvent> ring;
    private EventPoller<PacketEvent> poller;
    private UnsafeBuffer template;
    private int length;
    private ConnTable table;
    private Datapath datapath;
    private Counters request;
    private final DatapathBenchmark.CountingEgress egress = new DatapathBenchmark.CountingEgress();

    private final EventPoller.Handler<PacketEvent> handler = (ev, seq, endOfBatch) -> {
        datapath.onRequest(ev.buffer, ev.address, ev.offset, ev.length, ev.peerIp, Fixtures.NOW);
        if (endOfBatch) {
            datapath.flush();
        }
        return true;
    };

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        packetRing = new PacketRing(4096, Fixtures.SLOT_SIZE);
        ring = packetRing.ring();
        poller = packetRing.poller();
        table = new ConnTable(1024, 42);
        request = new Counters();
        datapath = new Datapath(Fixtures.settings(), table,
                new Datapath.PolicyView(Fixtures.paymentPolicy()),
                egress, new DatapathBenchmark.CountingTunnel(), request, new Counters());
        template = Fixtures.offHeap(Fixtures.SLOT_SIZE);
        int inner = FrameBuilder.tcp(template, 22, Fixtures.POD_IP, Fixtures.SERVER_IP, Fixtures.POD_PORT,
                Fixtures.SERVER_PORT, Tcp.ACK, 0, size - 40);
        length = FrameBuilder.vxlan(template, 0, Fixtures.VNI, Fixtures.GW_MAC, Fixtures.NODE_MAC, inner);
        batch();
        if (egress.packets != BATCH) {
            throw new IllegalStateException("setup batch: " + egress.packets + " of " + BATCH + " forwarded");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        long rx = request.get(Counters.RX_PACKETS);
        long tx = request.get(Counters.TX_PACKETS);
        table.close();
        if (rx != tx) {
            throw new IllegalStateException(rx + " received but " + tx + " forwarded");
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void batch() throws Exception {
        for (int i = 0; i < BATCH; i++) {
            long seq = ring.next();
            PacketEvent ev = ring.get(seq);
            ev.buffer.putBytes(PacketEvent.REQUEST_OFFSET, template, 0, length);
            ev.offset = PacketEvent.REQUEST_OFFSET;
            ev.length = length;
            ev.peerIp = Fixtures.NODE_UNDERLAY_IP;
            ring.publish(seq);
        }
        poller.poll(handler);
    }
}
