package org.egressgw.conntrack;

/**
 * Early drop, as Linux's conntrack does when its table is full: look at up to {@link #DEFAULT_SCAN} entries from
 * a rolling cursor and evict one that never saw a reply (a SYN, or a UDP or ICMP flow nobody answered), so a
 * flood of unanswered new flows cannot lock out new legitimate ones. An established connection is never evicted.
 *
 * <p>Threading: the table's owner thread only (it removes entries).
 */
public final class UnrepliedEviction {
    /** Entries a full table scans for one to evict. */
    public static final int DEFAULT_SCAN = 64;

    private final int scan;
    private int cursor;

    public UnrepliedEviction() {
        this(DEFAULT_SCAN);
    }

    /** @param scan entries looked at per attempt, at least 1 */
    public UnrepliedEviction(int scan) {
        if (scan < 1) {
            throw new IllegalArgumentException("scan must be at least 1, not " + scan);
        }
        this.scan = scan;
    }

    /**
     * Evicts one unreplied entry of {@code table} if the next {@code scan} entries hold one; {@code beforeRemove}
     * sees it first (to release its NAT port).
     *
     * @return true if an entry was removed
     */
    public boolean evictOne(ConnTable table, ExpiryListener beforeRemove) {
        int capacity = table.capacity();
        for (int i = 0; i < scan; i++) {
            int e = cursor;
            cursor = cursor + 1 == capacity ? 0 : cursor + 1;
            if (table.isLive(e) && unreplied(table, e)) {
                beforeRemove.onExpire(table, e);
                table.remove(e);
                return true;
            }
        }
        return false;
    }

    private static boolean unreplied(ConnTable table, int e) {
        int st = table.state(e);
        return st == ConnState.TCP_SYN_SENT || st == ConnState.UDP_UNREPLIED
                || (st == ConnState.ICMP && table.packets(e, true) == 0);
    }
}
