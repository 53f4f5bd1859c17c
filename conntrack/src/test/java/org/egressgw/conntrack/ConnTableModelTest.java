package org.egressgw.conntrack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

/**
 * Compares ConnTable with a slow java.util.HashMap model over a million random operations with a
 * fixed seed: every insert result (including the exact id from the LIFO free list), lookup, size and
 * expiry (including the rolling cursor) must agree.
 */
class ConnTableModelTest {
    private static final int[] PROTOCOLS = {6, 17, 1};
    private static final int[] STATES = {ConnState.NONE, ConnState.TCP_SYN_SENT, ConnState.TCP_ESTABLISHED,
        ConnState.TCP_CLOSING, ConnState.UDP_REPLIED};

    private record Key(long hi, long lo) {
    }

    private static final class Entry {
        final Key orig;
        final Key reply;
        long lastSeen;
        int state;

        Entry(Key orig, Key reply, long lastSeen) {
            this.orig = orig;
            this.reply = reply;
            this.lastSeen = lastSeen;
        }
    }

    private static Key origKey(int a) {
        return new Key(FlowKey.hi(0x0af40000 + (a >>> 8), 0xcb007105 + (a & 7)),
                FlowKey.lo(PROTOCOLS[a % 3], 30000 + (a & 0xff), 443, false));
    }

    private static Key replyKey(int b) {
        return new Key(FlowKey.hi(0xcb007105 + (b & 7), 0xc6336407),
                FlowKey.lo(PROTOCOLS[b % 3], 443, 1024 + b, true));
    }

    @Test
    void matchesHashMapModelOverAMillionOps() {
        runModel(1000, 4000, 1_000_000, 0x5eed_c0de_1234L, new Timeouts(100_000, 300_000, 20_000, 100_000, 50_000));
    }

    @Test
    void matchesModelOnATinyCrowdedTable() {
        runModel(7, 40, 200_000, 99, new Timeouts(300, 1_000, 100, 300, 200));
    }

    private static void runModel(int capacity, int universe, int ops, long seed, Timeouts timeouts) {
        SplittableRandom random = new SplittableRandom(seed);
        Map<Key, Integer> keyToId = new HashMap<>();
        Map<Integer, Entry> entries = new HashMap<>();
        List<Integer> liveIds = new ArrayList<>();
        ArrayDeque<Integer> freeStack = new ArrayDeque<>();
        int highWater = 0;
        int cursor = 0;
        long now = 1_000_000;
        int inserted = 0;
        int exists = 0;
        int full = 0;
        int hits = 0;
        int expired = 0;

        try (ConnTable table = new ConnTable(capacity, seed)) {
            for (int op = 0; op < ops; op++) {
                now += random.nextInt(20);
                int dice = random.nextInt(100);
                if (dice < 40) {
                    Key orig = origKey(random.nextInt(universe));
                    Key reply = replyKey(random.nextInt(universe));
                    int got = table.insert(orig.hi, orig.lo, reply.hi, reply.lo, now);
                    int want;
                    if (keyToId.containsKey(orig) || keyToId.containsKey(reply)) {
                        want = ConnTable.EXISTS;
                        exists++;
                    } else if (entries.size() == capacity) {
                        want = ConnTable.FULL;
                        full++;
                    } else {
                        want = freeStack.isEmpty() ? highWater++ : freeStack.pop();
                        keyToId.put(orig, want);
                        keyToId.put(reply, want);
                        entries.put(want, new Entry(orig, reply, now));
                        liveIds.add(want);
                        inserted++;
                    }
                    assertEquals(want, got, "op " + op + " insert");
                } else if (dice < 50) {
                    if (!liveIds.isEmpty()) {
                        int id = liveIds.get(random.nextInt(liveIds.size()));
                        table.remove(id);
                        forget(id, keyToId, entries, liveIds, freeStack);
                    }
                } else if (dice < 90) {
                    Key key = random.nextBoolean() ? origKey(random.nextInt(universe)) : replyKey(random.nextInt(universe));
                    int want = keyToId.getOrDefault(key, ConnTable.NOT_FOUND);
                    assertEquals(want, table.lookup(key.hi, key.lo), "op " + op + " lookup");
                    if (want >= 0) {
                        hits++;
                    }
                } else if (dice < 95) {
                    if (!liveIds.isEmpty()) {
                        int id = liveIds.get(random.nextInt(liveIds.size()));
                        Entry entry = entries.get(id);
                        entry.state = STATES[random.nextInt(STATES.length)];
                        table.state(id, entry.state);
                        entry.lastSeen = now;
                        table.touch(id, now);
                    }
                } else {
                    int maxVisits = 1 + random.nextInt(capacity * 2);
                    List<Integer> gotExpired = new ArrayList<>();
                    int got = table.expire(now, maxVisits, timeouts, (t, id) -> {
                        assertEquals(entries.get(id).orig.lo, t.origLo(id));
                        gotExpired.add(id);
                    });
                    List<Integer> wantExpired = new ArrayList<>();
                    int visits = Math.min(maxVisits, highWater);
                    for (int i = 0; i < visits; i++) {
                        int id = cursor;
                        cursor = id + 1 >= highWater ? 0 : id + 1;
                        Entry entry = entries.get(id);
                        if (entry != null && now - entry.lastSeen
                                > timeouts.timeoutMillis(FlowKey.protocol(entry.orig.lo), entry.state)) {
                            wantExpired.add(id);
                            forget(id, keyToId, entries, liveIds, freeStack);
                        }
                    }
                    assertEquals(wantExpired, gotExpired, "op " + op + " expire");
                    assertEquals(wantExpired.size(), got);
                    expired += got;
                }
                if (op % 100_000 == 50_000) {
                    table.compactNow(); // on top of the automatic rebuilds: results must not change
                    assertEquals(0, table.tombstones());
                }
                if ((op & 1023) == 0) {
                    assertEquals(entries.size(), table.size(), "op " + op + " size");
                    assertTrue(table.tombstones() <= table.slotCount() / 4 + 1);
                }
            }

            assertEquals(entries.size(), table.size());
            TreeSet<Integer> visited = new TreeSet<>();
            table.forEach((t, id) -> visited.add(id));
            assertEquals(new TreeSet<>(entries.keySet()), visited);
            for (Map.Entry<Key, Integer> e : keyToId.entrySet()) {
                assertEquals(e.getValue().intValue(), table.lookup(e.getKey().hi, e.getKey().lo));
            }
            System.out.println("model capacity " + capacity + ": run rebuilds " + table.rebuilds()
                    + ", tombstones left " + table.tombstones());
            // Every outcome was actually exercised.
            assertTrue(inserted > 0 && exists > 0 && full > 0 && hits > 0 && expired > 0,
                    "inserted=" + inserted + " exists=" + exists + " full=" + full + " hits=" + hits + " expired=" + expired);
        }
    }

    private static void forget(int id, Map<Key, Integer> keyToId, Map<Integer, Entry> entries, List<Integer> liveIds,
                               ArrayDeque<Integer> freeStack) {
        Entry entry = entries.remove(id);
        keyToId.remove(entry.orig);
        keyToId.remove(entry.reply);
        int index = liveIds.indexOf(id);
        liveIds.set(index, liveIds.get(liveIds.size() - 1));
        liveIds.remove(liveIds.size() - 1);
        freeStack.push(id);
    }
}
