package org.egressgw.control.policy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.agrona.collections.Int2ObjectHashMap;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.Ipv4Cidr;

/**
 * Which served policy (if any) applies to a packet from a pod: exact match on the source address,
 * longest-prefix match on the destination.
 *
 * <p>Precedence, fixed so that every gateway decides the same way: the longest matching destination
 * prefix wins; at equal prefix length {@link #EXCLUDED} wins over any policy, then the lower policy
 * id (policy ids follow policy-name order, so the policy whose name sorts first).
 *
 * <p>Layout: a primitive map from source address to one {@code int[]} of
 * {@code (network, mask, result)} triples sorted by that precedence, so the first triple that
 * matches is the answer. Lookup is linear in the number of rules of that source (the destination
 * CIDRs of the policies selecting that pod), which is small in practice.
 *
 * <p>Concurrency: immutable once built. The control thread builds a new table on every change and
 * publishes it to packet threads through a volatile reference (or other safe publication); packet
 * threads only call {@link #lookup}, which neither allocates nor boxes.
 */
public final class PolicyTable {
    /** No policy applies: the packet is not for this gateway to SNAT. */
    public static final int NO_POLICY = -1;
    /** A policy applies but its excludedCIDRs carve the destination out: not SNATed. */
    public static final int EXCLUDED = -2;

    private static final int STRIDE = 3;

    /** A table without policies or rules. */
    public static final PolicyTable EMPTY = new Builder().build();

    private final Int2ObjectHashMap<int[]> bySource;
    private final String[] names;
    private final int[] egressIps;
    private final List<Rule> rules;

    private PolicyTable(Int2ObjectHashMap<int[]> bySource, String[] names, int[] egressIps, List<Rule> rules) {
        this.bySource = bySource;
        this.names = names;
        this.egressIps = egressIps;
        this.rules = rules;
    }

    /**
     * The policy id for a packet, or {@link #NO_POLICY} / {@link #EXCLUDED}. Packet path: no
     * allocation.
     *
     * @param srcIp inner source address, network order
     * @param dstIp inner destination address, network order
     */
    public int lookup(int srcIp, int dstIp) {
        int[] r = bySource.get(srcIp);
        if (r == null) {
            return NO_POLICY;
        }
        for (int i = 0; i < r.length; i += STRIDE) {
            if ((dstIp & r[i + 1]) == r[i]) {
                return r[i + 2];
            }
        }
        return NO_POLICY;
    }

    /** SNAT address of a policy, network order. */
    public int egressIp(int policyId) {
        return egressIps[policyId];
    }

    public String policyName(int policyId) {
        return names[policyId];
    }

    public int policyCount() {
        return names.length;
    }

    /** Number of distinct pod source addresses with at least one rule. */
    public int sourceCount() {
        return bySource.size();
    }

    /**
     * Every rule as {@code {source IP, destination CIDR, egress IP, policy}}, by source address
     * then in precedence order; the egress IP column reads {@code excluded} for exclusions, whose
     * policy column names the policy that excluded it. Control path only.
     */
    public List<String[]> rows() {
        List<String[]> out = new ArrayList<>(rules.size());
        for (Rule r : rules) {
            out.add(new String[] {
                Ipv4Address.toString(r.source), r.destination.toString(),
                r.result == EXCLUDED ? "excluded" : Ipv4Address.toString(egressIps[r.result]),
                names[r.origin]});
        }
        return out;
    }

    private record Rule(int source, Ipv4Cidr destination, int result, int origin) {
    }

    /** Collects policies and rules; not thread-safe, used by one control thread. */
    public static final class Builder {
        private final List<String> names = new ArrayList<>();
        private final List<Integer> egressIps = new ArrayList<>();
        private final List<Rule> rules = new ArrayList<>();

        /** Registers a policy; ids are handed out densely from 0 in call order. */
        public int addPolicy(String name, int egressIp) {
            names.add(name);
            egressIps.add(egressIp);
            return names.size() - 1;
        }

        /** Packets from {@code source} to {@code destination} use {@code policyId}. */
        public Builder addRule(int source, Ipv4Cidr destination, int policyId) {
            checkId(policyId);
            rules.add(new Rule(source, destination, policyId, policyId));
            return this;
        }

        /** Packets from {@code source} to {@code destination} are excluded by {@code policyId}. */
        public Builder addExclusion(int source, Ipv4Cidr destination, int policyId) {
            checkId(policyId);
            rules.add(new Rule(source, destination, EXCLUDED, policyId));
            return this;
        }

        private void checkId(int policyId) {
            if (policyId < 0 || policyId >= names.size()) {
                throw new IllegalArgumentException("unknown policy id " + policyId);
            }
        }

        public PolicyTable build() {
            Comparator<Rule> order = Comparator
                    .comparingLong((Rule r) -> Ipv4Address.unsigned(r.source))
                    .thenComparing(Comparator.comparingInt((Rule r) -> r.destination.prefixLength()).reversed())
                    .thenComparingLong(r -> Ipv4Address.unsigned(r.destination.network()))
                    .thenComparingInt(r -> r.result == EXCLUDED ? -1 : r.result)
                    .thenComparingInt(Rule::origin);
            List<Rule> sorted = new ArrayList<>(rules);
            sorted.sort(order);
            List<Rule> unique = new ArrayList<>(sorted.size());
            for (Rule r : sorted) {
                if (unique.isEmpty() || !unique.get(unique.size() - 1).equals(r)) {
                    unique.add(r);
                }
            }
            Int2ObjectHashMap<int[]> bySource = new Int2ObjectHashMap<>();
            int i = 0;
            while (i < unique.size()) {
                int src = unique.get(i).source;
                int j = i;
                int[] triples = new int[0];
                int n = 0;
                Ipv4Cidr last = null;
                for (; j < unique.size() && unique.get(j).source == src; j++) {
                    Rule r = unique.get(j);
                    if (r.destination.equals(last)) {
                        continue; // shadowed: an earlier rule for the same prefix already wins
                    }
                    last = r.destination;
                    if (n + STRIDE > triples.length) {
                        triples = Arrays.copyOf(triples, Math.max(STRIDE * 4, triples.length * 2));
                    }
                    triples[n] = r.destination.network();
                    triples[n + 1] = Ipv4Cidr.mask(r.destination.prefixLength());
                    triples[n + 2] = r.result;
                    n += STRIDE;
                }
                bySource.put(src, Arrays.copyOf(triples, n));
                i = j;
            }
            int[] ips = new int[egressIps.size()];
            for (int k = 0; k < ips.length; k++) {
                ips[k] = egressIps.get(k);
            }
            return new PolicyTable(bySource, names.toArray(new String[0]), ips, List.copyOf(unique));
        }
    }
}
