package org.egressgw.conntrack;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

import org.agrona.UnsafeApi;

/**
 * The gateway's connection-tracking table: fixed-capacity, off-heap, one entry per connection,
 * reachable from two keys (the ORIGINAL tuple pod → external and the REPLY tuple external →
 * egressIP:natPort, see {@link FlowKey}). Lookups are allocation-free and take no lock (a miss may
 * wait out an index rebuild, see Deletion).
 *
 * <h2>Memory layout</h2>
 * Two blocks from {@code Unsafe.allocateMemory} (64-bit addressing, so tables above 2 GiB work):
 * <ul>
 * <li><b>Index</b>: {@code slotCount} = the power of two {@code >= 4 * maxEntries} slots of 4 bytes
 * (load factor {@code <= 0.5}, 2 keys per entry), open addressing with linear probing. A slot is
 * {@code 0} = EMPTY, {@code 1} = TOMBSTONE, otherwise {@code tag | (entryId + 2)}: the low
 * {@code idBits} bits hold the entry id, the remaining high bits a tag taken from the key's hash so
 * that most non-matching slots are rejected without touching the entry (8 tag bits at 10 M entries,
 * 29 at 1 000). Slots hold no key: the key is compared against the entry record.</li>
 * <li><b>Entries</b>: {@code maxEntries} records of {@value #ENTRY_BYTES} bytes:
 * <pre>
 *   0 int  seq        seqlock over the four key words: odd = being written or free
 *   4 int  vtep       originating node's VTEP address
 *   8 long origHi     16 long origLo     24 long replyHi     32 long replyLo
 *  40 long lastSeen   48 int state       52 int flags        56 long peerMac
 *  64 long created    72 int policy      76 int link (LIVE, or next free id / -1 while free)
 *  80 long packets orig   88 long packets reply   96 long bytes orig   104 long bytes reply
 * </pre>
 * The lookup path (seq, keys, lastSeen, state) sits in the first 56 bytes.</li>
 * </ul>
 * Bytes per connection: {@value #ENTRY_BYTES} (entry) + 16 (four index slots at load 0.5) =
 * <b>128</b> when {@code 4 * maxEntries} is a power of two, up to 144 when the rounding doubles the
 * index (10 M entries: 1.12 GB entries + 256 MiB index = 1.39 GB). Entry ids are never larger than
 * {@code maxEntries - 1}; the capacity is limited to {@value #MAX_ENTRIES} entries.
 *
 * <h2>Concurrency</h2>
 * <ul>
 * <li>One <b>owner thread</b> (the single writer) calls {@link #insert}, {@link #remove},
 * {@link #expire}, {@link #count} and the field setters other than {@link #touch}. Nothing checks
 * this; two writers corrupt the table.</li>
 * <li><b>Any thread</b> may call {@link #lookup}, the getters, {@link #touch}, {@link #size} and
 * {@link #forEach}. They never block the writer and never allocate (lookup may wait for it, see
 * Deletion).</li>
 * <li>Slots are written with release stores and read with acquire loads, each a single aligned
 * 4-byte word, so a reader sees a slot either before or after a change. Keys live only in the
 * entry, guarded by the entry's seqlock: the writer makes {@code seq} odd (remove), fences, rewrites
 * the keys when the id is reused, and publishes an even {@code seq} with a release store before any
 * slot points at the entry. A reader loads {@code seq} (acquire), the keys, a load fence, {@code seq}
 * again, and accepts the entry only if both loads returned the same even value <em>and</em> the key
 * equals one of the entry's two keys. So a reader never sees a torn key and never returns an entry
 * whose key (at that moment) differs from the one asked for.</li>
 * <li>Field getters from other threads read single aligned words (no tearing) but not a consistent
 * snapshot of several fields; an id returned by {@link #lookup} on a non-owner thread can be removed
 * and reused by the owner at any time afterwards. Re-check the keys after reading fields when that
 * matters. On the owner thread ids stay valid until the owner itself removes them.</li>
 * <li>A key inserted or removed concurrently with a lookup may be missed or still found by that
 * lookup (transient; the next lookup after the writer finished is exact). A key that stays present
 * is always found.</li>
 * </ul>
 *
 * <h2>Deletion</h2>
 * Removing a key writes a TOMBSTONE, which lookups probe past, so no live key ever moves and
 * concurrent readers cannot miss it. Tombstones are kept from piling up three ways: (1) when the
 * next slot is EMPTY the removed slot and the tombstones just before it become EMPTY (safe: no
 * live key's probe path can cross an EMPTY slot, so none needs them); (2) insert reuses the first
 * tombstone on its probe path; (3) runs containing tombstones are rebuilt: incrementally by
 * {@link #expire} once tombstones exceed 1/16 of the slots, and over the whole index at once if they
 * ever exceed 1/4 (amortised O(1) per removal). A rebuild moves keys, so it is bracketed by a
 * table-wide sequence counter: a lookup that ends in a miss re-checks the counter and probes again if
 * a rebuild ran meanwhile (hits need no check; they are validated by the entry's seqlock). This is
 * the one place where a reader waits for the writer: a miss that overlaps a run rebuild spins (then
 * yields) until that rebuild is over, normally well under a microsecond, longer only if the owner
 * thread is descheduled inside it. Returning a miss instead would be wrong for a key that is
 * present the whole time (the reply of an established flow would be dropped). Rebuilds are rare:
 * they start only once tombstones exceed 1/16 of the slots. Every probe is bounded by
 * {@code slotCount} steps, and there is always an EMPTY slot (at most 1/2 live + 1/4 tombstones), so
 * lookups stop at the end of their run.
 */
