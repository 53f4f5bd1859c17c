package org.egressgw.core.e2e;

import org.egressgw.testbed.TopologyOptions;

/** Acceptance a–e (and f, in {@link NotAnOpenRelayIT}) with the egress IP not assigned to any interface. */
class UnassignedEgressIpIT extends EndToEndBase {
    @Override
    TopologyOptions options() {
        return TopologyOptions.userspace();
    }
}
