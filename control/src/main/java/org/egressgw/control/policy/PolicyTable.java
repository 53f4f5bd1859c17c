package org.egressgw.control.policy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.collections.IntArrayList;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.Ipv4Cidr;

/**
 * What this gateway does with a packet from a pod: exact match on the source address,
 * longest-prefix match on the destination, over the rules of ALL policies (served here or not),
 * so that a packet whose best policy belongs to another gateway is dropped rather than translated
 * with a weaker policy's egress IP.
 *
 * <p>Results: a served id ({@code >= 0}, see {@link ServedPolicy}) to SNAT with
 * {@link #egressIp(int)}; {@link #NO_POLICY}; {@link #EXCLUDED}; {@link #NOT_SERVED_HERE};
 * {@link #NO_EGRESS_IP}. Every negative result means "do not translate here".
 *
 * <p>Precedence, fixed so that every gateway decides the same way: the longest matching
 * destination prefix wins; at equal prefix length an exclusion wins over any policy, then the
 * lower rank (ranks follow policy-name order, so the policy whose name sorts first), then the
 * lower result value (only decides when two pods share an address).
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
    /**
     * The best policy for this (source, destination) pins the source to another gateway node (or to
     * a gateway entry no node matches): drop, never translate with another policy's egress IP.
     */
    public static final int NOT_SERVED_HERE = -3;
    /**
     * The best policy pins the source to this node, but its egress IP cannot be resolved (the
     * interface has no IPv4 address): drop, as Cilium's NO_EGRESS_IP.
     */
    public static final int NO_EGRESS_IP = -4;

    /** Ranks are kept in 24 bits of the sort key. */
    public static final int MAX_RANKS = 1 << 24;

    private static final int STRIDE = 3;

    /** A table without policies or rules. */
    public static final PolicyTable EMPTY = new Builder().build();

    private final Int2ObjectHashMap<int[]> bySource;
    private final String[] names;
    private final int[] egressIps;
    private final String[] rankNames;
    /** For {@link #rows()}: sources in unsigned order, and each one's distinct sorted rules. */
    private final int[] rowSources;
    private final Acc[] rowRules;
    private final int ruleCount;

    private PolicyTable(Int2ObjectHashMap<int[]> bySource, String[] names, int[] egressIps, String[] rankNames,
                        int[] rowSources, Acc[] rowRules, int ruleCount) {
        this.bySource = bySource;
        this.names = names;
        this.egressIps = egressIps;
        this.rankNames = rankNames;
        this.rowSources = rowSources;
        this.rowRules = rowRules;
        this.ruleCount = ruleCount;
    }

    /**
     * The served id for a packet, or one of the negative results. Packet path: no allocation.
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

    /** SNAT address of a served id, network order. */
    public int egressIp(int policyId) {
        return egressIps[policyId];
    }

    /** Policy name of a served id. */
    public String policyName(int policyId) {
        return names[policyId];
    }

    /** Number of served ids. */
    public int policyCount() {
        return names.length;
    }

    /** Number of distinct pod source addresses with at least one rule. */
    public int sourceCount() {
        return bySource.size();
    }

    /** Number of distinct rules (including shadowed ones). */
    public int ruleCount() {
        return ruleCount;
    }

    /** Short text for a result code: the served policy's name, or the sentinel's name. */
    public String describe(int result) {
        return switch (result) {
            case NO_POLICY -> "no policy";
            case EXCLUDED -> "excluded";
            case NOT_SERVED_HERE -> "not served here";
            case NO_EGRESS_IP -> "no egress IP";
            default -> names[result];
        };
    }

    /**
     * Every rule as {@code {source IP, destination CIDR, egress IP, policy}}, by source address
     * then in precedence order (shadowed rules included); the egress IP column reads
     * {@code excluded}, {@code elsewhere} (served by another gateway) or {@code no egress IP} for
     * the sentinels. Control path only.
     */
    public List<String[]> rows() {
        List<String[]> out = new ArrayList<>(ruleCount);
        for (int s = 0; s < rowSources.length; s++) {
            Acc acc = rowRules[s];
            for (int i = 0; i < acc.n; i++) {
                long key = acc.keys[i];
                int result = acc.results[i];
                String egress = switch (result) {
                    case EXCLUDED -> "excluded";
                    case NOT_SERVED_HERE -> "elsewhere";
                    case NO_EGRESS_IP -> "no egress IP";
                    default -> Ipv4Address.toString(egressIps[result]);
                };
                out.add(new String[] {Ipv4Address.toString(rowSources[s]),
                    new Ipv4Cidr((int) (key >>> 25), 32 - (int) (key >>> 57)).toString(), egress,
                    rankNames[(int) (key & 0xff_ffff)]});
            }
        }
        return out;
    }

    /** Rules of one source address while building: sort keys and results side by side. */
    private static final class Acc {
        long[] keys = new long[8];
        int[] results = new int[8];
        int n;

        void add(long key, int result) {
            if (n == keys.length) {
                keys = Arrays.copyOf(keys, n * 2);
                results = Arrays.copyOf(results, n * 2);
            }
            keys[n] = key;
            results[n] = result;
            n++;
        }
    }

    /**
     * Collects policies and rules; not thread-safe, used by one control thread.
     *
     * <p>Two ways to use it. Simple: {@link #addPolicy} per served policy (in precedence order), then
     * {@link #addRule}/{@link #addExclusion}; ranks equal served ids. Ranked (what
     * {@link PolicyCompiler} does, for tables that also hold policies served elsewhere): declare
     * every policy with {@link #addRank} in precedence order, served ids with {@link #addPolicy},
     * then {@link #add} rules with any result. The two styles of rule cannot be mixed.
     */
    public static final class Builder {
        private final List<String> names = new ArrayList<>();
        private final IntArrayList egressIps = new IntArrayList();
        private final List<String> rankNames = new ArrayList<>();
        private final Int2ObjectHashMap<Acc> bySource = new Int2ObjectHashMap<>();
        private boolean ranked;
        private boolean simpleRules;

        /** Registers a served policy; ids are handed out densely from 0 in call order. */
        public int addPolicy(String name, int egressIp) {
            names.add(name);
            egressIps.addInt(egressIp);
            if (!ranked) {
                rankNames.add(name);
            }
            return names.size() - 1;
        }

        /**
         * Declares the next policy in precedence order (ranks 0, 1, ...), served here or not.
         *
         * @throws IllegalStateException after {@link #addRule} or {@link #addExclusion}
         */
        public int addRank(String policyName) {
            if (simpleRules) {
                throw new IllegalStateException("addRank cannot be mixed with addRule/addExclusion");
            }
            if (!ranked) {
                ranked = true;
                rankNames.clear();
            }
            if (rankNames.size() == MAX_RANKS) {
                throw new IllegalStateException("more than " + MAX_RANKS + " policies");
            }
            rankNames.add(policyName);
            return rankNames.size() - 1;
        }

        /** Packets from {@code source} to {@code destination} use {@code policyId} (rank = id). */
        public Builder addRule(int source, Ipv4Cidr destination, int policyId) {
            simple(policyId);
            put(source, destination, policyId, policyId);
            return this;
        }

        /** Packets from {@code source} to {@code destination} are excluded by {@code policyId} (rank = id). */
        public Builder addExclusion(int source, Ipv4Cidr destination, int policyId) {
            simple(policyId);
            put(source, destination, EXCLUDED, policyId);
            return this;
        }

        /**
         * A rule of the policy of {@code rank} with any result: a served id, {@link #EXCLUDED},
         * {@link #NOT_SERVED_HERE} or {@link #NO_EGRESS_IP}.
         */
        public Builder add(int source, Ipv4Cidr destination, int result, int rank) {
            if (!ranked || rank < 0 || rank >= rankNames.size()) {
                throw new IllegalArgumentException("unknown rank " + rank + " (declare it with addRank)");
            }
            if (result >= names.size() || result < NO_EGRESS_IP || result == NO_POLICY) {
                throw new IllegalArgumentException("bad result " + result);
            }
            put(source, destination, result, rank);
            return this;
        }

        private void simple(int policyId) {
            if (ranked) {
                throw new IllegalStateException("addRule/addExclusion cannot be mixed with addRank");
            }
            if (policyId < 0 || policyId >= names.size()) {
                throw new IllegalArgumentException("unknown policy id " + policyId);
            }
            simpleRules = true;
        }

        private void put(int source, Ipv4Cidr destination, int result, int rank) {
            // 6 bits (32 - prefix) | 32 bits network | 1 bit "not excluded" | 24 bits rank: 63 bits,
            // so ascending order is precedence order (longest prefix first, exclusion first).
            long key = ((long) (32 - destination.prefixLength()) << 57)
                    | (Ipv4Address.unsigned(destination.network()) << 25)
                    | ((result == EXCLUDED ? 0L : 1L) << 24)
                    | rank;
            Acc acc = bySource.get(source);
            if (acc == null) {
                acc = new Acc();
                bySource.put(source, acc);
            }
            acc.add(key, result);
        }

        public PolicyTable build() {
            long[] sources = new long[bySource.size()];
            int s = 0;
            for (Int2ObjectHashMap<Acc>.KeyIterator it = bySource.keySet().iterator(); it.hasNext(); ) {
                sources[s++] = Ipv4Address.unsigned(it.nextInt());
            }
            Arrays.sort(sources);
            Int2ObjectHashMap<int[]> lookup = new Int2ObjectHashMap<>(Math.max(8, sources.length * 2), 0.65f);
            int[] rowSources = new int[sources.length];
            Acc[] rowRules = new Acc[sources.length];
            int total = 0;
            for (int si = 0; si < sources.length; si++) {
                int src = (int) sources[si];
                Acc acc = bySource.get(src);
                sort(acc.keys, acc.results, 0, acc.n - 1);
                int[] triples = new int[acc.n * STRIDE];
                int t = 0;
                int kept = 0;
                long lastDestination = -1;
                for (int i = 0; i < acc.n; i++) {
                    long key = acc.keys[i];
                    int result = acc.results[i];
                    if (kept > 0 && key == acc.keys[kept - 1] && result == acc.results[kept - 1]) {
                        continue; // exact duplicate
                    }
                    acc.keys[kept] = key;
                    acc.results[kept] = result;
                    kept++;
                    long destination = key >>> 25;
                    if (destination == lastDestination) {
                        continue; // shadowed: an earlier rule for the same prefix already wins
                    }
                    lastDestination = destination;
                    triples[t] = (int) destination;
                    triples[t + 1] = Ipv4Cidr.mask(32 - (int) (key >>> 57));
                    triples[t + 2] = result;
                    t += STRIDE;
                }
                acc.n = kept;
                total += kept;
                rowSources[si] = src;
                rowRules[si] = acc;
                lookup.put(src, t == triples.length ? triples : Arrays.copyOf(triples, t));
            }
            return new PolicyTable(lookup, names.toArray(new String[0]), egressIps.toIntArray(),
                    rankNames.toArray(new String[0]), rowSources, rowRules, total);
        }

        /** Sorts by (key, result) ascending; quicksort with insertion sort for short ranges. */
        private static void sort(long[] k, int[] v, int lo, int hi) {
            while (hi - lo > 16) {
                int mid = (lo + hi) >>> 1;
                long pk = k[mid];
                int pv = v[mid];
                int i = lo;
                int j = hi;
                while (i <= j) {
                    while (less(k[i], v[i], pk, pv)) {
                        i++;
                    }
                    while (less(pk, pv, k[j], v[j])) {
                        j--;
                    }
                    if (i <= j) {
                        swap(k, v, i++, j--);
                    }
                }
                if (j - lo < hi - i) {
                    sort(k, v, lo, j);
                    lo = i;
                } else {
                    sort(k, v, i, hi);
                    hi = j;
                }
            }
            for (int i = lo + 1; i <= hi; i++) {
                for (int j = i; j > lo && less(k[j], v[j], k[j - 1], v[j - 1]); j--) {
                    swap(k, v, j, j - 1);
                }
            }
        }

        private static boolean less(long ka, int va, long kb, int vb) {
            return ka < kb || (ka == kb && va < vb);
        }

        private static void swap(long[] k, int[] v, int a, int b) {
            long tk = k[a];
            k[a] = k[b];
            k[b] = tk;
            int tv = v[a];
            v[a] = v[b];
            v[b] = tv;
        }
    }
}
