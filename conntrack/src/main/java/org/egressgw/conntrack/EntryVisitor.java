package org.egressgw.conntrack;

/** Receives live entries from {@link ConnTable#forEach} (control path: dumps, metrics, policy changes). */
@FunctionalInterface
public interface EntryVisitor {
    /** @param entry id of a live entry; its fields may change concurrently unless called on the owner thread */
    void visit(ConnTable table, int entry);
}
