package org.egressgw.core.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.egressgw.testbed.Probes;
import org.egressgw.testbed.Topology;
import org.egressgw.testbed.TopologyOptions;
import org.junit.jupiter.api.Test;

/**
 * Acceptance a–e with the other pipeline: {@code pipeline.mode: handoff} (receiver threads and a
 * datapath thread joined by rings; the arrangement that measured best for multi-stream TCP), with
 * the default direct tunnel reader.
 */
class HandoffPipelineIT extends EndToEndBase {
    @Override
    TopologyOptions options() {
        return TopologyOptions.userspace();
    }

    @Override
    String editConfig(String yaml) {
        try {
            return yaml + "pipeline: {mode: handoff, cpu: " + lastAllowedCpu() + "}\n";
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void ranTheHandoffPipeline() throws Exception {
        topo.probes().download(topo.pod1(), Probes.tenMibUrl(Topology.SERVER_IP));
        String log = gateway.log();
        assertTrue(log.contains("pipeline: handoff"), log);
        assertTrue(log.contains("tunnel: recvmmsg straight into ring slots"), log);
        assertTrue(log.contains("pipeline: the datapath thread is pinned to CPU " + lastAllowedCpu()), log);
        assertEquals(Integer.toString(lastAllowedCpu()), datapathThreadCpus());
    }
}
