package org.egressgw.core.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.egressgw.testbed.ExecResult;
import org.egressgw.testbed.Probes;
import org.egressgw.testbed.Topology;
import org.egressgw.testbed.TopologyOptions;
import org.junit.jupiter.api.Test;

/**
 * Acceptance f: VXLAN from outside {@code allowedPeers}, and decapsulated packets that no served
 * policy covers, never leave the gateway (a capture on the external side sees nothing) and are
 * counted under their drop reasons. The usual a–e run on this topology as well.
 */
class NotAnOpenRelayIT extends EndToEndBase {
    @Override
    TopologyOptions options() {
        return TopologyOptions.userspace();
    }

    @Test
    void f_foreignPeersAndUncoveredPacketsAreDroppedAndCounted() throws Exception {
        Path script = topo.workDir().resolve("craft_vxlan.py");
        try (InputStream in = getClass().getResourceAsStream("/craft_vxlan.py")) {
            Files.copy(in, script);
        }
        String before = metrics();
        double peerBefore = metric(before, "egw_drops_total{direction=\"request\",reason=\"peer_not_allowed\"}");
        double noPolicyBefore = metric(before, "egw_drops_total{direction=\"request\",reason=\"no_policy\"}");
        Path pcap = topo.workDir().resolve("ext-f.pcap");
        try (Probes.Capture cap = topo.probes().tcpdump(topo.ext(), Topology.EXT_IFACE, "udp port 9999", pcap)) {
            // 1. a VXLAN sender outside allowedPeers (the external host itself) asking for pod1 -> 203.0.113.5
            send(script, topo.ext(), Topology.EXT_IP, Topology.POD1_IP, Topology.SERVER_IP);
            // 2. an allowed node tunnelling a pod that no policy selects (pod2)
            send(script, topo.node(), Topology.NODE_UNDERLAY_IP, Topology.POD2_IP, Topology.SERVER_IP);
            // 3. an allowed node tunnelling pod1 to a destination outside destinationCIDRs
            send(script, topo.node(), Topology.NODE_UNDERLAY_IP, Topology.POD1_IP, Topology.OTHER_SERVER_IP);
            Thread.sleep(500);
            cap.stop();
            assertEquals(0, cap.packets("").size(), () -> "leaked: " + cap.packets(""));
        }
        String after = metrics();
        assertTrue(metric(after, "egw_drops_total{direction=\"request\",reason=\"peer_not_allowed\"}") >= peerBefore + 3, after);
        assertTrue(metric(after, "egw_drops_total{direction=\"request\",reason=\"no_policy\"}") >= noPolicyBefore + 6, after);
    }

    private void send(Path script, String ns, String bindIp, String innerSrc, String innerDst) {
        ExecResult r = topo.exec(ns, Duration.ofSeconds(10), Topology.PYTHON, script.toString(), bindIp,
                Topology.GW_UNDERLAY_IP, Integer.toString(Topology.VXLAN_PORT), Integer.toString(Topology.VNI),
                Topology.GW_MAC, innerSrc, innerDst, "9999", "3");
        assertTrue(r.ok(), r::toString);
    }
}
