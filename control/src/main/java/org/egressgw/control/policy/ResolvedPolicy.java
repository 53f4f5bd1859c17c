package org.egressgw.control.policy;

import java.util.List;
import java.util.OptionalInt;
import org.egressgw.control.k8s.Pod;

/**
 * A policy as one gateway node resolved it against the cluster: its gateways (in pinning order),
 * the endpoints it selects and where each is pinned. Immutable.
 *
 * @param rank position in policy-name order, the tie-breaker of {@link PolicyTable}
 * @param gateways sorted by gateway node IP as Cilium does (stable, unknown IP sorting as 0.0.0.0),
 *     so index {@code Fnv1a.pick(uid, gateways.size())} is the endpoint's gateway
 * @param endpoints selected pods that have an IPv4 address, by namespace then name
 * @param problems {@code file:line: reason} lines about this policy (no gateway node, no egress IP)
 */
public record ResolvedPolicy(EgressPolicy policy, int rank, List<Gateway> gateways, List<Endpoint> endpoints,
                             List<String> problems) {
    public ResolvedPolicy {
        gateways = List.copyOf(gateways);
        endpoints = List.copyOf(endpoints);
        problems = List.copyOf(problems);
    }

    public String name() {
        return policy.name();
    }

    /**
     * One resolved {@code egressGateway} / {@code egressGateways[]} entry.
     *
     * @param specIndex index of the entry in {@link EgressPolicy#gateways()}
     * @param nodeName first Node by name matching the entry's nodeSelector; null when none matches
     *     (Cilium's gateway 0.0.0.0, "Not Found")
     * @param nodeIp that node's InternalIP, network order; empty when unknown
     * @param local whether that node is the gateway doing the resolving
     * @param egressIp the SNAT address when known: {@code egressIP} of the entry, or (on the gateway
     *     node itself only) the first IPv4 of the interface; empty otherwise
     * @param egressProblem why a local gateway has no egress IP, else null
     */
    public record Gateway(int specIndex, GatewaySpec spec, String nodeName, OptionalInt nodeIp, boolean local,
                          OptionalInt egressIp, String egressProblem) {
        public boolean found() {
            return nodeName != null;
        }

        /** The interface the egress IP comes from ({@code interface} or the default), null with egressIP. */
        public String interfaceName(String defaultInterface) {
            return spec.egressIp() != null ? null : spec.interfaceName() != null ? spec.interfaceName() : defaultInterface;
        }
    }

    /**
     * A selected pod and the gateway it is pinned to.
     *
     * @param gateway index into {@link #gateways()}
     * @param selector index of the first {@code spec.selectors[]} entry that selects it
     */
    public record Endpoint(Pod pod, int gateway, int selector) {
    }
}
