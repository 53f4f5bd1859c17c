package org.egressgw.benchmarks;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.egressgw.conntrack.ConnTable;
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
 * {@link ConnTable} holding {@code entries} live TCP connections in a table sized for them (capacity
 * {@code entries + 16}, i.e. the index at its design load of 1/2): lookup of a present key, lookup of
 * an absent key, and insert + remove of a new connection. Keys are visited in a shuffled order, so at
 * 1 M entries (~150 MB off-heap) nearly every lookup misses the CPU caches, as a busy gateway's would.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
public class ConnTableBenchmark {
    private static final int SLACK = 16;
    private static final int FRESH = 4096;

    @Param({"1000", "1000000"})
    int entries;

    private ConnTable table;
    private long[] hitHi;
    private long[] hitLo;
    private long[] missHi;
    private long[] missLo;
    private final long[] freshOrigHi = new long[FRESH];
    private final long[] freshOrigLo = new long[FRESH];
    private final long[] freshReplyHi = new long[FRESH];
    private final long[] freshReplyLo = new long[FRESH];
    private int nextHit;
    private int nextMiss;
    private int nextFresh;

    @Setup(Level.Trial)
    public void setUp() {
        if (2 * entries + FRESH > 1 << 24) {
            throw new IllegalArgumentException("entries too large for the key scheme: " + entries);
        }
        table = new ConnTable(entries + SLACK, 42);
        hitHi = new long[entries];
        hitLo = new long[entries];
        missHi = new long[entries];
        missLo = new long[entries];
        for (int i = 0; i < entries; i++) {
            if (table.insert(ConnKeys.origHi(i), ConnKeys.origLo(), ConnKeys.replyHi(i), ConnKeys.replyLo(i), Fixtures.NOW) < 0) {
                throw new IllegalStateException("fixture insert failed at " + i);
            }
            hitHi[i] = ConnKeys.origHi(i);
            hitLo[i] = ConnKeys.origLo();
            missHi[i] = ConnKeys.origHi(entries + i);
            missLo[i] = ConnKeys.origLo();
        }
        for (int i = 0; i < FRESH; i++) {
            int k = 2 * entries + i;
            freshOrigHi[i] = ConnKeys.origHi(k);
            freshOrigLo[i] = ConnKeys.origLo();
            freshReplyHi[i] = ConnKeys.replyHi(k);
            freshReplyLo[i] = ConnKeys.replyLo(k);
        }
        SplittableRandom rnd = new SplittableRandom(11);
        ConnKeys.shuffle(hitHi, hitLo, rnd);
        ConnKeys.shuffle(missHi, missLo, rnd);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        int size = table.size();
        table.close();
        if (size != entries) {
            throw new IllegalStateException("table size drifted: " + size + " != " + entries);
        }
    }

    @Benchmark
    public int lookupHit() {
        int i = nextHit;
        nextHit = i + 1 == entries ? 0 : i + 1;
        return table.lookup(hitHi[i], hitLo[i]);
    }

    @Benchmark
    public int lookupMiss() {
        int i = nextMiss;
        nextMiss = i + 1 == entries ? 0 : i + 1;
        return table.lookup(missHi[i], missLo[i]);
    }

    /** A new connection arrives and goes away again: both keys inserted, both removed. */
    @Benchmark
    public int insertRemove() {
        int i = nextFresh = (nextFresh + 1) & (FRESH - 1);
        int e = table.insert(freshOrigHi[i], freshOrigLo[i], freshReplyHi[i], freshReplyLo[i], Fixtures.NOW);
        table.remove(e);
        return e;
    }
}
