package org.egressgw.nat;

import java.util.Arrays;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.conntrack.FlowKey;

/**
 * Picks the translated source port (or ICMP echo identifier) for a new connection and keeps count of
 * the ports in use per destination, the number an operator alerts on before traffic silently fails.
 *
 * <h2>What "free" means</h2>
 * A port is free for a destination (egress IP, protocol, remote IP, remote port; ICMP echo uses
 * remote port 0) exactly when no connection's reply key (remote → egressIp, protocol, remotePort,
 * port, reply) is in the {@link ConnTable}. The table stays the authority: every port handed out is
 * checked against it, so the allocator never returns a port whose reply key exists.
 *
 * <h2>Two regimes per destination</h2>
 * <ul>
 * <li><b>Light</b> (at most {@value #LIGHT_LIMIT} ports in use): as Cilium, keep the pod's own port
 * when it lies in the range and is free, otherwise probe up to {@code maxTries} consecutive ports
 * (wrapping) from a random start, one table lookup each, and give up with {@link #EXHAUSTED}. The
 * ports handed out are remembered in a short per-destination list.</li>
 * <li><b>Heavy</b> (more than {@value #LIGHT_LIMIT} in use): the destination gets a bitmap of the
 * whole range (1 bit per port, built from its list), maintained by {@link #allocate} and
 * {@link #release}. A free port is found from a random start by scanning 64-bit words, so
 * {@link #EXHAUSTED} means every port of the range is really in use: with 32768-65535 exactly 32768
 * concurrent connections to one destination succeed. Probing would fail long before that, when
 * {@code maxTries} consecutive ports happen to be taken. The bitmap is kept until the destination's
 * count drops to 0, so a destination hovering around the threshold does not rebuild it.</li>
 * </ul>
 * Whatever the bitmap says, the chosen port is also looked up in the table; a port the bitmap
 * thought free but the table holds (a connection the allocator never saw, see below) is marked used
 * and counted in {@link #repairs()} — 0 in normal operation.
 *
 * <h2>Contract with the datapath</h2>
 * {@link #allocate} counts the port as in use immediately. The caller must then insert the
 * connection, or, if the insert fails, call {@link #release} with the same arguments; and it must
 * call {@link #release} whenever a connection's entry is removed (expiry, RST, eviction). A release
 * for a port the allocator does not hold for that destination is ignored, so releasing every removed
 * entry is always safe.
 *
 * <h2>Bounds and memory</h2>
 * At most {@code maxDestinations} destinations are tracked at once (records come from a preallocated
 * pool; a destination whose count drops to 0 returns its record), and at most
 * {@value #MAX_EGRESS_IPS} distinct egress IPs (they are never forgotten; egress IPs come from
 * configuration). When either is exhausted, a new destination is served by probing only, untracked:
 * its ports are correct (the table decides) but it is missing from {@link #inUse} and
 * {@link #busiest}; {@link #untrackedAllocations()} counts these. A record costs about 170 bytes
 * (64-port list, key, count, two index slots): 11 MiB for 65536 destinations, preallocated. Bitmaps
 * ({@code rangeSize / 8} bytes, 4 KiB for the default range) are allocated lazily the first time
 * that many destinations are heavy at once and recycled afterwards; since a heavy destination holds
 * more than 64 live connections, their number is bounded by the table's capacity / 65.
 *
 * <h2>Concurrency</h2>
 * Owner thread only: {@link #allocate}, {@link #release}, {@link #inUse} and {@link #busiest} all read
 * and write unsynchronised state (records, random state). The allocation path allocates no memory
 * except a bitmap when the recycled pool is empty.
 */
public final class PortAllocator {
    /** Returned when no free port was found. */
    public static final int EXHAUSTED = -1;
    /** Probes per allocation unless configured otherwise (Cilium's default). */
    public static final int DEFAULT_MAX_TRIES = 32;
    /** Lowest translated port unless configured otherwise (Cilium's range with kube-proxy replacement). */
    public static final int DEFAULT_LOW = 32768;
    /** Highest translated port unless configured otherwise. */
    public static final int DEFAULT_HIGH = 65535;
    /** Destinations tracked at once unless configured otherwise. */
    public static final int DEFAULT_MAX_DESTINATIONS = 65536;
    /** Ports in use up to which a destination is served by probing; above it, by its bitmap. */
    public static final int LIGHT_LIMIT = 64;
    /** Distinct egress IPs that can be tracked. */
    public static final int MAX_EGRESS_IPS = 255;

