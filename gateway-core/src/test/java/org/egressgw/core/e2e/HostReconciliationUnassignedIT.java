package org.egressgw.core.e2e;

/** {@link HostReconciliationBase} with the egress IP not assigned to the gateway host (route + proxy ARP). */
class HostReconciliationUnassignedIT extends HostReconciliationBase {
    @Override
    boolean assigned() {
        return false;
    }
}
