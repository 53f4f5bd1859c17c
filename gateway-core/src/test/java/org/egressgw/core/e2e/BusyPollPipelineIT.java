package org.egressgw.core.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.egressgw.testbed.Probes;
import org.egressgw.testbed.Topology;
import org.egressgw.testbed.TopologyOptions;
import org.junit.jupiter.api.Test;

/**
 * Acceptance a–e with the inline pipeline busy-polling ({@code pipeline.idle: spin}): the event loop
 * never blocks, so its scheduled housekeeping must still run between polls.
 */
class BusyPollPipelineIT extends EndToEndBase {
    @Override
    TopologyOptions options() {
        return TopologyOptions.userspace();
    }

    @Override
    String editConfig(String yaml) {
        return yaml + "pipeline: {mode: inline, idle: spin}\n";
    }

    @Test
    void ranInlineBusyPollingWithTheDirectReader() throws Exception {
        topo.probes().download(topo.pod1(), Probes.tenMibUrl(Topology.SERVER_IP));
        String log = gateway.log();
        assertTrue(log.contains("pipeline: inline") && log.contains("busy-polling"), log);
        assertTrue(log.contains("tunnel: recvmmsg straight into ring slots"), log);
    }

    @Test
    void statisticsAreStillPublishedWhileBusyPolling() throws Exception {
        // statistics are published by the datapath's housekeeping (every second): conntrack stats
        // showing the connection proves the scheduled task ran on the busy event loop
        topo.probes().httpGet(topo.pod1(), "http://" + Topology.SERVER_IP + "/");
        Thread.sleep(1500);
        String m = metrics();
        assertTrue(metric(m, "egw_nat_ports_in_use{egress_ip=\"" + Topology.EGRESS_IP + "\"}") >= 1, m);
    }
}
