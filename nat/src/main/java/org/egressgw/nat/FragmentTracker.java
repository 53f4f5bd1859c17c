package org.egressgw.nat;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.egressgw.packet.Ipv4;

/**
 * Remembers, per IPv4 datagram, how its later fragments must be translated, so that they follow
 * the first one without reassembly (tracking by IP ID, as production NATs do).
 *
 * <h2>How the datapath uses it</h2>
 * <ul>
 * <li>The <b>first fragment</b> (offset 0, MF set) carries the L4 header: it is looked up in conntrack
 * and translated like any packet. The datapath then calls {@link #record} with the fragment's
 * original (src, dst, protocol, IP ID) as received and what the rest of the datagram needs: the new
 * address (egress IP on the request path, pod IP on the reply path) and, for replies, the VTEP,
 * node MAC and flow hash of the outer header.</li>
 * <li>A <b>later fragment</b> (offset &gt; 0) carries no ports. The datapath calls {@link #lookup} with
 * its (src, dst, protocol, IP ID) and rewrites only the IP address
 * ({@link #rewriteSourceAddress}/{@link #rewriteDestinationAddress}).</li>
 * <li>A later fragment that arrives <b>before its first fragment</b> finds nothing: the datapath drops
 * and counts it (no buffering). Senders normally emit fragments in order and paths rarely reorder
 * them; the sender's retransmission (TCP) or the application (UDP) recovers, exactly as when a
 * fragment is lost.</li>
 * </ul>
 *
 * <h2>Table</h2>
 * Fixed size, primitive arrays: {@code capacity} records kept in a ring in the order they were first
 * recorded, and an open-addressing index (linear probing, backward-shift deletion, at most half
 * full) from the key to the record. Recording a key that is already present (a duplicated first
 * fragment) updates it in place and refreshes its time without moving it in the ring. About 48 bytes
 * per entry (40 in the record, 8 in the index).
 * <ul>
 * <li><b>TTL</b>: {@link #lookup} ignores entries older than {@code ttlMillis} (an IP ID is reused
 * after 65536 datagrams; the TTL keeps a stale entry from steering an unrelated datagram).</li>
 * <li><b>Expiry</b>: {@link #expire} frees entries from the oldest while they are expired; it stops
 * at the first live one, so an expired entry behind a refreshed older one waits until that one
 * expires (it is never returned meanwhile).</li>
 * <li><b>Full</b>: {@link #record} of a new key reuses the entry recorded first, expired or not: it
 * is the one most likely to be complete already. Reusing a live entry is counted
 * ({@link #evictions()}); its remaining fragments are then dropped as out of order.</li>
 * </ul>
 *
 * <h2>Concurrency</h2>
 * Owner thread only; no method is safe to call concurrently with another. No method allocates.
 */
public final class FragmentTracker {

    /** What {@link #lookup} found; preallocate one and reuse it. */
    public static final class Result {
        /** The address to write: source (request path) or destination (reply path). */
        public int newAddress;
        /** Reply path: the originating node's VTEP address for the outer header. */
        public int vtep;
        /** Reply path: the node's inner MAC in the low 48 bits. */
        public long peerMac;
        /** Reply path: the flow hash for the outer UDP source port. */
        public int flowHash;
    }

    private final int capacity;
    private final long ttlMillis;

    private final long[] keyAddresses;
    private final int[] keyRest;
    private final int[] newAddress;
    private final int[] vtep;
    private final long[] peerMac;
    private final int[] flowHash;
    private final long[] recorded;

    private final int[] index;
    private final int indexMask;

    /** Ring of records in first-record order: live records are [tail, tail + size) modulo capacity. */
    private int tail;
    private int size;
    private long evictions;

    /**
     * @param capacity entries tracked at once
     * @param ttlMillis how long after its first fragment a datagram's later fragments are accepted
     * @throws IllegalArgumentException naming the offending value
     */
    public FragmentTracker(int capacity, long ttlMillis) {
        if (capacity < 1 || capacity > 1 << 26) {
            throw new IllegalArgumentException("fragment tracker capacity must be within 1.." + (1 << 26) + ": " + capacity);
        }
        if (ttlMillis < 1) {
            throw new IllegalArgumentException("fragment ttlMillis must be positive: " + ttlMillis);
        }
        this.capacity = capacity;
        this.ttlMillis = ttlMillis;
        keyAddresses = new long[capacity];
        keyRest = new int[capacity];
        newAddress = new int[capacity];
        vtep = new int[capacity];
        peerMac = new long[capacity];
        flowHash = new int[capacity];
        recorded = new long[capacity];
        int slots = Integer.highestOneBit(capacity * 2 - 1) << 1;
        index = new int[Math.max(slots, 2)];
        indexMask = index.length - 1;
    }

    /**
     * Records how the later fragments of a datagram are to be translated, keyed by its first
     * fragment's original header fields (as received, before translation).
     *
     * @param newAddress the egress IP (request path) or pod IP (reply path)
     * @param vtep reply path: the node's VTEP address (0 on the request path)
     * @param peerMac reply path: the node's inner MAC (0 on the request path)
     * @param flowHash reply path: the flow hash of the outer header (0 on the request path)
     */
    public void record(int src, int dst, int protocol, int ipId, int newAddress, int vtep, long peerMac, int flowHash,
            long nowMillis) {
        long addresses = addresses(src, dst);
        int rest = rest(protocol, ipId);
        int r = find(addresses, rest);
        if (r < 0) {
            if (size == capacity) {
                if (nowMillis - recorded[tail] <= ttlMillis) {
                    evictions++;
                }
                removeOldest();
            }
            r = tail + size;
            if (r >= capacity) {
                r -= capacity;
            }
            size++;
            keyAddresses[r] = addresses;
            keyRest[r] = rest;
            insertIndex(r);
        }
        this.newAddress[r] = newAddress;
        this.vtep[r] = vtep;
        this.peerMac[r] = peerMac;
        this.flowHash[r] = flowHash;
        recorded[r] = nowMillis;
    }