    /** Visits one destination in {@link #busiest}. */
    public interface DestinationVisitor {
        /**
         * @param remotePort 0 for ICMP echo
         * @param capacity the size of the port range
         */
        void visit(int egressIp, int protocol, int remoteIp, int remotePort, int inUse, int capacity);
    }

    private static final int NO_BITMAP = -1;

    private final int low;
    private final int size;
    private final int maxTries;
    private final int maxDestinations;
    private final int bitmapWords;
    private long randomState;

    // Egress IP registry: open addressing, egress IP -> index + 1 (0 = empty slot).
    private final int[] egressSlotIp = new int[512];
    private final int[] egressSlotIndex = new int[512];
    private final int[] egressIpByIndex = new int[MAX_EGRESS_IPS];
    private final long[] inUseByEgress = new long[MAX_EGRESS_IPS];
    private int egressCount;

    // Destination map: open addressing with linear probing and backward-shift deletion, key (never 0)
    // -> record id; key 0 marks an empty slot.
    private final long[] slotKey;
    private final int[] slotRecord;
    private final int slotMask;

    // Records (struct of arrays), free ones chained through recordNext.
    private final long[] recordKey;
    private final int[] recordCount;
    private final int[] recordBitmap;
    private final int[] recordNext;
    private final char[] recordPorts;
    private int freeRecord;
    private int liveRecords;

    // Bitmaps: created lazily, recycled through a stack of free ids.
    private long[][] bitmaps = new long[4][];
    private int bitmapCount;
    private int[] freeBitmaps = new int[4];
    private int freeBitmapCount;

    private long untracked;
    private long repairs;

    /** Like the five-argument constructor with {@link #DEFAULT_MAX_DESTINATIONS}. */
    public PortAllocator(int low, int high, int maxTries, long seed) {
        this(low, high, maxTries, seed, DEFAULT_MAX_DESTINATIONS);
    }

    /**
     * @param low first port of the range, at least 1
     * @param high last port of the range, at most 65535
     * @param maxTries probes per allocation while a destination is light (see class comment)
     * @param seed random seed; any value, small ones included, gives a well-spread sequence
     * @param maxDestinations destinations tracked at once (preallocated)
     * @throws IllegalArgumentException naming the offending value
     */
    public PortAllocator(int low, int high, int maxTries, long seed, int maxDestinations) {
        if (low < 1 || high > 65535) {
            throw new IllegalArgumentException("port range " + low + "-" + high + " is not within 1-65535");
        }
        if (low > high) {
            throw new IllegalArgumentException("port range " + low + "-" + high + ": low is above high");
        }
        if (maxTries < 1) {
            throw new IllegalArgumentException("maxTries must be positive: " + maxTries);
        }
        if (maxDestinations < 1 || maxDestinations > 1 << 24) {
            throw new IllegalArgumentException("maxDestinations must be within 1.." + (1 << 24) + ": " + maxDestinations);
        }
        this.low = low;
        this.size = high - low + 1;
        this.maxTries = maxTries;
        this.maxDestinations = maxDestinations;
        this.bitmapWords = (size + 63) >>> 6;
        // splitmix64 of the seed, so seeds 0, 1, 2... start from unrelated states
        this.randomState = mix64(seed + 0x9E3779B97F4A7C15L);

        int slots = Integer.highestOneBit(maxDestinations * 2 - 1) << 1;
        slotKey = new long[slots];
        slotRecord = new int[slots];
        slotMask = slots - 1;
        recordKey = new long[maxDestinations];
        recordCount = new int[maxDestinations];
        recordBitmap = new int[maxDestinations];
        recordNext = new int[maxDestinations];
        recordPorts = new char[maxDestinations * LIGHT_LIMIT];
        for (int r = 0; r < maxDestinations; r++) {
            recordNext[r] = r + 1 < maxDestinations ? r + 1 : -1;
            recordBitmap[r] = NO_BITMAP;
        }
        freeRecord = 0;
    }

