package org.egressgw.conntrack;

/**
 * Idle timeout of a connection-tracking entry, chosen from its IP protocol and {@link ConnState}.
 * Called by {@link ConnTable#expire} on the owner thread for every visited entry, so implementations
 * must be cheap and allocation-free.
 */
@FunctionalInterface
public interface TimeoutPolicy {
    /**
     * @param protocol IP protocol number of the entry's original tuple (6 = TCP, 17 = UDP, 1 = ICMP, ...)
     * @param state    the entry's {@link ConnState} value
     * @return idle time in milliseconds after which the entry may be removed
     */
    long timeoutMillis(int protocol, int state);
}
