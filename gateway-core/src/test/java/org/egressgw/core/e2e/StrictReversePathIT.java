package org.egressgw.core.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.egressgw.testbed.Probes;
import org.egressgw.testbed.Topology;
import org.egressgw.testbed.TopologyOptions;
import org.junit.jupiter.api.Test;

/**
 * Acceptance a–e on a host with strict reverse-path filtering ({@code net.ipv4.conf.all.rp_filter=1}):
 * the kernel would drop every packet forwarded from the transmit-offload TAP device (its source is the
 * host's own tunnel address), so {@code tunnel.offload: auto} turns the offload off and says why, and
 * replies leave through the raw socket as before.
 */
class StrictReversePathIT extends EndToEndBase {
    @Override
    TopologyOptions options() {
        return TopologyOptions.userspace();
    }

    @Override
    int reversePathFilter() {
        return 1;
    }

    @Test
    void transmitOffloadIsTurnedOffAndSaysWhy() throws Exception {
        assertEquals(Probes.expectedPattern(Probes.TEN_MIB),
                topo.probes().download(topo.pod1(), Probes.tenMibUrl(Topology.SERVER_IP)));
        String log = gateway.log();
        assertTrue(log.contains("tunnel: transmit offload off: net.ipv4.conf.all.rp_filter=1 or .default.rp_filter=1 (strict)"), log);
        assertFalse(log.contains("plumbing: + TAP device"), log);
        assertEquals(0, metric(metrics(), "egw_super_packets_total"));
    }
}
