package org.egressgw.core.e2e;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
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

    @Test
    void kernelConntrackStaysOffTheGatewaysFlows() throws Exception {
        // a host firewall rule that makes the kernel track connections in the gateway's namespace
        ExecResult rule = topo.exec(topo.gw(), Duration.ofSeconds(10), "iptables", "-w", "5", "-A", "FORWARD", "-m",
                "conntrack", "--ctstate", "INVALID", "-j", "DROP");
        assertTrue(rule.ok(), rule::toString);
        String body = topo.probes().httpGet(topo.pod1(), "http://" + Topology.SERVER_IP + "/");
        assertTrue(body.contains("you are " + Topology.EGRESS_IP), body);
        ExecResult egress = topo.exec(topo.gw(), Duration.ofSeconds(10), "conntrack", "-L", "-s", Topology.EGRESS_IP);
        assertFalse(egress.stdout().contains(Topology.EGRESS_IP), "kernel tracked a translated flow: " + egress);
        ExecResult tunnel = topo.exec(topo.gw(), Duration.ofSeconds(10), "conntrack", "-L", "-p", "udp", "--dport",
                Integer.toString(Topology.VXLAN_PORT));
        assertFalse(tunnel.stdout().contains("dport=" + Topology.VXLAN_PORT), "kernel tracked the tunnel: " + tunnel);
        assertTrue(gateway.log().contains("plumbing: + nft add rule ip egress_gateway prerouting iifname egw0 notrack"));
        // the control: the kernel does track what it forwards for itself (pod2, masqueraded by node-a)
        topo.probes().httpGet(topo.pod2(), "http://" + Topology.SERVER_IP + "/");
        ExecResult own = topo.exec(topo.gw(), Duration.ofSeconds(10), "conntrack", "-L", "-s", Topology.NODE_UNDERLAY_IP);
        assertTrue(own.stdout().contains("src=" + Topology.NODE_UNDERLAY_IP), "conntrack is active in the namespace: " + own);
    }
}
