package org.egressgw.core.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.egressgw.testbed.ExecResult;
import org.egressgw.testbed.Topology;
import org.egressgw.testbed.TopologyOptions;
import org.junit.jupiter.api.Test;

/**
 * A new user's config without {@code tunnel.overlayIP}: the node's kernel resolves the gateway's overlay address by
 * ARP over the tunnel as usual, and the gateway answers for whatever address it is asked (acceptance a–e hold);
 * a frame for another MAC is dropped, counted, and explained once in the log.
 */
class NoOverlayAddressIT extends EndToEndBase {
    /** An overlay address the node thinks is at another MAC: its frames reach the gateway addressed to that MAC. */
    private static final String ELSEWHERE_IP = "10.99.0.77";
    private static final String ELSEWHERE_MAC = "02:00:0a:63:00:77";

    @Override
    TopologyOptions options() {
        return TopologyOptions.userspace();
    }

    @Override
    String editConfig(String yaml) {
        String edited = yaml.replace(", overlayIP: " + Topology.GW_OVERLAY_IP, "");
        assertTrue(!edited.equals(yaml) && !edited.contains("overlayIP"), edited);
        return edited;
    }

    @Test
    void theNodeResolvedTheGatewayByArpAndAWrongMacIsExplainedOnce() throws Exception {
        ExecResult neigh = topo.exec(topo.node(), Duration.ofSeconds(5), "ip", "neigh", "show", Topology.GW_OVERLAY_IP);
        assertTrue(neigh.stdout().contains("lladdr " + Topology.GW_MAC), "resolved by ARP over the tunnel: " + neigh);
        assertTrue(metric(metrics(), "egw_arp_replies_total") >= 1, metrics());

        assertTrue(topo.exec(topo.node(), Duration.ofSeconds(5), "ip", "neigh", "replace", ELSEWHERE_IP, "lladdr",
                ELSEWHERE_MAC, "dev", Topology.VXLAN_IFACE, "nud", "permanent").ok());
        topo.exec(topo.node(), Duration.ofSeconds(10), "ping", "-n", "-c", "3", "-i", "0.2", "-W", "1", ELSEWHERE_IP);
        assertTrue(metric(metrics(), "egw_drops_total{direction=\"request\",reason=\"not_our_mac\"}") >= 3, metrics());
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!gateway.log().contains("counted as not_our_mac") && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        topo.exec(topo.node(), Duration.ofSeconds(10), "ping", "-n", "-c", "2", "-i", "0.2", "-W", "1", ELSEWHERE_IP);
        Thread.sleep(1500);
        String log = gateway.log();
        assertEquals(1, log.split("counted as not_our_mac", -1).length - 1, log);
        assertTrue(log.contains("any address the node asks for"), log);
    }
}
