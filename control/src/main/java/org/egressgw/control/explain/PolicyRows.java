package org.egressgw.control.explain;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.egressgw.control.policy.ClusterState;
import org.egressgw.control.policy.CompiledView;
import org.egressgw.control.policy.PolicyCompiler;
import org.egressgw.control.policy.ResolvedPolicy;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.Ipv4Cidr;

/**
 * The policy map of ALL policies as Cilium's {@code cilium-dbg bpf egress list} shows it, plus the
 * policy name: one row per (endpoint IPv4, destination or excluded CIDR) of each policy. Gateway
 * column: the gateway node's IP (its name when it has no InternalIP), {@code Excluded CIDR} for
 * exclusions, {@code Not Found} when no node matches the gateway selector. Egress IP column: the
 * SNAT address when known, else {@code 0.0.0.0} as Cilium shows it (exclusions, gateways not
 * found, and interface-derived addresses of gateways no given view resolved). Immutable.
 */
public final class PolicyRows {
    /** Column titles of {@link #toTable()}. */
    public static final List<String> HEADER = List.of("Source IP", "Destination CIDR", "Egress IP", "Gateway", "Policy");
    public static final String EXCLUDED_CIDR = "Excluded CIDR";
    public static final String NOT_FOUND = "Not Found";

    /**
     * One row.
     *
     * @param egressIp network order, 0 when unknown / not applicable
     * @param gateway gateway node IP, {@link #EXCLUDED_CIDR}, {@link #NOT_FOUND}, or the node's name
     * @param gatewayNode the gateway node's name, null for exclusions and not found
     */
    public record Row(int sourceIp, Ipv4Cidr destination, int egressIp, String gateway, String gatewayNode,
                      String policy) {
        public List<String> cells() {
            return List.of(Ipv4Address.toString(sourceIp), destination.toString(), Ipv4Address.toString(egressIp),
                    gateway, policy);
        }
    }

    private final List<Row> rows;

    private PolicyRows(List<Row> rows) {
        this.rows = List.copyOf(rows);
    }

    /**
     * Rows for every policy of {@code state}. Pods, selection and pinning come from the first view
     * (or a neutral compile of {@code state} when none is given); a gateway's interface-derived
     * egress IP comes from the view compiled on that gateway's node, when one is given.
     *
     * @param views compiled from {@code state} on one or more gateway nodes
     */
    public static PolicyRows rows(ClusterState state, CompiledView... views) {
        CompiledView base = views.length > 0 ? views[0] : PolicyCompiler.neutral(state);
        List<Row> out = new ArrayList<>();
        for (ResolvedPolicy r : base.resolvedPolicies()) {
            int[] egress = new int[r.gateways().size()];
            for (int g = 0; g < egress.length; g++) {
                egress[g] = egressIp(r, g, views);
            }
            for (ResolvedPolicy.Endpoint e : r.endpoints()) {
                ResolvedPolicy.Gateway gw = r.gateways().get(e.gateway());
                String gateway = !gw.found() ? NOT_FOUND
                        : gw.nodeIp().isPresent() ? Ipv4Address.toString(gw.nodeIp().getAsInt()) : gw.nodeName();
                for (int src : e.pod().ipv4Addresses()) {
                    for (Ipv4Cidr d : r.policy().destinationCidrs()) {
                        out.add(new Row(src, d, gw.found() ? egress[e.gateway()] : 0, gateway, gw.nodeName(), r.name()));
                    }
                    for (Ipv4Cidr x : r.policy().excludedCidrs()) {
                        out.add(new Row(src, x, 0, EXCLUDED_CIDR, null, r.name()));
                    }
                }
            }
        }
        out.sort(Comparator.comparingLong((Row w) -> Ipv4Address.unsigned(w.sourceIp))
                .thenComparingInt(w -> -w.destination.prefixLength())
                .thenComparingLong(w -> Ipv4Address.unsigned(w.destination.network()))
                .thenComparing(Row::policy)
                .thenComparing(Row::gateway));
        List<Row> unique = new ArrayList<>(out.size());
        for (Row w : out) {
            if (unique.isEmpty() || !unique.get(unique.size() - 1).equals(w)) {
                unique.add(w);
            }
        }
        return new PolicyRows(unique);
    }

    private static int egressIp(ResolvedPolicy r, int g, CompiledView[] views) {
        ResolvedPolicy.Gateway gw = r.gateways().get(g);
        for (CompiledView v : views) {
            if (gw.nodeName() == null || !gw.nodeName().equals(v.gatewayNodeName())) {
                continue;
            }
            for (ResolvedPolicy other : v.resolvedPolicies()) {
                if (!other.name().equals(r.name())) {
                    continue;
                }
                for (ResolvedPolicy.Gateway og : other.gateways()) {
                    if (og.specIndex() == gw.specIndex() && og.local() && og.egressIp().isPresent()) {
                        return og.egressIp().getAsInt();
                    }
                }
            }
        }
        OptionalInt known = gw.egressIp();
        return known.orElse(0);
    }

    public List<Row> rows() {
        return rows;
    }

    /** Aligned text with a header line; "No entries found." when empty, as Cilium prints. */
    public String toTable() {
        if (rows.isEmpty()) {
            return "No entries found.\n";
        }
        List<List<String>> cells = new ArrayList<>(rows.size());
        for (Row r : rows) {
            cells.add(r.cells());
        }
        return TextTable.render(HEADER, cells);
    }

    /** A JSON array of objects with sourceIP, destinationCIDR, egressIP, gatewayIP, gatewayNode, policy. */
    public String toJson() {
        List<Object> list = new ArrayList<>(rows.size());
        for (Row r : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("sourceIP", Ipv4Address.toString(r.sourceIp));
            m.put("destinationCIDR", r.destination.toString());
            m.put("egressIP", Ipv4Address.toString(r.egressIp));
            m.put("gatewayIP", r.gateway);
            m.put("gatewayNode", r.gatewayNode);
            m.put("policy", r.policy);
            list.add(m);
        }
        return Json.write(list);
    }
}
