package org.egressgw.core.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.egressgw.testbed.ExecResult;
import org.egressgw.testbed.Topology;
import org.egressgw.testbed.TopologyOptions;
import org.junit.jupiter.api.Test;

/**
 * Acceptance g: a–e again with the egress IP also assigned to the gateway's egress interface (the
 * kernel must not answer the replies itself), and node-a using static neighbour/FDB entries for the
 * gateway as Cilium does.
 */
class AssignedEgressIpIT extends EndToEndBase {
    @Override
    TopologyOptions options() {
        return TopologyOptions.userspaceWithAssignedEgressIp().withStaticNeighbour();
    }

    @Test
    void kernelSentNoResetsForTheEgressIp() {
        long before = outRsts();
        topo.probes().httpGet(topo.pod1(), "http://" + Topology.SERVER_IP + "/");
        assertEquals(before, outRsts(), "the gateway's kernel answered a reply for the egress IP with a RST");
    }

    private long outRsts() {
        ExecResult r = topo.exec(topo.gw(), Duration.ofSeconds(5), "nstat", "-asz", "TcpOutRsts");
        assertTrue(r.ok(), r::toString);
        return r.stdout().lines().filter(l -> l.startsWith("TcpOutRsts")).mapToLong(l -> Long.parseLong(l.split("\\s+")[1]))
                .findFirst().orElseThrow();
    }
}
