package org.egressgw.conntrack;

/**
 * Told about an entry just before {@link ConnTable#expire} removes it, while all of its fields are
 * still readable (for example to release its NAT port or count it in metrics). Runs on the owner
 * thread; it must not insert into or remove from the table.
 */
@FunctionalInterface
public interface ExpiryListener {
    /** @param entry id of the entry about to be removed; valid only during this call */
    void onExpire(ConnTable table, int entry);
}
