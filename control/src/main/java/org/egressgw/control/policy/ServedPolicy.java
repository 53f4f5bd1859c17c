package org.egressgw.control.policy;

/**
 * A policy this gateway serves.
 *
 * @param id dense 0..n-1 in policy-name order; the value {@link PolicyTable#lookup} returns
 * @param egressIp SNAT address, network order
 */
public record ServedPolicy(int id, String name, int egressIp) {
}
