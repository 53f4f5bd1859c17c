package org.egressgw.nat;

import org.egressgw.conntrack.ConnTable;
import org.egressgw.conntrack.FlowKey;

/**
 * Picks the translated source port (or ICMP echo identifier) for a new connection.
 *
 * <p>A port is free for (egress IP, protocol, remote IP, remote port) exactly when no connection's
 * reply tuple uses it, so the connection table itself is the allocation map: no second structure
 * can drift out of step with it, and a port becomes reusable the moment its entry expires.
 * Like Cilium: keep the pod's own port when it lies in the range and is free, otherwise start at a
 * random port and probe upwards (wrapping) for at most {@code maxTries} ports, then give up.
 *
 * <p>Owner thread only (it holds the random state, and the caller inserts right after).
 */
public final class PortAllocator {
    /** Returned when no free port was found within the allowed tries. */
    public static final int EXHAUSTED = -1;

    private final int low;
    private final int size;
    private final int maxTries;
    private long seed;

    public PortAllocator(int low, int high, int maxTries, long seed) {
        if (low < 1 || high > 65535 || low > high) {
            throw new IllegalArgumentException("port range " + low + "-" + high + " is not within 1-65535");
        }
        if (maxTries < 1) {
            throw new IllegalArgumentException("maxTries must be positive: " + maxTries);
        }
        this.low = low;
        this.size = high - low + 1;
        this.maxTries = maxTries;
        this.seed = seed == 0 ? 0x9E3779B97F4A7C15L : seed;
    }

    /**
     * @param remotePort the remote port, or 0 for ICMP echo (whose reply tuple has no remote port)
     * @return a free port, or {@link #EXHAUSTED}
     */
    public int allocate(ConnTable table, int protocol, int egressIp, int remoteIp, int remotePort, int preferredPort) {
        long hi = FlowKey.hi(remoteIp, egressIp);
        if (preferredPort >= low && preferredPort < low + size
                && table.lookup(hi, FlowKey.lo(protocol, remotePort, preferredPort, true)) == ConnTable.NOT_FOUND) {
            return preferredPort;
        }
        int offset = (int) ((nextRandom() >>> 33) % size);
        int tries = Math.min(maxTries, size);
        for (int i = 0; i < tries; i++) {
            int port = low + offset;
            if (table.lookup(hi, FlowKey.lo(protocol, remotePort, port, true)) == ConnTable.NOT_FOUND) {
                return port;
            }
            offset = offset + 1 == size ? 0 : offset + 1;
        }
        return EXHAUSTED;
    }

    public int low() {
        return low;
    }

    public int high() {
        return low + size - 1;
    }

    private long nextRandom() {
        long x = seed;
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        seed = x;
        return x;
    }
}
