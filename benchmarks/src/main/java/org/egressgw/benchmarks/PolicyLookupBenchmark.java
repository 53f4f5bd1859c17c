package org.egressgw.benchmarks;

import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.egressgw.control.policy.PolicyTable;
import org.egressgw.packet.Ipv4Address;
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
 * {@link PolicyTable#lookup} for a table of 1 000 pod sources × 4 destination CIDRs + 1 excluded
 * CIDR (one policy, compiled from YAML like the gateway does). Queries cycle through 4 096
 * precomputed (source, destination) pairs: mostly policy hits spread over all CIDRs, some excluded
 * destinations, some destinations no CIDR covers and some unknown sources.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
public class PolicyLookupBenchmark {
    static final int SOURCES = 1000;
    private static final int QUERIES = 4096;
    private static final List<String> DESTINATIONS =
            List.of("203.0.113.0/24", "198.18.0.0/15", "172.16.0.0/12", "100.64.0.0/10");
    private static final List<String> EXCLUDED = List.of("203.0.113.128/25");

    private PolicyTable table;
    private final int[] sources = new int[QUERIES];
    private final int[] destinations = new int[QUERIES];
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        table = Fixtures.manySources(SOURCES, DESTINATIONS, EXCLUDED);
        SplittableRandom rnd = new SplittableRandom(7);
        int[] bases = DESTINATIONS.stream().mapToInt(c -> Ipv4Address.parse(c.substring(0, c.indexOf('/')))).toArray();
        int hits = 0;
        for (int i = 0; i < QUERIES; i++) {
            // 1 in 16 from a source no policy selects
            sources[i] = rnd.nextInt(16) == 0 ? Ipv4Address.parse("10.245.0.1") + rnd.nextInt(1000)
                    : Fixtures.sourceIp(rnd.nextInt(SOURCES));
            int kind = rnd.nextInt(10);
            destinations[i] = kind == 0 ? Ipv4Address.parse("8.8.0.0") + rnd.nextInt(1 << 16) // no CIDR
                    : bases[rnd.nextInt(bases.length)] + rnd.nextInt(256); // 203.0.113.128+ is excluded
            hits += table.lookup(sources[i], destinations[i]) >= 0 ? 1 : 0;
        }
        if (hits < QUERIES / 2) {
            throw new IllegalStateException("policy fixture: only " + hits + " of " + QUERIES + " queries hit");
        }
    }

    @Benchmark
    public int lookup() {
        int i = next = (next + 1) & (QUERIES - 1);
        return table.lookup(sources[i], destinations[i]);
    }
}
