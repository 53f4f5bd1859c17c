package org.egressgw.control.policy;

import java.util.Objects;
import org.egressgw.control.k8s.LabelSelector;

/**
 * A policy's {@code egressGateway} (or one {@code egressGateways[]} entry).
 *
 * @param nodeSelector picks the gateway node: the first matching Node by name
 * @param egressIp the SNAT address (network order), or null
 * @param interfaceName take the egress IP from this interface's first IPv4, or null; at most one
 *     of egressIp and interfaceName is set, when neither is the default interface's is used
 */
public record GatewaySpec(LabelSelector nodeSelector, Integer egressIp, String interfaceName) {
    public GatewaySpec {
        Objects.requireNonNull(nodeSelector, "nodeSelector");
        if (egressIp != null && interfaceName != null) {
            throw new IllegalArgumentException("egressIP and interface are mutually exclusive");
        }
    }
}