    /**
     * Picks a free port for a new connection and counts it as in use (see the class comment for the
     * caller's side of the contract).
     *
     * @param remotePort the remote port, or 0 for ICMP echo (whose reply tuple has no remote port)
     * @param preferredPort the pod's own port, kept when in range and free
     * @return a free port, or {@link #EXHAUSTED}
     */
    public int allocate(ConnTable table, int protocol, int egressIp, int remoteIp, int remotePort, int preferredPort) {
        long hi = FlowKey.hi(remoteIp, egressIp);
        int r = findOrCreate(egressIp, protocol, remoteIp, remotePort);
        if (r >= 0 && recordBitmap[r] != NO_BITMAP) {
            return allocateHeavy(table, r, hi, protocol, remotePort, preferredPort);
        }
        if (r < 0) {
            untracked++;
        }
        int port = EXHAUSTED;
        if (preferredPort >= low && preferredPort < low + size && freeLight(table, r, hi, protocol, remotePort, preferredPort)) {
            port = preferredPort;
        } else {
            int offset = randomOffset();
            int tries = Math.min(maxTries, size);
            for (int i = 0; i < tries; i++) {
                int p = low + offset;
                if (freeLight(table, r, hi, protocol, remotePort, p)) {
                    port = p;
                    break;
                }
                offset = offset + 1 == size ? 0 : offset + 1;
            }
        }
        if (r >= 0) {
            if (port != EXHAUSTED) {
                takeLight(r, port);
            } else if (recordCount[r] == 0) {
                freeRecord(r);
            }
        }
        return port;
    }

    /**
     * Counts {@code port} as in use for this destination without choosing it: a connection that exists already
     * (installed from a peer's copy of the table, or found mid-stream) takes exactly this port. The caller inserts
     * the entry and later releases the port as usual. Ports outside the range are not the allocator's to track.
     *
     * @return false if the allocator already holds that port for that destination, or keeps no record (its
     *     destination pool is exhausted): nothing was changed
     */
    public boolean reserve(int protocol, int egressIp, int remoteIp, int remotePort, int port) {
        if (port < low || port >= low + size) {
            return false;
        }
        int r = findOrCreate(egressIp, protocol, remoteIp, remotePort);
        if (r < 0) {
            untracked++;
            return false;
        }
        if (recordBitmap[r] != NO_BITMAP) {
            long[] words = bitmaps[recordBitmap[r]];
            int i = port - low;
            if ((words[i >>> 6] & (1L << i)) != 0) {
                return false;
            }
            markHeavy(r, words, i);
            return true;
        }
        if (holdsLight(r, port)) {
            return false;
        }
        takeLight(r, port);
        return true;
    }

    /**
     * The datapath's notice that the connection holding {@code port} for this destination is gone
     * (its entry was removed, or its insert failed). Ignored if the allocator does not hold that port
     * for that destination.
     */
    public void release(int protocol, int egressIp, int remoteIp, int remotePort, int port) {
        int r = find(egressIp, protocol, remoteIp, remotePort);
        if (r < 0 || port < low || port >= low + size) {
            return;
        }
        int bm = recordBitmap[r];
        if (bm != NO_BITMAP) {
            int i = port - low;
            long[] words = bitmaps[bm];
            long bit = 1L << i;
            if ((words[i >>> 6] & bit) == 0) {
                return;
            }
            words[i >>> 6] &= ~bit;
        } else {
            int base = r * LIGHT_LIMIT;
            int n = recordCount[r];
            int k = 0;
            while (k < n && recordPorts[base + k] != port) {
                k++;
            }
            if (k == n) {
                return;
            }
            recordPorts[base + k] = recordPorts[base + n - 1];
        }
        recordCount[r]--;
        inUseByEgress[egressIndexOfKey(recordKey[r])]--;
        if (recordCount[r] == 0) {
            freeRecord(r);
        }
    }

    /** Ports in use for one destination (0 if untracked). Owner thread. */
    public int inUse(int protocol, int egressIp, int remoteIp, int remotePort) {
        int r = find(egressIp, protocol, remoteIp, remotePort);
        return r < 0 ? 0 : recordCount[r];
    }

    /** Ports in use over all destinations of one egress IP. Owner thread. */
    public long inUse(int egressIp) {
        int idx = egressIndex(egressIp, false);
        return idx < 0 ? 0 : inUseByEgress[idx];
    }

    /**
     * Visits the {@code n} destinations with the most ports in use, most first (ties in a fixed but
     * unspecified order). Control path: allocates, walks every tracked destination; owner thread.
     */
    public void busiest(int n, DestinationVisitor visitor) {
        if (n <= 0 || liveRecords == 0) {
            return;
        }
        long[] order = new long[liveRecords];
        int k = 0;
        for (int s = 0; s <= slotMask; s++) {
            if (slotKey[s] != 0) {
                int r = slotRecord[s];
                // count descending (negated), then record id for a stable order
                order[k++] = ((long) (Integer.MAX_VALUE - recordCount[r]) << 32) | r;
            }
        }
        Arrays.sort(order, 0, k);
        for (int i = 0; i < Math.min(n, k); i++) {
            int r = (int) order[i];
            long key = recordKey[r];
            visitor.visit(egressIpByIndex[egressIndexOfKey(key)], (int) (key >>> 48) & 0xff, (int) key,
                    (int) (key >>> 32) & 0xffff, recordCount[r], size);
        }
    }