public final class ConnTable implements AutoCloseable {
    /** {@link #lookup}: no entry for the key. */
    public static final int NOT_FOUND = -1;
    /** {@link #insert}: all {@link #capacity()} entries are in use. */
    public static final int FULL = -2;
    /** {@link #insert}: one of the two keys is already present; nothing changed. */
    public static final int EXISTS = -3;

    /** Largest supported capacity (the index then has 2^30 slots). */
    public static final int MAX_ENTRIES = 1 << 28;
    /** Size of one entry record in bytes. */
    public static final int ENTRY_BYTES = 112;

    private static final int SPINS_BEFORE_YIELD = 1 << 10;

    private static final int SEQ = 0;
    private static final int VTEP = 4;
    private static final int ORIG_HI = 8;
    private static final int ORIG_LO = 16;
    private static final int REPLY_HI = 24;
    private static final int REPLY_LO = 32;
    private static final int LAST_SEEN = 40;
    private static final int STATE = 48;
    private static final int FLAGS = 52;
    private static final int PEER_MAC = 56;
    private static final int CREATED = 64;
    private static final int POLICY = 72;
    private static final int LINK = 76;
    private static final int PACKETS = 80;
    private static final int BYTES = 96;

    private static final int EMPTY = 0;
    private static final int TOMBSTONE = 1;
    private static final int ID_OFFSET = 2;
    private static final int LIVE = -2;
    private static final int END_OF_FREE_LIST = -1;

