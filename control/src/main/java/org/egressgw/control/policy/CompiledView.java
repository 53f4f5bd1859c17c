package org.egressgw.control.policy;

import java.util.List;

/**
 * Every policy as one gateway node resolved it (the listing, status and explain views are built
 * from it). Immutable.
 */
public interface CompiledView {
    /** The gateway node that resolved it, or null for a neutral view (no node is local). */
    String gatewayNodeName();

    /** All policies of the state, in policy-name order (index = rank). */
    List<ResolvedPolicy> resolvedPolicies();
}
