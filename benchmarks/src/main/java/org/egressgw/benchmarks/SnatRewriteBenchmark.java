package org.egressgw.benchmarks;

import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.nat.SnatRewriter;
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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@link SnatRewriter} on a TCP packet: address + port + both checksums, incrementally. Each
 * operation flips the packet between two translations, so it stays a valid packet with a correct
 * checksum forever and no restore copy is needed (the cost does not depend on the values).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
public class SnatRewriteBenchmark {
    private static final int IP = 0;
    private static final int L4 = Ipv4.MIN_HEADER_LENGTH;
    private final int[] sourceIps = {Fixtures.EGRESS_IP, Fixtures.POD_IP};
    private final int[] sourcePorts = {33000, Fixtures.POD_PORT};
    private final int[] destinationIps = {Fixtures.POD_IP, Fixtures.EGRESS_IP};
    private final int[] destinationPorts = {Fixtures.POD_PORT, 33000};
    private UnsafeBuffer request;
    private UnsafeBuffer reply;
    private int flip;

    @Setup(Level.Trial)
    public void setUp() {
        request = Fixtures.offHeap(256);
        FrameBuilder.tcp(request, IP, Fixtures.POD_IP, Fixtures.SERVER_IP, Fixtures.POD_PORT, Fixtures.SERVER_PORT,
                Tcp.ACK, 0, 24);
        reply = Fixtures.offHeap(256);
        FrameBuilder.tcp(reply, IP, Fixtures.SERVER_IP, Fixtures.EGRESS_IP, Fixtures.SERVER_PORT, 33000, Tcp.ACK, 0, 24);
    }

    /** Request path: source pod1:40000 ⇄ egress IP:33000. */
    @Benchmark
    public void rewriteSource() {
        int i = flip ^= 1;
        SnatRewriter.rewriteSource(request, IP, L4, Ipv4.PROTO_TCP, sourceIps[i & 1], sourcePorts[i & 1]);
    }

    /** Reply path: destination egress IP:33000 ⇄ pod1:40000. */
    @Benchmark
    public void rewriteDestination() {
        int i = flip ^= 1;
        SnatRewriter.rewriteDestination(reply, IP, L4, Ipv4.PROTO_TCP, destinationIps[i & 1], destinationPorts[i & 1]);
    }
}
