package org.egressgw.core.datapath;

import java.util.List;

/**
 * NAT port usage, published by the datapath thread about once a second for metrics and the admin
 * endpoint (immutable; safe to read from any thread).
 *
 * @param egressIps the egress IPs reported
 * @param inUse translated ports in use for each of them
 * @param busiest the destinations with the most ports in use, busiest first
 */
public record NatStats(int[] egressIps, long[] inUse, List<Destination> busiest) {
    public static final NatStats EMPTY = new NatStats(new int[0], new long[0], List.of());

    /** Ports in use towards one (egress IP, protocol, remote IP, remote port), out of {@code capacity}. */
    public record Destination(int egressIp, int protocol, int remoteIp, int remotePort, int inUse, int capacity) {
        /** Percentage of the port range in use: what to alert on before new connections fail. */
        public double saturationPercent() {
            return capacity == 0 ? 0 : 100.0 * inUse / capacity;
        }
    }
}