    private static final VarHandle SIZE;
    private static final VarHandle HIGH_WATER;
    private static final VarHandle REBUILD_SEQ;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            SIZE = lookup.findVarHandle(ConnTable.class, "size", int.class);
            HIGH_WATER = lookup.findVarHandle(ConnTable.class, "highWater", int.class);
            REBUILD_SEQ = lookup.findVarHandle(ConnTable.class, "rebuildSeq", int.class);
        } catch (ReflectiveOperationException ex) {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final int maxEntries;
    private final int slotMask;
    private final int idMask;
    private final int tagMask;
    private final long hashSeed;
    private long indexAddress;
    private long entriesAddress;

    // Written by the owner with release stores, read by anyone.
    private volatile int size;
    private volatile int highWater;
    private volatile int rebuildSeq;

    // Owner thread only.
    private int freeHead = END_OF_FREE_LIST;
    private int tombstones;
    private int expireCursor;
    private int compactCursor;
    private int[] scratch = new int[64];

    /** Connections tracked unless configured otherwise (Cilium's default TCP table size). */
    public static final int DEFAULT_CAPACITY = 524_288;

    /**
     * Allocates the table with a random hash seed.
     *
     * @param maxEntries number of connections, {@code 1..}{@value #MAX_ENTRIES}
     */
    public ConnTable(int maxEntries) {
        this(maxEntries, System.nanoTime() * 0x9E3779B97F4A7C15L ^ System.identityHashCode(new Object()));
    }

    /**
     * Allocates the table with a given hash seed (reproducible slot layout for tests and benchmarks;
     * results never depend on the seed).
     */
    public ConnTable(int maxEntries, long hashSeed) {
        if (maxEntries < 1 || maxEntries > MAX_ENTRIES) {
            throw new IllegalArgumentException("maxEntries must be in 1.." + MAX_ENTRIES + ": " + maxEntries);
        }
        this.maxEntries = maxEntries;
        int slots = Integer.highestOneBit(4 * maxEntries - 1) << 1;
        this.slotMask = slots - 1;
        int idBits = 32 - Integer.numberOfLeadingZeros(maxEntries - 1 + ID_OFFSET);
        this.idMask = (int) ((1L << idBits) - 1);
        this.tagMask = ~idMask;
        this.hashSeed = hashSeed;
        long indexBytes = (long) slots * 4;
        long entryBytes = (long) maxEntries * ENTRY_BYTES;
        long index = UnsafeApi.allocateMemory(indexBytes);
        long entries;
        try {
            entries = UnsafeApi.allocateMemory(entryBytes);
        } catch (OutOfMemoryError ex) {
            UnsafeApi.freeMemory(index);
            throw ex;
        }
        UnsafeApi.setMemory(index, indexBytes, (byte) 0);
        // Entry records are initialised when first handed out; only the index must start EMPTY.
        this.indexAddress = index;
        this.entriesAddress = entries;
        UnsafeApi.storeFence();
    }

    /** Maximum number of entries. */
    public int capacity() {
        return maxEntries;
    }

    /** Live entries; readable from any thread (may lag the owner by an in-flight operation). */
    public int size() {
        return size;
    }

    /** Number of index slots (a power of two {@code >= 4 * capacity()}). */
    public int slotCount() {
        return slotMask + 1;
    }

    /** Native memory held, in bytes. */
    public long memoryBytes() {
        return (long) (slotMask + 1) * 4 + (long) maxEntries * ENTRY_BYTES;
    }

    /** Tombstone slots currently in the index (owner thread; for tests and metrics). */
    public int tombstones() {
        return tombstones;
    }

    // ------------------------------------------------------------------ owner thread

    /**
     * Adds a connection under both keys. Owner thread only.
     *
     * @return the new entry id ({@code >= 0}) with state {@link ConnState#NONE}, zero counters and
     * {@code created == lastSeen == nowMillis}; {@link #EXISTS} if either key is present;
     * {@link #FULL} if no entry is free. On EXISTS and FULL nothing changed.
     * @throws IllegalArgumentException if both keys are equal
     */
    public int insert(long origHi, long origLo, long replyHi, long replyLo, long nowMillis) {
        checkOpen();
        if (origHi == replyHi && origLo == replyLo) {
            throw new IllegalArgumentException("original and reply keys are equal: " + FlowKey.toString(origHi, origLo));
        }
        if ((int) probe(origHi, origLo) >= 0 || (int) probe(replyHi, replyLo) >= 0) {
            return EXISTS;
        }
        final int e;
        final int seq;
        int hw = highWater;
        if (freeHead != END_OF_FREE_LIST) {
            e = freeHead;
            long a = entryAddress(e);
            freeHead = UnsafeApi.getInt(a + LINK);
            seq = UnsafeApi.getInt(a + SEQ); // odd since remove()
        } else if (hw < maxEntries) {
            e = hw;
            seq = 1;
            UnsafeApi.putIntRelease(null, entryAddress(e) + SEQ, seq);
        } else {
            return FULL;
        }
        long a = entryAddress(e);
        // Keys must not become visible before the odd seq does (seqlock writer side).
        UnsafeApi.storeFence();
        UnsafeApi.putLong(a + ORIG_HI, origHi);
        UnsafeApi.putLong(a + ORIG_LO, origLo);
        UnsafeApi.putLong(a + REPLY_HI, replyHi);
        UnsafeApi.putLong(a + REPLY_LO, replyLo);
        UnsafeApi.putInt(a + VTEP, 0);
        UnsafeApi.putLong(a + LAST_SEEN, nowMillis);
        UnsafeApi.putInt(a + STATE, ConnState.NONE);
        UnsafeApi.putInt(a + FLAGS, 0);
        UnsafeApi.putLong(a + PEER_MAC, 0L);
        UnsafeApi.putLong(a + CREATED, nowMillis);
        UnsafeApi.putInt(a + POLICY, 0);
        UnsafeApi.putLong(a + PACKETS, 0L);
        UnsafeApi.putLong(a + PACKETS + 8, 0L);
        UnsafeApi.putLong(a + BYTES, 0L);
        UnsafeApi.putLong(a + BYTES + 8, 0L);
        UnsafeApi.putIntRelease(null, a + LINK, LIVE);
        UnsafeApi.putIntRelease(null, a + SEQ, seq + 1);
        if (e == hw) {
            HIGH_WATER.setRelease(this, hw + 1);
        }
        place(origHi, origLo, e);
        place(replyHi, replyLo, e);
        SIZE.setRelease(this, size + 1);
        return e;
    }

    /**
     * Removes both keys of a live entry and frees its id for reuse. Owner thread only.
     *
     * @throws IllegalArgumentException if {@code entry} is not a live entry id
     */
    public void remove(int entry) {
        checkOpen();
        if (!isLive(entry)) {
            throw new IllegalArgumentException("not a live entry: " + entry);
        }
        long a = entryAddress(entry);
        // Odd seq first: from here on readers that still hold a slot for this entry reject it.
        UnsafeApi.putIntRelease(null, a + SEQ, UnsafeApi.getInt(a + SEQ) + 1);
        unplace(UnsafeApi.getLong(a + ORIG_HI), UnsafeApi.getLong(a + ORIG_LO), entry);
        unplace(UnsafeApi.getLong(a + REPLY_HI), UnsafeApi.getLong(a + REPLY_LO), entry);
        UnsafeApi.putIntRelease(null, a + LINK, freeHead);
        freeHead = entry;
        SIZE.setRelease(this, size - 1);
        if (tombstones > (slotMask + 1) >>> 2) {
            compactAll();
        }
    }

    /**
     * Visits up to {@code maxVisits} entry ids from a rolling cursor and removes the live ones idle
     * for longer than their timeout ({@code nowMillis - lastSeen > timeouts.timeoutMillis(protocol,
     * state)}, protocol taken from the original key). {@code listener} (may be null) is called just
     * before each removal; if it removed the entry itself, it is not removed again. Also rebuilds a
     * bounded number of index slots when tombstones have accumulated. Owner thread only.
     *
     * @return number of entries removed
     */
    public int expire(long nowMillis, int maxVisits, TimeoutPolicy timeouts, ExpiryListener listener) {
        checkOpen();
        int hw = highWater;
        int visits = Math.min(maxVisits, hw);
        int removed = 0;
        int cursor = expireCursor;
        for (int i = 0; i < visits; i++) {
            int e = cursor;
            cursor = e + 1 >= hw ? 0 : e + 1;
            long a = entryAddress(e);
            if (UnsafeApi.getInt(a + LINK) != LIVE) {
                continue;
            }
            int protocol = FlowKey.protocol(UnsafeApi.getLong(a + ORIG_LO));
            int state = UnsafeApi.getInt(a + STATE);
            long idle = nowMillis - UnsafeApi.getLongAcquire(null, a + LAST_SEEN);
            if (idle > timeouts.timeoutMillis(protocol, state)) {
                if (listener != null) {
                    listener.onExpire(this, e);
                }
                if (UnsafeApi.getInt(a + LINK) == LIVE) {
                    remove(e);
                    removed++;
                }
            }
        }
        expireCursor = cursor;
        if (tombstones > (slotMask + 1) >>> 4) {
            compactStep((int) Math.min(slotMask + 1L, Math.max(64L, maxVisits) * 4));
        }
        return removed;
    }

    // ------------------------------------------------------------------ any thread

    /**
     * Entry id for a key (either the original or the reply key of the entry), or {@link #NOT_FOUND}.
     * Allocation-free, any thread; never waits except for a miss that overlaps an index run rebuild
     * (see the class comment).
     */
    public int lookup(long hi, long lo) {
        checkOpen();
        for (int attempt = 0; ; attempt++) {
            int seq = (int) REBUILD_SEQ.getAcquire(this);
            if ((seq & 1) == 0) {
                int e = (int) probe(hi, lo);
                if (e >= 0) {
                    return e;
                }
                UnsafeApi.loadFence();
                if ((int) REBUILD_SEQ.getAcquire(this) == seq) {
                    return NOT_FOUND;
                }
            }
            if (attempt < SPINS_BEFORE_YIELD) {
                Thread.onSpinWait();
            } else {
                Thread.yield(); // the owner may be descheduled mid-rebuild on a busy machine
            }
        }
    }

    public long origHi(int e) {
        return UnsafeApi.getLongAcquire(null, entryAddress(e) + ORIG_HI);
    }

    public long origLo(int e) {
        return UnsafeApi.getLongAcquire(null, entryAddress(e) + ORIG_LO);
    }

    public long replyHi(int e) {
        return UnsafeApi.getLongAcquire(null, entryAddress(e) + REPLY_HI);
    }

    public long replyLo(int e) {
        return UnsafeApi.getLongAcquire(null, entryAddress(e) + REPLY_LO);
    }

    /** {@code nowMillis} passed to {@link #insert}. */
    public long created(int e) {
        return UnsafeApi.getLongAcquire(null, entryAddress(e) + CREATED);
    }

    public long lastSeen(int e) {
        return UnsafeApi.getLongAcquire(null, entryAddress(e) + LAST_SEEN);
    }

    /**
     * Sets lastSeen with a release store; any thread. The last store wins, so lastSeen can move
     * backwards when threads race; expiry tolerates that (it only delays or hastens by the race).
     */
    public void touch(int e, long nowMillis) {
        UnsafeApi.putLongRelease(null, entryAddress(e) + LAST_SEEN, nowMillis);
    }

    /** {@link ConnState} value. */
    public int state(int e) {
        return UnsafeApi.getIntAcquire(null, entryAddress(e) + STATE);
    }

    /** Owner thread. */
    public void state(int e, int s) {
        UnsafeApi.putIntRelease(null, entryAddress(e) + STATE, s);
    }

    /** Spare bits for the TCP tracker (or anything else); zero after insert. */
    public int flags(int e) {
        return UnsafeApi.getIntAcquire(null, entryAddress(e) + FLAGS);
    }

    /** Owner thread. */
    public void flags(int e, int f) {
        UnsafeApi.putIntRelease(null, entryAddress(e) + FLAGS, f);
    }

    /** Policy reference chosen by the pipeline; zero after insert. */
    public int policy(int e) {
        return UnsafeApi.getIntAcquire(null, entryAddress(e) + POLICY);
    }

    /** Owner thread. */
    public void policy(int e, int p) {
        UnsafeApi.putIntRelease(null, entryAddress(e) + POLICY, p);
    }

    /** Originating node's VTEP address (outer source IPv4); zero after insert. */
    public int vtep(int e) {
        return UnsafeApi.getIntAcquire(null, entryAddress(e) + VTEP);
    }

    /** Owner thread. */
    public void vtep(int e, int ipv4) {
        UnsafeApi.putIntRelease(null, entryAddress(e) + VTEP, ipv4);
    }

    /** Inner source MAC of the node's VXLAN device in the low 48 bits; zero after insert. */
    public long peerMac(int e) {
        return UnsafeApi.getLongAcquire(null, entryAddress(e) + PEER_MAC);
    }

    /** Owner thread. */
    public void peerMac(int e, long mac) {
        UnsafeApi.putLongRelease(null, entryAddress(e) + PEER_MAC, mac);
    }

    /** Adds one packet of {@code bytes} bytes to the direction's counters. Owner thread only. */
    public void count(int e, boolean reply, int bytes) {
        long a = entryAddress(e) + (reply ? 8 : 0);
        UnsafeApi.putLongRelease(null, a + PACKETS, UnsafeApi.getLong(a + PACKETS) + 1);
        UnsafeApi.putLongRelease(null, a + BYTES, UnsafeApi.getLong(a + BYTES) + (bytes & 0xffff_ffffL));
    }

    public long packets(int e, boolean reply) {
        return UnsafeApi.getLongAcquire(null, entryAddress(e) + PACKETS + (reply ? 8 : 0));
    }

    public long bytes(int e, boolean reply) {
        return UnsafeApi.getLongAcquire(null, entryAddress(e) + BYTES + (reply ? 8 : 0));
    }

    /**
     * Calls {@code visitor} for every live entry in id order. Control path; from another thread an
     * entry inserted or removed during the walk may or may not be visited.
     */
    public void forEach(EntryVisitor visitor) {
        checkOpen();
        int hw = (int) HIGH_WATER.getAcquire(this);
        for (int e = 0; e < hw; e++) {
            if (UnsafeApi.getIntAcquire(null, entryAddress(e) + LINK) == LIVE) {
                visitor.visit(this, e);
            }
        }
    }

    /** True if {@code entry} is a currently live id; any thread. */
    public boolean isLive(int entry) {
        return entry >= 0 && entry < highWater
                && UnsafeApi.getIntAcquire(null, entryAddress(entry) + LINK) == LIVE;
    }

    /**
     * Frees the native memory; idempotent. Call only after every thread has stopped using the table:
     * afterwards {@link #lookup}, {@link #insert}, {@link #remove}, {@link #expire} and
     * {@link #forEach} throw {@link IllegalStateException}, and the per-entry accessors (unchecked,
     * they run per packet) must not be called at all.
     */
    @Override
    public void close() {
        if (indexAddress != 0) {
            long index = indexAddress;
            long entries = entriesAddress;
            indexAddress = 0;
            entriesAddress = 0;
            SIZE.setRelease(this, 0);
            HIGH_WATER.setRelease(this, 0);
            UnsafeApi.freeMemory(index);
            UnsafeApi.freeMemory(entries);
        }
    }

    @Override
    public String toString() {
        return "ConnTable{size=" + size + ", capacity=" + maxEntries + ", slots=" + (slotMask + 1)
                + ", memoryBytes=" + memoryBytes() + '}';
    }

    // ------------------------------------------------------------------ test hooks

    /** Entry seqlock value (tests: tells a stable entry from one recycled during a read). */
    int sequence(int e) {
        return UnsafeApi.getIntVolatile(null, entryAddress(e) + SEQ);
    }

    /**
     * Like {@link #lookup} (without the rebuild retry) but also returns, in the high 32 bits, the
     * entry's seqlock value under which the key matched; the low 32 bits are the id or NOT_FOUND.
     */
    long probeWithSequence(long hi, long lo) {
        return probe(hi, lo);
    }

    /** Number of run rebuilds started so far. */
    int rebuilds() {
        return rebuildSeq >>> 1;
    }

    /** Rebuilds every run holding tombstones now. Owner thread. */
    void compactNow() {
        compactAll();
    }

    // ------------------------------------------------------------------ internals

    private void checkOpen() {
        if (indexAddress == 0) {
            throw new IllegalStateException("ConnTable is closed");
        }
    }

    private long entryAddress(int e) {
        return entriesAddress + (long) e * ENTRY_BYTES;
    }

    private long slotAddress(int i) {
        return indexAddress + ((long) i << 2);
    }

    private long hash(long hi, long lo) {
        long h = (hi ^ hashSeed) * 0x9E3779B97F4A7C15L + Long.rotateLeft(lo * 0xC2B2AE3D27D4EB4FL, 29);
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }

    private int home(long h) {
        return (int) h & slotMask;
    }

    private int tag(long h) {
        return (int) (h >>> 32) & tagMask;
    }

    /**
     * One probe sequence, no retry; any thread. Low 32 bits: entry id or {@link #NOT_FOUND}; high 32
     * bits: the entry's seqlock value under which the key matched.
     */
    private long probe(long hi, long lo) {
        long h = hash(hi, lo);
        int i = home(h);
        int tag = tag(h);
        for (int n = 0; n <= slotMask; n++) {
            int s = UnsafeApi.getIntAcquire(null, slotAddress(i));
            if (s == EMPTY) {
                return NOT_FOUND;
            }
            if ((s & tagMask) == tag && s != TOMBSTONE) {
                int e = (s & idMask) - ID_OFFSET;
                long seq = keyMatches(e, hi, lo);
                if (seq >= 0) {
                    return (seq << 32) | e;
                }
            }
            i = (i + 1) & slotMask;
        }
        return NOT_FOUND;
    }

    /**
     * Seqlock reader: the (unsigned) seq value if the entry stably holds {@code (hi, lo)} as one of
     * its keys, else -1.
     */
    private long keyMatches(int e, long hi, long lo) {
        long a = entryAddress(e);
        int seq = UnsafeApi.getIntAcquire(null, a + SEQ);
        if ((seq & 1) != 0) {
            return -1;
        }
        long oh = UnsafeApi.getLong(a + ORIG_HI);
        long ol = UnsafeApi.getLong(a + ORIG_LO);
        long rh = UnsafeApi.getLong(a + REPLY_HI);
        long rl = UnsafeApi.getLong(a + REPLY_LO);
        UnsafeApi.loadFence();
        if (UnsafeApi.getIntVolatile(null, a + SEQ) != seq) {
            return -1;
        }
        return (hi == oh && lo == ol) || (hi == rh && lo == rl) ? seq & 0xffff_ffffL : -1;
    }

    /** Writes a key that is known to be absent into the first EMPTY or TOMBSTONE slot of its path. */
    private void place(long hi, long lo, int e) {
        long h = hash(hi, lo);
        int i = home(h);
        for (int n = 0; n <= slotMask; n++) {
            int s = UnsafeApi.getInt(slotAddress(i));
            if (s == EMPTY || s == TOMBSTONE) {
                if (s == TOMBSTONE) {
                    tombstones--;
                }
                UnsafeApi.putIntRelease(null, slotAddress(i), tag(h) | (e + ID_OFFSET));
                return;
            }
            i = (i + 1) & slotMask;
        }
        throw new IllegalStateException("index has no free slot (corrupted)");
    }

    /** Deletes the slot of a present key of entry {@code e}. */
    private void unplace(long hi, long lo, int e) {
        long h = hash(hi, lo);
        int want = tag(h) | (e + ID_OFFSET);
        int i = home(h);
        for (int n = 0; n <= slotMask; n++) {
            int s = UnsafeApi.getInt(slotAddress(i));
            if (s == want) {
                // An identical slot value is either this key's or the other key of e with the same
                // tag on the same path; both get removed, so taking the first one is fine.
                if (UnsafeApi.getInt(slotAddress((i + 1) & slotMask)) == EMPTY) {
                    UnsafeApi.putIntRelease(null, slotAddress(i), EMPTY);
                    clearTombstonesBefore(i);
                } else {
                    UnsafeApi.putIntRelease(null, slotAddress(i), TOMBSTONE);
                    tombstones++;
                }
                return;
            }
            if (s == EMPTY) {
                break;
            }
            i = (i + 1) & slotMask;
        }
        throw new IllegalStateException("key of live entry " + e + " missing from index: " + FlowKey.toString(hi, lo));
    }

    /** Slot {@code i} just became EMPTY: tombstones directly before it guard nothing any more. */
    private void clearTombstonesBefore(int i) {
        int j = (i - 1) & slotMask;
        for (int n = 0; n < slotMask && UnsafeApi.getInt(slotAddress(j)) == TOMBSTONE; n++) {
            UnsafeApi.putIntRelease(null, slotAddress(j), EMPTY);
            tombstones--;
            j = (j - 1) & slotMask;
        }
    }

    /** Rebuilds every run of the index that holds tombstones. */
    private void compactAll() {
        int start = 0;
        while (UnsafeApi.getInt(slotAddress(start)) != EMPTY) {
            start++; // an EMPTY slot exists: at most 1/2 live + 1/4 tombstones
        }
        compactCursor = start;
        compactStep(slotMask + 1);
    }

    /**
     * Rebuilds the runs with tombstones among roughly the next {@code budget} slots after the
     * rolling cursor. Runs are delimited by EMPTY slots; a rebuild writes only inside its run, so the
     * delimiters stay EMPTY and the cursor can resume at one.
     */
    private void compactStep(int budget) {
        int slots = slotMask + 1;
        int i = compactCursor & slotMask;
        int scanned = 0;
        while (UnsafeApi.getInt(slotAddress(i)) != EMPTY) {
            i = (i + 1) & slotMask;
            if (++scanned >= slots) {
                return;
            }
        }
        int visited = 0;
        while (visited < budget && visited < slots && tombstones > 0) {
            i = (i + 1) & slotMask;
            visited++;
            if (UnsafeApi.getInt(slotAddress(i)) == EMPTY) {
                continue;
            }
            int runStart = i;
            int length = 0;
            boolean hasTombstone = false;
            int s;
            while ((s = UnsafeApi.getInt(slotAddress(i))) != EMPTY) {
                hasTombstone |= s == TOMBSTONE;
                length++;
                i = (i + 1) & slotMask;
            }
            visited += length;
            if (hasTombstone) {
                compactRun(runStart, length);
            }
        }
        compactCursor = i;
    }

    private void compactRun(int runStart, int length) {
        if (scratch.length < length) {
            scratch = new int[Math.max(length, scratch.length * 2)];
        }
        int[] ids = scratch;
        int n = 0;
        int removedTombstones = 0;
        for (int k = 0; k < length; k++) {
            int s = UnsafeApi.getInt(slotAddress((runStart + k) & slotMask));
            if (s == TOMBSTONE) {
                removedTombstones++;
            } else {
                ids[n++] = (s & idMask) - ID_OFFSET;
            }
        }
        Arrays.sort(ids, 0, n);
        int seq = rebuildSeq;
        REBUILD_SEQ.setRelease(this, seq + 1);
        // The slot stores below are releases, so any reader that sees one also sees the odd seq.
        for (int k = 0; k < length; k++) {
            UnsafeApi.putIntRelease(null, slotAddress((runStart + k) & slotMask), EMPTY);
        }
        tombstones -= removedTombstones;
        int previous = -1;
        for (int k = 0; k < n; k++) {
            int e = ids[k];
            if (e == previous) {
                continue;
            }
            previous = e;
            long a = entryAddress(e);
            // A key's slot is in this run exactly when its home is (runs are maximal).
            long oh = UnsafeApi.getLong(a + ORIG_HI);
            long ol = UnsafeApi.getLong(a + ORIG_LO);
            if (((home(hash(oh, ol)) - runStart) & slotMask) < length) {
                place(oh, ol, e);
            }
            long rh = UnsafeApi.getLong(a + REPLY_HI);
            long rl = UnsafeApi.getLong(a + REPLY_LO);
            if (((home(hash(rh, rl)) - runStart) & slotMask) < length) {
                place(rh, rl, e);
            }
        }
        REBUILD_SEQ.setRelease(this, seq + 2);
    }
}
