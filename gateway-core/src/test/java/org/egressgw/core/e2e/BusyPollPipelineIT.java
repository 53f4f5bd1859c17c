package org.egressgw.core.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.egressgw.testbed.Probes;
import org.egressgw.testbed.Topology;
import org.egressgw.testbed.TopologyOptions;
import org.junit.jupiter.api.Test;

/**
 * Acceptance a–e with the inline pipeline busy-polling ({@code pipeline.idle: spin}) and the tunnel
 * read through a Netty datagram channel ({@code tunnel.reader: channel}): the event loop
 * never blocks, so its scheduled housekeeping (expiry, statistics) must still run between polls.
 */
class BusyPollPipelineIT extends EndToEndBase {
    @Override
    TopologyOptions options() {
        return TopologyOptions.userspace();
    }

    @Override
    String editConfig(String yaml) {
        // also the one end-to-end run without the transmit offload: every reply through the raw socket
        return yaml.replace("tunnel: {", "tunnel: {reader: channel, offload: off, ")
                + "pipeline: {mode: inline, idle: spin, cpu: 0}\nconntrack: {timeouts: {udp: 2s}}\n";
    }

    @Test
    void ranInlineBusyPollingWithTheChannelReader() throws Exception {
        topo.probes().download(topo.pod1(), Probes.tenMibUrl(Topology.SERVER_IP));
        String log = gateway.log();
        assertTrue(log.contains("pipeline: inline") && log.contains("busy-polling"), log);
        assertTrue(log.contains("tunnel: Netty datagram channel"), log);
        assertFalse(log.contains("plumbing: + TAP device"), log);
        assertEquals(0, metric(metrics(), "egw_super_packets_total"));
        assertEquals("0", datapathThreadCpus(), "the event loop that runs the datapath is pinned");
    }

    @Test
    void housekeepingRunsWithoutTraffic() throws Exception {
        // with no packet flowing, only the scheduled housekeeping expires connections: a UDP flow
        // with a 2 s timeout must be expired (the sweep covers the table in ~5 s slices)
        double before = metric(metrics(), "egw_connections_expired_total");
        topo.probes().udpEcho(topo.pod1(), Topology.SERVER_IP, Topology.UDP_ECHO_PORT, "busy-poll-expiry");
        double after = before;
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(15);
        while (after <= before && System.nanoTime() < deadline) {
            Thread.sleep(500);
            after = metric(metrics(), "egw_connections_expired_total");
        }
        assertTrue(after > before, "expired before " + before + ", after " + after);
    }
}
