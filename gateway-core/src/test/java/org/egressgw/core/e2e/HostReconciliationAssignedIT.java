package org.egressgw.core.e2e;

import org.egressgw.testbed.TopologyOptions;

/** {@link HostReconciliationBase} with the egress IP assigned to the egress interface (tc redirect). */
class HostReconciliationAssignedIT extends HostReconciliationBase {
    @Override
    TopologyOptions options() {
        return TopologyOptions.userspaceWithAssignedEgressIp();
    }

    @Override
    boolean assigned() {
        return true;
    }
}
