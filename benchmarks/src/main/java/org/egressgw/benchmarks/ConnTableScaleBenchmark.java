package org.egressgw.benchmarks;

import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The connection table beside {@link ConcurrentHashMap} in the same run, at 1 k, 1 M and 10 M live
 * connections (both keys of each present), one and two threads: lookup of a present key, of an
 * absent key, and insert + remove of a new connection (one thread: the table has a single writer by
 * design). Keys are visited in a shuffled order so large tables miss the caches as a busy gateway's
 * do. The map holds the same two keys per connection, as {@code Key} objects made up front (so its
 * lookups allocate nothing either), mapping to an entry number. Bytes per connection are printed at
 * setup: the table's off-heap memory, and the map's heap growth.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "-Xms8g", "-Xmx8g"})
public class ConnTableScaleBenchmark {
    private static final int FRESH = 4096;

    @Param({"1000", "1000000", "10000000"})
    int entries;

    @Param({"conntrack", "chm"})
    String impl;

    record Key(long hi, long lo) {
    }

    ConnTable table;
    ConcurrentHashMap<Key, Integer> map;
    long[] hitHi;
    long[] hitLo;
    long[] missHi;
    long[] missLo;
    Key[] hitKeys;
    Key[] missKeys;
    final long[][] fresh = new long[4][FRESH];
    final Key[][] freshKeys = new Key[2][FRESH];

    /** Each benchmark thread walks the shared keys from its own cursor. */
    @State(Scope.Thread)
    public static class Cursor {
        int hit;
        int miss;
        int fresh;

        @Setup(Level.Trial)
        public void setUp(ConnTableScaleBenchmark b) {
            hit = (int) (Thread.currentThread().getId() * 7919 % b.entries);
            miss = hit;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        hitHi = new long[entries];
        hitLo = new long[entries];
        missHi = new long[entries];
        missLo = new long[entries];
        for (int i = 0; i < entries; i++) {
            hitHi[i] = ConnKeys.origHi(i);
            hitLo[i] = ConnKeys.origLo();
            missHi[i] = ConnKeys.origHi(entries + i);
            missLo[i] = ConnKeys.origLo();
        }
        for (int i = 0; i < FRESH; i++) {
            int k = 2 * entries + i;
            fresh[0][i] = ConnKeys.origHi(k);
            fresh[1][i] = ConnKeys.origLo();
            fresh[2][i] = ConnKeys.replyHi(k);
            fresh[3][i] = ConnKeys.replyLo(k);
        }
        SplittableRandom rnd = new SplittableRandom(11);
        ConnKeys.shuffle(hitHi, hitLo, rnd);
        ConnKeys.shuffle(missHi, missLo, rnd);
        Runtime rt = Runtime.getRuntime();
        System.gc();
        long heapBefore = rt.totalMemory() - rt.freeMemory();
        if (impl.equals("conntrack")) {
            table = new ConnTable(entries + 16, 42);
            for (int i = 0; i < entries; i++) {
                if (table.insert(ConnKeys.origHi(i), ConnKeys.origLo(), ConnKeys.replyHi(i), ConnKeys.replyLo(i), Fixtures.NOW) < 0) {
                    throw new IllegalStateException("fixture insert failed at " + i);
                }
            }
            System.out.printf("%nconntrack: %d connections, %d bytes off-heap, %.1f bytes per connection%n",
                    entries, table.memoryBytes(), (double) table.memoryBytes() / (entries + 16));
        } else {
            map = new ConcurrentHashMap<>(2 * entries);
            for (int i = 0; i < entries; i++) {
                Integer e = i;
                map.put(new Key(ConnKeys.origHi(i), ConnKeys.origLo()), e);
                map.put(new Key(ConnKeys.replyHi(i), ConnKeys.replyLo(i)), e);
            }
            System.gc();
            long heapAfter = rt.totalMemory() - rt.freeMemory();
            System.out.printf("%nchm: %d connections, about %.1f heap bytes per connection (both keys)%n",
                    entries, (double) (heapAfter - heapBefore) / entries);
            hitKeys = new Key[entries];
            missKeys = new Key[entries];
            for (int i = 0; i < entries; i++) {
                hitKeys[i] = new Key(hitHi[i], hitLo[i]);
                missKeys[i] = new Key(missHi[i], missLo[i]);
            }
            for (int i = 0; i < FRESH; i++) {
                freshKeys[0][i] = new Key(fresh[0][i], fresh[1][i]);
                freshKeys[1][i] = new Key(fresh[2][i], fresh[3][i]);
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (table != null) {
            table.close();
        }
        map = null;
    }

    private int hit(Cursor c) {
        int i = c.hit;
        c.hit = i + 1 == entries ? 0 : i + 1;
        if (table != null) {
            return table.lookup(hitHi[i], hitLo[i]);
        }
        return map.get(hitKeys[i]);
    }

    private int miss(Cursor c) {
        int i = c.miss;
        c.miss = i + 1 == entries ? 0 : i + 1;
        if (table != null) {
            return table.lookup(missHi[i], missLo[i]);
        }
        Integer e = map.get(missKeys[i]);
        return e == null ? -1 : e;
    }

    @Benchmark
    public int lookupHit(Cursor c) {
        return hit(c);
    }

    @Benchmark
    @Threads(2)
    public int lookupHit2Threads(Cursor c) {
        return hit(c);
    }

    @Benchmark
    public int lookupMiss(Cursor c) {
        return miss(c);
    }

    @Benchmark
    @Threads(2)
    public int lookupMiss2Threads(Cursor c) {
        return miss(c);
    }

    /** A new connection arrives and goes away again: both keys inserted, both removed. */
    @Benchmark
    public int insertRemove(Cursor c) {
        int i = c.fresh = (c.fresh + 1) & (FRESH - 1);
        if (table != null) {
            int e = table.insert(fresh[0][i], fresh[1][i], fresh[2][i], fresh[3][i], Fixtures.NOW);
            table.remove(e);
            return e;
        }
        Integer e = i;
        map.put(freshKeys[0][i], e);
        map.put(freshKeys[1][i], e);
        map.remove(freshKeys[0][i]);
        map.remove(freshKeys[1][i]);
        return i;
    }
}
