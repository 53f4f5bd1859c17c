package org.egressgw.core.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.egressgw.testbed.Probes;
import org.egressgw.testbed.Topology;
import org.egressgw.testbed.TopologyOptions;
import org.junit.jupiter.api.Test;

/**
 * Acceptance a–e with the other pipeline: {@code pipeline.mode: handoff} (receiver threads and a
 * datapath thread joined by rings) and the tunnel read through a Netty datagram channel
 * ({@code tunnel.reader: channel}) — the arrangement that measured best for multi-stream TCP.
 */
class HandoffPipelineIT extends EndToEndBase {
    @Override
    TopologyOptions options() {
        return TopologyOptions.userspace();
    }

    @Override
    String editConfig(String yaml) {
        return yaml.replace("tunnel: {", "tunnel: {reader: channel, ") + "pipeline: {mode: handoff}\n";
    }

    @Test
    void ranTheHandoffPipelineWithTheChannelReader() throws Exception {
        topo.probes().download(topo.pod1(), Probes.tenMibUrl(Topology.SERVER_IP));
        String log = gateway.log();
        assertTrue(log.contains("pipeline: handoff"), log);
        assertTrue(log.contains("tunnel: Netty datagram channel"), log);
    }
}