    /**
     * Finds how a later fragment is to be translated.
     *
     * @return true and {@code out} filled, or false if the datagram is unknown or its entry is older
     *     than the TTL ({@code out} is then untouched)
     */
    public boolean lookup(int src, int dst, int protocol, int ipId, long nowMillis, Result out) {
        int r = find(addresses(src, dst), rest(protocol, ipId));
        if (r < 0 || nowMillis - recorded[r] > ttlMillis) {
            return false;
        }
        out.newAddress = newAddress[r];
        out.vtep = vtep[r];
        out.peerMac = peerMac[r];
        out.flowHash = flowHash[r];
        return true;
    }

    /** Frees expired entries, oldest first, stopping at the first unexpired one (see class comment). */
    public void expire(long nowMillis) {
        while (size > 0 && nowMillis - recorded[tail] > ttlMillis) {
            removeOldest();
        }
    }

    /** Entries held (expired ones not yet freed included). */
    public int size() {
        return size;
    }

    public int capacity() {
        return capacity;
    }

    /** Unexpired entries reused because the table was full. */
    public long evictions() {
        return evictions;
    }

    /** True for the fragment that carries the L4 header of a fragmented datagram: offset 0, MF set. */
    public static boolean isFirstFragment(DirectBuffer b, int ipOff) {
        return (Ipv4.flagsAndFragment(b, ipOff) & (Ipv4.FLAG_MF | Ipv4.FRAGMENT_OFFSET_MASK)) == Ipv4.FLAG_MF;
    }

    /** True for a fragment without L4 header: offset above 0. */
    public static boolean isLaterFragment(DirectBuffer b, int ipOff) {
        return (Ipv4.flagsAndFragment(b, ipOff) & Ipv4.FRAGMENT_OFFSET_MASK) != 0;
    }

    /**
     * Request path, later fragment: sets the source address and updates only the IPv4 header
     * checksum.
     *
     * <p>Why no L4 checksum is touched: a TCP or UDP checksum (and an ICMP one) covers the whole
     * reassembled datagram, plus for TCP/UDP a pseudo-header built from the reassembled IP header's
     * addresses, but the checksum field itself lies in the first fragment only. The receiver checks
     * it once, after reassembly. The first fragment's checksum was already updated incrementally
     * (RFC 1624) for the complete change — the pseudo-header address and the port — and the
     * payload bytes of the later fragments do not change, so the reassembled datagram sums
     * correctly. A later fragment's IP header is not part of any L4 sum; it only has to carry the
     * same addresses as the first so that the receiver reassembles them together. (This is also why
     * the first fragment's L4 checksum must be updated incrementally and never recomputed from its
     * own bytes, which are only part of the datagram.)
     */
    public static void rewriteSourceAddress(MutableDirectBuffer b, int ipOff, int newSrc) {
        Ipv4.rewriteSrcAddress(b, ipOff, newSrc);
    }

    /**
     * Reply path, later fragment: sets the destination address and updates only the IPv4 header
     * checksum; see {@link #rewriteSourceAddress} for why that is complete.
     */
    public static void rewriteDestinationAddress(MutableDirectBuffer b, int ipOff, int newDst) {
        Ipv4.rewriteDstAddress(b, ipOff, newDst);
    }

    // ---- index ----

    private static long addresses(int src, int dst) {
        return ((long) src << 32) | (dst & 0xffff_ffffL);
    }

    private static int rest(int protocol, int ipId) {
        return ((protocol & 0xff) << 16) | (ipId & 0xffff);
    }

    private int home(long addresses, int rest) {
        long z = addresses * 0x9E3779B97F4A7C15L + rest;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return (int) (z ^ (z >>> 31)) & indexMask;
    }

    private int find(long addresses, int rest) {
        for (int s = home(addresses, rest); ; s = (s + 1) & indexMask) {
            int v = index[s];
            if (v == 0) {
                return -1;
            }
            int r = v - 1;
            if (keyAddresses[r] == addresses && keyRest[r] == rest) {
                return r;
            }
        }
    }

    private void insertIndex(int r) {
        int s = home(keyAddresses[r], keyRest[r]);
        while (index[s] != 0) {
            s = (s + 1) & indexMask;
        }
        index[s] = r + 1;
    }

    private void removeOldest() {
        int r = tail;
        int s = home(keyAddresses[r], keyRest[r]);
        while (index[s] != r + 1) {
            s = (s + 1) & indexMask;
        }
        int hole = s;
        for (int j = (hole + 1) & indexMask; index[j] != 0; j = (j + 1) & indexMask) {
            int other = index[j] - 1;
            int h = home(keyAddresses[other], keyRest[other]);
            boolean homeBetween = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j);
            if (!homeBetween) {
                index[hole] = index[j];
                hole = j;
            }
        }
        index[hole] = 0;
        tail = tail + 1 == capacity ? 0 : tail + 1;
        size--;
    }
}
