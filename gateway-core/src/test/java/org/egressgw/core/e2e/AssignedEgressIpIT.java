package org.egressgw.core.e2e;

import org.egressgw.testbed.TopologyOptions;

/** Acceptance g: a–e again with the egress IP also assigned to the gateway's egress interface. */
class AssignedEgressIpIT extends EndToEndBase {
    @Override
    TopologyOptions options() {
        return TopologyOptions.userspaceWithAssignedEgressIp();
    }
}
