package org.egressgw.benchmarks;

import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.encap.VxlanDecapsulator;
import org.egressgw.packet.FrameBuilder;
import org.egressgw.packet.Tcp;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** {@link VxlanDecapsulator#classify} of a VXLAN payload carrying pod1's TCP packet to our MAC. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
public class VxlanClassifyBenchmark {
    private final VxlanDecapsulator decap = new VxlanDecapsulator(Fixtures.VNI, Fixtures.GW_MAC);
    private UnsafeBuffer packet;
    private int length;

    @Setup(Level.Trial)
    public void setUp() {
        packet = Fixtures.offHeap(Fixtures.SLOT_SIZE);
        int inner = FrameBuilder.tcp(packet, 22, Fixtures.POD_IP, Fixtures.SERVER_IP, Fixtures.POD_PORT,
                Fixtures.SERVER_PORT, Tcp.ACK, 0, 24);
        length = FrameBuilder.vxlan(packet, 0, Fixtures.VNI, Fixtures.GW_MAC, Fixtures.NODE_MAC, inner);
        if (classify() != VxlanDecapsulator.FOR_US) {
            throw new IllegalStateException("fixture not classified FOR_US: " + classify());
        }
    }

    @Benchmark
    public int classify() {
        return decap.classify(packet, 0, length);
    }
}
