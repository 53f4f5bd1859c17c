package org.egressgw.control.policy;

/**
 * A policy this gateway serves, with one of its egress IPs (a policy with several
 * {@code egressGateways[]} entries on this node with different egress IPs has one per IP).
 *
 * @param id dense 0..n-1 in policy-name order, then egress IP order; the value
 *     {@link PolicyTable#lookup} returns
 * @param egressIp SNAT address, network order
 */
public record ServedPolicy(int id, String name, int egressIp) {
}
