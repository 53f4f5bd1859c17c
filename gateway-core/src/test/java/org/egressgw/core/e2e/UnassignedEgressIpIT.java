package org.egressgw.core.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.egressgw.testbed.ExecResult;
import org.egressgw.testbed.Probes;
import org.egressgw.testbed.Topology;
import org.egressgw.testbed.TopologyOptions;
import org.junit.jupiter.api.Test;

/**
 * Acceptance a–e with the egress IP not assigned to any interface, node-a resolving the gateway by
 * ARP through the tunnel, and pods with MTU 1500 — so they announce an MSS the tunnel cannot carry
 * and only the gateway's clamping keeps full-size replies from being black-holed.
 */
class UnassignedEgressIpIT extends EndToEndBase {
    @Override
    TopologyOptions options() {
        return TopologyOptions.userspace().withPodMtu(1500);
    }

    @Test
    void nodeResolvedTheGatewayByArpAndMssWasClamped() {
        topo.probes().download(topo.pod1(), Probes.tenMibUrl(Topology.SERVER_IP));
        String m = metrics();
        assertTrue(metric(m, "egw_arp_replies_total") >= 1, m);
        assertTrue(metric(m, "egw_mss_clamped_total{direction=\"request\"}") >= 1, m);
    }

    @Test
    void conntrackListShowsTheTranslation() {
        topo.probes().httpGet(topo.pod1(), "http://" + Topology.SERVER_IP + "/");
        ExecResult list = cli("conntrack", "list");
        assertTrue(list.ok(), list::toString);
        assertTrue(list.stdout().lines().anyMatch(l -> l.startsWith("tcp") && l.contains(Topology.POD1_IP + ":")
                && l.contains("-> " + Topology.EGRESS_IP + ":") && l.contains("payment-processor-egress")
                && l.contains("node " + Topology.NODE_UNDERLAY_IP)), list.stdout());
        ExecResult json = cli("conntrack", "list", "-o", "json");
        assertTrue(json.ok() && json.stdout().contains("\"policy\":\"payment-processor-egress\""), json::toString);
        ExecResult stats = cli("conntrack", "stats");
        assertTrue(stats.ok() && stats.stdout().contains("entries") && stats.stdout().contains("by state"), stats::toString);
    }
}
