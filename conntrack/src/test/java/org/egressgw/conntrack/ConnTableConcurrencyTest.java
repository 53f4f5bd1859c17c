package org.egressgw.conntrack;

import static org.egressgw.conntrack.ConnTableTest.origHi;
import static org.egressgw.conntrack.ConnTableTest.origLo;
import static org.egressgw.conntrack.ConnTableTest.replyHi;
import static org.egressgw.conntrack.ConnTableTest.replyLo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One writer churns (insert, remove, expire, forced index rebuilds) while two readers look up
 * without pause: a key that is present the whole time must always be found with its id, and an
 * entry returned for a churning key must hold that key (checked while the entry's seqlock still
 * has the value under which the lookup matched, i.e. the entry was not recycled since).
 */
class ConnTableConcurrencyTest {
    private static final int PERMANENT = 3000;
    private static final int CHURN = 20_000;
    private static final long RUN_NANOS = TimeUnit.MILLISECONDS.toNanos(2500);

    @Test
    @Timeout(30)
    void readersNeverSeeWrongOrMissingEntriesWhileOneWriterChurns() throws Exception {
        try (ConnTable table = new ConnTable(1 << 14, 12345)) {
            int[] permanentIds = new int[PERMANENT];
            for (int n = 0; n < PERMANENT; n++) {
                permanentIds[n] = ConnTableTest.insert(table, n, 0);
                table.state(permanentIds[n], ConnState.TCP_ESTABLISHED);
            }
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<String> failure = new AtomicReference<>();
            AtomicLong permanentLookups = new AtomicLong();
            AtomicLong churnHitsChecked = new AtomicLong();
            AtomicLong writerOps = new AtomicLong();

            Runnable reader = () -> {
                SplittableRandom random = new SplittableRandom(Thread.currentThread().getId());
                long lookups = 0;
                long checked = 0;
                while (!stop.get() && failure.get() == null) {
                    int n = random.nextInt(PERMANENT);
                    boolean reply = random.nextBoolean();
                    int e = reply ? table.lookup(replyHi(n), replyLo(n)) : table.lookup(origHi(n), origLo(n));
                    if (e != permanentIds[n]) {
                        failure.compareAndSet(null, "permanent key " + n + (reply ? " reply" : " orig") + " gave " + e
                                + " instead of " + permanentIds[n]);
                    }
                    lookups++;

                    int c = PERMANENT + random.nextInt(CHURN);
                    long hi = reply ? replyHi(c) : origHi(c);
                    long lo = reply ? replyLo(c) : origLo(c);
                    if (random.nextBoolean()) {
                        table.lookup(hi, lo); // the public path, for its retry logic under churn
                        continue;
                    }
                    long result = table.probeWithSequence(hi, lo);
                    int got = (int) result;
                    if (got >= 0) {
                        // The seqlock value under which the lookup matched tells whether the entry
                        // was recycled between the lookup and the reads below.
                        int seq = (int) (result >>> 32);
                        long oh = table.origHi(got);
                        long ol = table.origLo(got);
                        long rh = table.replyHi(got);
                        long rl = table.replyLo(got);
                        if (table.sequence(got) == seq) {
                            checked++;
                            if (!((oh == hi && ol == lo) || (rh == hi && rl == lo))) {
                                failure.compareAndSet(null, "lookup of " + FlowKey.toString(hi, lo) + " returned entry "
                                        + got + " holding " + FlowKey.toString(oh, ol) + " / " + FlowKey.toString(rh, rl));
                            }
                        }
                    }
                }
                permanentLookups.addAndGet(lookups);
                churnHitsChecked.addAndGet(checked);
            };

            Runnable writer = () -> {
                SplittableRandom random = new SplittableRandom(7);
                int[] churnId = new int[CHURN];
                Arrays.fill(churnId, -1);
                TimeoutPolicy timeouts = (protocol, state) -> state == ConnState.TCP_ESTABLISHED ? Long.MAX_VALUE : 50;
                long now = 0;
                long ops = 0;
                long deadline = System.nanoTime() + RUN_NANOS;
                try {
                    while (System.nanoTime() < deadline && failure.get() == null) {
                        for (int i = 0; i < 256; i++) {
                            now++;
                            int c = random.nextInt(CHURN);
                            if (churnId[c] < 0) {
                                int e = ConnTableTest.insert(table, PERMANENT + c, now);
                                if (e >= 0) {
                                    churnId[c] = e;
                                }
                            } else if (random.nextInt(4) == 0) {
                                table.remove(churnId[c]);
                                churnId[c] = -1;
                            } else if (table.isLive(churnId[c])) {
                                table.touch(churnId[c], now);
                            }
                            ops++;
                        }
                        table.expire(now, 512, timeouts, (t, e) -> {
                            int c = (int) ((t.origLo(e) >>> 16) & 0xffff) - 10000 - PERMANENT;
                            // Recover the churn index from the source address and port of the key.
                            c += (FlowKey.srcIp(t.origHi(e)) - ConnTableTest.POD) << 16;
                            churnId[c] = -1;
                        });
                        if ((ops & 0x3fff) == 0) {
                            table.compactNow();
                        }
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, "writer: " + t);
                } finally {
                    writerOps.set(ops);
                    stop.set(true);
                }
            };

            Thread r1 = new Thread(reader, "reader-1");
            Thread r2 = new Thread(reader, "reader-2");
            Thread w = new Thread(writer, "writer");
            r1.start();
            r2.start();
            w.start();
            w.join();
            stop.set(true);
            r1.join();
            r2.join();

            assertNull(failure.get());
            System.out.println("concurrency: writer ops " + writerOps.get() + ", permanent lookups "
                    + permanentLookups.get() + ", churn hits checked " + churnHitsChecked.get() + ", run rebuilds "
                    + table.rebuilds() + ", size " + table.size());
            assertTrue(permanentLookups.get() > 10_000);
            assertTrue(churnHitsChecked.get() > 1_000);
            assertTrue(table.rebuilds() > 100, "index rebuilds ran concurrently with readers");
            for (int n = 0; n < PERMANENT; n++) {
                assertEquals(permanentIds[n], table.lookup(origHi(n), origLo(n)));
            }
        }
    }
}
