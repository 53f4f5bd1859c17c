package org.egressgw.control.explain;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.egressgw.packet.Ipv4Address;

/**
 * What happens to traffic from a source to a destination, and why. Immutable.
 *
 * @param source e.g. {@code default/pay-1 (10.0.1.5)} or {@code 10.0.1.5}
 * @param destination e.g. {@code 203.0.113.5:443}
 * @param policy the deciding policy, or null (NO_POLICY, pod not found)
 * @param gatewayNode the gateway node the source is pinned to, or null
 * @param egressIp the SNAT address when known
 * @param reasons human-readable, deterministic, most general first
 */
public record Explanation(Verdict verdict, String source, String destination, String policy, String gatewayNode,
                          OptionalInt egressIp, List<String> reasons) {
    /** The outcome for the packet. */
    public enum Verdict {
        /** This gateway translates it to {@link #egressIp()}. */
        SERVED_HERE,
        /** Another gateway node ({@link #gatewayNode()}) translates it; this one would drop it. */
        SERVED_ELSEWHERE,
        /** An excludedCIDRs entry carves the destination out: the normal (non-gateway) path. */
        EXCLUDED,
        /** No policy applies: the normal path. */
        NO_POLICY,
        /** A policy applies but cannot be honoured (no gateway node, no egress IP), or the pod is unknown. */
        ERROR
    }

    public Explanation {
        reasons = List.copyOf(reasons);
    }

    /** Fields in a fixed order, for JSON. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("verdict", verdict.name());
        m.put("source", source);
        m.put("destination", destination);
        m.put("policy", policy);
        m.put("gatewayNode", gatewayNode);
        m.put("egressIP", egressIp.isPresent() ? Ipv4Address.toString(egressIp.getAsInt()) : null);
        m.put("reasons", reasons);
        return m;
    }

    public String toJson() {
        return Json.write(toMap());
    }

    /** A few lines for a terminal. */
    public String toText() {
        StringBuilder sb = new StringBuilder();
        sb.append(source).append(" -> ").append(destination).append(": ").append(verdict);
        if (policy != null) {
            sb.append(", policy ").append(policy);
        }
        if (gatewayNode != null) {
            sb.append(", gateway ").append(gatewayNode);
        }
        if (egressIp.isPresent()) {
            sb.append(", egress IP ").append(Ipv4Address.toString(egressIp.getAsInt()));
        }
        sb.append('\n');
        for (String r : reasons) {
            sb.append("  - ").append(r).append('\n');
        }
        return sb.toString();
    }
}
