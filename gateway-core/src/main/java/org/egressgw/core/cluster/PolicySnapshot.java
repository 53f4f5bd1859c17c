package org.egressgw.core.cluster;

import java.time.Instant;
import org.egressgw.control.policy.ClusterState;
import org.egressgw.control.policy.CompiledPolicies;

/**
 * What the gateway serves right now: the cluster state it last received and what it compiled
 * from it. Immutable; replaced whole on every change.
 *
 * @param generation 1 for the state at start, +1 for every applied change
 */
public record PolicySnapshot(ClusterState state, CompiledPolicies compiled, long generation, Instant appliedAt) {
}
