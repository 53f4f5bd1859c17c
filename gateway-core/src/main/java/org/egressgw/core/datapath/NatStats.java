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

    /**
     * The statistics of several shards as one: ports in use summed per egress IP and per destination (whose
     * capacity is then the sum of the shards' parts of the port range), busiest first, at most as many
     * destinations as the longest part lists.
     */
    public static NatStats merge(List<NatStats> parts) {
        if (parts.size() == 1) {
            return parts.get(0);
        }
        java.util.Map<Integer, Long> byIp = new java.util.LinkedHashMap<>();
        java.util.Map<List<Integer>, int[]> byDestination = new java.util.HashMap<>();
        int longest = 0;
        for (NatStats s : parts) {
            for (int i = 0; i < s.egressIps().length; i++) {
                byIp.merge(s.egressIps()[i], s.inUse()[i], Long::sum);
            }
            for (Destination d : s.busiest()) {
                int[] sum = byDestination.computeIfAbsent(List.of(d.egressIp(), d.protocol(), d.remoteIp(), d.remotePort()),
                        k -> new int[2]);
                sum[0] += d.inUse();
                sum[1] += d.capacity();
            }
            longest = Math.max(longest, s.busiest().size());
        }
        List<Destination> busiest = byDestination.entrySet().stream()
                .map(e -> new Destination(e.getKey().get(0), e.getKey().get(1), e.getKey().get(2), e.getKey().get(3),
                        e.getValue()[0], e.getValue()[1]))
                .sorted(java.util.Comparator.comparingInt(Destination::inUse).reversed())
                .limit(longest).toList();
        return new NatStats(byIp.keySet().stream().mapToInt(Integer::intValue).toArray(),
                byIp.values().stream().mapToLong(Long::longValue).toArray(), busiest);
    }

    /** Ports in use towards one (egress IP, protocol, remote IP, remote port), out of {@code capacity}. */
    public record Destination(int egressIp, int protocol, int remoteIp, int remotePort, int inUse, int capacity) {
        /** Percentage of the port range in use: what to alert on before new connections fail. */
        public double saturationPercent() {
            return capacity == 0 ? 0 : 100.0 * inUse / capacity;
        }
    }
}
