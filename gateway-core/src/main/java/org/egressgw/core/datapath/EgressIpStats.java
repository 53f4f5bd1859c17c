package org.egressgw.core.datapath;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * NAT ports in use per egress IP: the number an operator alerts on before port exhaustion makes
 * new connections fail. One writer (the datapath thread); readers (metrics) see opaque values.
 * The set of egress IPs is small (one per served policy at most), so a linear scan is the fastest
 * lookup and allocates nothing.
 */
public final class EgressIpStats {
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
    private final int[] ips;
    private final long[] inUse;

    public EgressIpStats(int[] egressIps) {
        this.ips = egressIps.clone();
        this.inUse = new long[ips.length];
    }

    public void adjust(int egressIp, int delta) {
        for (int i = 0; i < ips.length; i++) {
            if (ips[i] == egressIp) {
                LONGS.setOpaque(inUse, i, (long) LONGS.getOpaque(inUse, i) + delta);
                return;
            }
        }
    }

    public int size() {
        return ips.length;
    }

    public int ip(int index) {
        return ips[index];
    }

    public long inUse(int index) {
        return (long) LONGS.getOpaque(inUse, index);
    }
}
