package org.egressgw.control.explain;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.egressgw.control.policy.ClusterState;
import org.egressgw.control.policy.CompiledView;
import org.egressgw.control.policy.PolicyCompiler;
import org.egressgw.control.policy.RefusedPolicy;
import org.egressgw.control.policy.ResolvedPolicy;
import org.egressgw.packet.Ipv4Address;

/**
 * Per policy: the gateway nodes serving it, its egress IP(s), how many endpoints it selects and its
 * errors (including policies refused as a whole). Immutable.
 *
 * @param gateways one per gateway entry, in pinning order
 * @param selectedEndpoints pods selected that have an IPv4 address
 * @param errors {@code file:line: reason} lines; non-empty for refused policies
 * @param refused whether the policy was refused as a whole (then gateways is empty)
 */
public record PolicyStatus(String name, String source, List<GatewayStatus> gateways, int selectedEndpoints,
                           List<String> errors, boolean refused) {
    public PolicyStatus {
        gateways = List.copyOf(gateways);
        errors = List.copyOf(errors);
    }

    /**
     * One gateway entry.
     *
     * @param node the gateway node, null when no node matches ("Not Found")
     * @param egressIp dotted quad, or null when not known from the given views
     * @param endpoints endpoints pinned to it
     */
    public record GatewayStatus(String node, String egressIp, int endpoints) {
    }

    /** Distinct gateway node names, in pinning order. */
    public List<String> gatewayNodes() {
        Set<String> s = new LinkedHashSet<>();
        for (GatewayStatus g : gateways) {
            if (g.node != null) {
                s.add(g.node);
            }
        }
        return List.copyOf(s);
    }

    /** Distinct known egress IPs, in pinning order. */
    public List<String> egressIps() {
        Set<String> s = new LinkedHashSet<>();
        for (GatewayStatus g : gateways) {
            if (g.egressIp != null) {
                s.add(g.egressIp);
            }
        }
        return List.copyOf(s);
    }

    /**
     * Status of every policy of {@code state} (by name), then of every refused policy. Egress IPs
     * and errors of interface-derived gateways come from the views compiled on those nodes.
     */
    public static List<PolicyStatus> of(ClusterState state, CompiledView... compiled) {
        CompiledView base = compiled.length > 0 ? compiled[0] : PolicyCompiler.neutral(state);
        List<PolicyStatus> out = new ArrayList<>();
        for (ResolvedPolicy r : base.resolvedPolicies()) {
            int[] pinned = new int[r.gateways().size()];
            for (ResolvedPolicy.Endpoint e : r.endpoints()) {
                pinned[e.gateway()]++;
            }
            List<GatewayStatus> gws = new ArrayList<>();
            Set<String> errors = new LinkedHashSet<>();
            for (int g = 0; g < pinned.length; g++) {
                ResolvedPolicy.Gateway gw = r.gateways().get(g);
                ResolvedPolicy.Gateway local = localView(r, gw, compiled);
                String egress = local != null && local.egressIp().isPresent()
                        ? Ipv4Address.toString(local.egressIp().getAsInt())
                        : gw.egressIp().isPresent() ? Ipv4Address.toString(gw.egressIp().getAsInt()) : null;
                gws.add(new GatewayStatus(gw.nodeName(), egress, pinned[g]));
            }
            for (CompiledView v : compiled) {
                for (ResolvedPolicy other : v.resolvedPolicies()) {
                    if (other.name().equals(r.name())) {
                        errors.addAll(other.problems());
                    }
                }
            }
            errors.addAll(r.problems());
            out.add(new PolicyStatus(r.name(), r.policy().source(), gws, r.endpoints().size(),
                    new ArrayList<>(errors), false));
        }
        for (RefusedPolicy rp : state.refusedPolicies()) {
            out.add(new PolicyStatus(rp.name(), rp.source(), List.of(), 0, List.of(rp.problem()), true));
        }
        return out;
    }

    private static ResolvedPolicy.Gateway localView(ResolvedPolicy r, ResolvedPolicy.Gateway gw, CompiledView[] views) {
        for (CompiledView v : views) {
            if (gw.nodeName() == null || !gw.nodeName().equals(v.gatewayNodeName())) {
                continue;
            }
            for (ResolvedPolicy other : v.resolvedPolicies()) {
                if (other.name().equals(r.name())) {
                    for (ResolvedPolicy.Gateway og : other.gateways()) {
                        if (og.specIndex() == gw.specIndex() && og.local()) {
                            return og;
                        }
                    }
                }
            }
        }
        return null;
    }

    /** Fields in a fixed order, for JSON. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("source", source);
        m.put("refused", refused);
        m.put("gatewayNodes", gatewayNodes());
        m.put("egressIPs", egressIps());
        m.put("selectedEndpoints", selectedEndpoints);
        List<Object> gw = new ArrayList<>();
        for (GatewayStatus g : gateways) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("node", g.node);
            e.put("egressIP", g.egressIp);
            e.put("endpoints", g.endpoints);
            gw.add(e);
        }
        m.put("gateways", gw);
        m.put("errors", errors);
        return m;
    }

    /** A JSON array of {@link #toMap()}. */
    public static String toJson(List<PolicyStatus> statuses) {
        List<Object> l = new ArrayList<>();
        for (PolicyStatus s : statuses) {
            l.add(s.toMap());
        }
        return Json.write(l);
    }

    /** Aligned text: Policy | Gateways | Egress IPs | Endpoints | Errors (count; the lines follow). */
    public static String toTable(List<PolicyStatus> statuses) {
        List<List<String>> rows = new ArrayList<>();
        List<String> details = new ArrayList<>();
        for (PolicyStatus s : statuses) {
            String name = s.name == null ? "(unnamed)" : s.name;
            rows.add(List.of(name + (s.refused ? " (refused)" : ""),
                    s.gatewayNodes().isEmpty() ? "-" : String.join(",", s.gatewayNodes()),
                    s.egressIps().isEmpty() ? "-" : String.join(",", s.egressIps()),
                    Integer.toString(s.selectedEndpoints), Integer.toString(s.errors.size())));
            for (String e : s.errors) {
                details.add(name + ": " + e);
            }
        }
        StringBuilder sb = new StringBuilder(TextTable.render(
                List.of("Policy", "Gateways", "Egress IPs", "Endpoints", "Errors"), rows));
        for (String d : details) {
            sb.append(d).append('\n');
        }
        return sb.toString();
    }
}