    public int low() {
        return low;
    }

    public int high() {
        return low + size - 1;
    }

    /** Ports in the range: the capacity of every destination. */
    public int rangeSize() {
        return size;
    }

    /** Destinations tracked now. */
    public int destinations() {
        return liveRecords;
    }

    /** Destinations whose bitmap is in use now (heavy ones). */
    public int heavyDestinations() {
        return bitmapCount - freeBitmapCount;
    }

    /** Allocations served untracked because the destination or egress-IP pool was full. */
    public long untrackedAllocations() {
        return untracked;
    }

    /**
     * Ports the bitmap or list held as free that the table held as used, found and corrected during
     * allocation. Non-zero only if connections were inserted without going through {@link #allocate}
     * (or while their destination was untracked).
     */
    public long repairs() {
        return repairs;
    }

    // ---- light regime ----

    private boolean freeLight(ConnTable table, int r, long hi, int protocol, int remotePort, int port) {
        if (table.lookup(hi, FlowKey.lo(protocol, remotePort, port, true)) != ConnTable.NOT_FOUND) {
            return false;
        }
        if (r < 0) {
            return true;
        }
        // allocated but its entry not (yet) inserted: still ours
        return !holdsLight(r, port);
    }

    /** Whether light record {@code r} lists {@code port}. */
    private boolean holdsLight(int r, int port) {
        int base = r * LIGHT_LIMIT;
        for (int k = recordCount[r] - 1; k >= 0; k--) {
            if (recordPorts[base + k] == port) {
                return true;
            }
        }
        return false;
    }

    private void takeLight(int r, int port) {
        int n = recordCount[r];
        if (n < LIGHT_LIMIT) {
            recordPorts[r * LIGHT_LIMIT + n] = (char) port;
        } else {
            // the 65th port: from now on the destination is heavy
            int bm = acquireBitmap();
            long[] words = bitmaps[bm];
            int base = r * LIGHT_LIMIT;
            for (int k = 0; k < n; k++) {
                int i = recordPorts[base + k] - low;
                words[i >>> 6] |= 1L << i;
            }
            int i = port - low;
            words[i >>> 6] |= 1L << i;
            recordBitmap[r] = bm;
        }
        recordCount[r] = n + 1;
        inUseByEgress[egressIndexOfKey(recordKey[r])]++;
    }

    // ---- heavy regime ----

    private int allocateHeavy(ConnTable table, int r, long hi, int protocol, int remotePort, int preferredPort) {
        long[] words = bitmaps[recordBitmap[r]];
        if (preferredPort >= low && preferredPort < low + size) {
            int i = preferredPort - low;
            if ((words[i >>> 6] & (1L << i)) == 0 && claimHeavy(table, r, words, hi, protocol, remotePort, i)) {
                return preferredPort;
            }
        }
        int start = randomOffset();
        int w = start >>> 6;
        // first pass over the start word skips the bits below the start; the last pass (i == n)
        // comes back to it for those
        long used = words[w] | ((1L << start) - 1);
        for (int pass = 0; pass <= bitmapWords; pass++) {
            long free = ~used;
            while (free != 0) {
                int i = (w << 6) + Long.numberOfTrailingZeros(free);
                if (claimHeavy(table, r, words, hi, protocol, remotePort, i)) {
                    return low + i;
                }
                free &= free - 1;
            }
            w = w + 1 == bitmapWords ? 0 : w + 1;
            used = words[w];
        }
        return EXHAUSTED;
    }

    /** Marks bit {@code i} used; true if the table agrees it was free, false after a repair. */
    private boolean claimHeavy(ConnTable table, int r, long[] words, long hi, int protocol, int remotePort, int i) {
        markHeavy(r, words, i);
        if (table.lookup(hi, FlowKey.lo(protocol, remotePort, low + i, true)) == ConnTable.NOT_FOUND) {
            return true;
        }
        // held by a connection we never saw: keep it marked; its release will clear it
        repairs++;
        return false;
    }

    /** Marks bit {@code i} of heavy record {@code r} used and counts it. */
    private void markHeavy(int r, long[] words, int i) {
        words[i >>> 6] |= 1L << i;
        recordCount[r]++;
        inUseByEgress[egressIndexOfKey(recordKey[r])]++;
    }

