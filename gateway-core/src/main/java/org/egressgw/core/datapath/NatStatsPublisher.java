package org.egressgw.core.datapath;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import org.egressgw.control.policy.PolicyTable;
import org.egressgw.nat.PortAllocator;

/**
 * Publishes a datapath's NAT port usage for metrics and the admin endpoint, about once a second: ports in use per
 * egress IP (those of the current policies, and any that still hold ports after a policy change) and the busiest
 * destinations (Cilium's top 30).
 *
 * <p>Threading: {@link #publish} runs on the datapath thread, which owns the port allocator; it allocates a small
 * snapshot, off the per-packet path. {@link #stats} may be read by any thread (an immutable record behind a
 * volatile field).
 */
public final class NatStatsPublisher {
    /** How many of the busiest destinations are published (as Cilium: top 30). */
    static final int BUSIEST = 30;

    private final PortAllocator ports;
    private final Supplier<PolicyTable> policies;
    private volatile NatStats stats = NatStats.EMPTY;

    NatStatsPublisher(PortAllocator ports, Supplier<PolicyTable> policies) {
        this.ports = ports;
        this.policies = policies;
    }

    /** Takes a new snapshot (datapath thread). */
    void publish() {
        PolicyTable t = policies.get();
        NatStats old = stats;
        int[] ips = new int[t.policyCount() + old.egressIps().length];
        int n = 0;
        for (int p = 0; p < t.policyCount(); p++) {
            n = addOnce(ips, n, t.egressIp(p));
        }
        for (int ip : old.egressIps()) {
            if (ports.inUse(ip) > 0) {
                n = addOnce(ips, n, ip);
            }
        }
        int[] egressIps = Arrays.copyOf(ips, n);
        long[] inUse = new long[n];
        for (int i = 0; i < n; i++) {
            inUse[i] = ports.inUse(egressIps[i]);
        }
        List<NatStats.Destination> busiest = new ArrayList<>(BUSIEST);
        ports.busiest(BUSIEST, (egressIp, protocol, remoteIp, remotePort, used, capacity) ->
                busiest.add(new NatStats.Destination(egressIp, protocol, remoteIp, remotePort, used, capacity)));
        stats = new NatStats(egressIps, inUse, List.copyOf(busiest));
    }

    private static int addOnce(int[] ips, int n, int ip) {
        for (int i = 0; i < n; i++) {
            if (ips[i] == ip) {
                return n;
            }
        }
        ips[n] = ip;
        return n + 1;
    }

    /** The last published snapshot (any thread). */
    public NatStats stats() {
        return stats;
    }
}