    private int acquireBitmap() {
        if (freeBitmapCount > 0) {
            int bm = freeBitmaps[--freeBitmapCount];
            long[] words = bitmaps[bm];
            Arrays.fill(words, 0L);
            markTail(words);
            return bm;
        }
        if (bitmapCount == bitmaps.length) {
            bitmaps = Arrays.copyOf(bitmaps, bitmapCount * 2);
            freeBitmaps = Arrays.copyOf(freeBitmaps, bitmapCount * 2);
        }
        long[] words = new long[bitmapWords];
        markTail(words);
        bitmaps[bitmapCount] = words;
        return bitmapCount++;
    }

    /** Bits past the end of the range read as used, so the scan never returns them. */
    private void markTail(long[] words) {
        int tail = size & 63;
        if (tail != 0) {
            words[bitmapWords - 1] = -1L << tail;
        }
    }

    // ---- records and the destination map ----

    /**
     * Key layout: bits 63..56 egress index + 1 (so never 0), 55..48 protocol, 47..32 remote port,
     * 31..0 remote IP.
     */
    private static long key(int egressIndex, int protocol, int remoteIp, int remotePort) {
        return ((long) (egressIndex + 1) << 56) | ((long) (protocol & 0xff) << 48)
                | ((long) (remotePort & 0xffff) << 32) | (remoteIp & 0xffff_ffffL);
    }

    private static int egressIndexOfKey(long key) {
        return (int) (key >>> 56) - 1;
    }

    private int find(int egressIp, int protocol, int remoteIp, int remotePort) {
        int idx = egressIndex(egressIp, false);
        if (idx < 0) {
            return -1;
        }
        long k = key(idx, protocol, remoteIp, remotePort);
        for (int s = (int) mix64(k) & slotMask; ; s = (s + 1) & slotMask) {
            long sk = slotKey[s];
            if (sk == k) {
                return slotRecord[s];
            }
            if (sk == 0) {
                return -1;
            }
        }
    }

    /** The destination's record, a new one if there was none, or -1 if a pool is exhausted. */
    private int findOrCreate(int egressIp, int protocol, int remoteIp, int remotePort) {
        int idx = egressIndex(egressIp, true);
        if (idx < 0) {
            return -1;
        }
        long k = key(idx, protocol, remoteIp, remotePort);
        int s = (int) mix64(k) & slotMask;
        for (; ; s = (s + 1) & slotMask) {
            long sk = slotKey[s];
            if (sk == k) {
                return slotRecord[s];
            }
            if (sk == 0) {
                break;
            }
        }
        int r = freeRecord;
        if (r < 0) {
            return -1;
        }
        freeRecord = recordNext[r];
        recordKey[r] = k;
        recordCount[r] = 0;
        recordBitmap[r] = NO_BITMAP;
        slotKey[s] = k;
        slotRecord[s] = r;
        liveRecords++;
        return r;
    }

    private void freeRecord(int r) {
        long k = recordKey[r];
        int s = (int) mix64(k) & slotMask;
        while (slotKey[s] != k) {
            s = (s + 1) & slotMask;
        }
        // backward-shift deletion: move later keys of the run into the hole when their home slot
        // does not lie cyclically in (hole, their slot]
        int hole = s;
        for (int j = (hole + 1) & slotMask; slotKey[j] != 0; j = (j + 1) & slotMask) {
            int home = (int) mix64(slotKey[j]) & slotMask;
            boolean homeBetween = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
            if (!homeBetween) {
                slotKey[hole] = slotKey[j];
                slotRecord[hole] = slotRecord[j];
                hole = j;
            }
        }
        slotKey[hole] = 0;
        if (recordBitmap[r] != NO_BITMAP) {
            freeBitmaps[freeBitmapCount++] = recordBitmap[r];
            recordBitmap[r] = NO_BITMAP;
        }
        recordNext[r] = freeRecord;
        freeRecord = r;
        liveRecords--;
    }

    /** The egress IP's index, registering it if asked and there is room; -1 otherwise. */
    private int egressIndex(int egressIp, boolean register) {
        int mask = egressSlotIp.length - 1;
        for (int s = (int) mix64(egressIp) & mask; ; s = (s + 1) & mask) {
            int v = egressSlotIndex[s];
            if (v == 0) {
                if (!register || egressCount == MAX_EGRESS_IPS) {
                    return -1;
                }
                egressSlotIp[s] = egressIp;
                egressSlotIndex[s] = egressCount + 1;
                egressIpByIndex[egressCount] = egressIp;
                return egressCount++;
            }
            if (egressSlotIp[s] == egressIp) {
                return v - 1;
            }
        }
    }

    private int randomOffset() {
        long x = mix64(randomState += 0x9E3779B97F4A7C15L);
        // Lemire's multiply-shift: uniform enough over at most 65535 values, no division
        return (int) (((x >>> 32) * size) >>> 32);
    }

    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
