package org.egressgw.core.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.egressgw.testbed.ExecResult;
import org.egressgw.testbed.Probes;
import org.egressgw.testbed.Topology;
import org.egressgw.testbed.TopologyOptions;
import org.junit.jupiter.api.Test;

/**
 * Acceptance a–e with {@code tunnel.offload: on} and every offload switched off on the gateway's underlay
 * interface: the kernel must then cut each VXLAN super-packet the gateway writes into datagrams and finish
 * each inner TCP checksum from the started sum the gateway left after translating — and the pod's TCP stack
 * verifies every one. (With offloads on, as in the other ITs, the super-packet crosses the veth whole and
 * nobody ever checks that sum.) A wrong sum shows as checksum errors in the pod and a download that fails.
 */
class TransmitOffloadIT extends EndToEndBase {
    private static final Pattern CSUM_ERRORS = Pattern.compile("TcpInCsumErrors\\s+(\\d+)");

    @Override
    TopologyOptions options() {
        return TopologyOptions.userspace();
    }

    @Override
    String editConfig(String yaml) {
        ExecResult r = topo.exec(topo.gw(), Duration.ofSeconds(10), "ethtool", "-K", Topology.UNDERLAY_IFACE,
                "tso", "off", "gso", "off", "tx", "off", "tx-udp_tnl-segmentation", "off");
        if (!r.ok()) {
            throw new IllegalStateException("ethtool: " + r);
        }
        return yaml.replace("tunnel: {", "tunnel: {offload: on, ");
    }

    @Test
    void superPacketsAreCutByTheKernelWithChecksumsThePodAccepts() throws Exception {
        long before = podChecksumErrors();
        long kernelDropsBefore = gatewayKernelDrops();
        double superBefore = metric(metrics(), "egw_super_packets_total");
        long tapBefore = tapCounter("rx_packets");
        for (int i = 0; i < 3; i++) {
            assertEquals(Probes.expectedPattern(Probes.TEN_MIB),
                    topo.probes().download(topo.pod1(), Probes.tenMibUrl(Topology.SERVER_IP)));
        }
        String log = gateway.log();
        assertTrue(log.contains("tunnel: transmit offload: "), log);
        String m = metrics();
        assertTrue(metric(m, "egw_super_packets_total") > 0, m);
        assertEquals(0, metric(m, "egw_drops_total{direction=\"reply\",reason=\"offload_invalid\"}"), m);
        assertEquals(0, metric(m, "egw_drops_total{direction=\"reply\",reason=\"tx_failed\"}"), m);
        assertEquals(before, podChecksumErrors(), "TCP checksum errors counted in the pod");
        // what the gateway wrote, the kernel took and forwarded: nothing lost where no counter of ours sees it
        assertEquals((long) (metric(m, "egw_super_packets_total") - superBefore), tapCounter("rx_packets") - tapBefore,
                "frames the TAP device received = super-packets sent");
        assertEquals(0, tapCounter("rx_dropped"));
        assertEquals(kernelDropsBefore, gatewayKernelDrops(),
                "reverse-path, address and no-route drops in the gateway's namespace");
    }

    private long tapCounter(String name) {
        ExecResult r = topo.exec(topo.gw(), Duration.ofSeconds(10), "cat", "/sys/class/net/egwtx0/statistics/" + name);
        assertTrue(r.ok(), r::toString);
        return Long.parseLong(r.stdout().strip());
    }

    private long gatewayKernelDrops() {
        ExecResult r = topo.exec(topo.gw(), Duration.ofSeconds(10), "nstat", "-az", "TcpExtIPReversePathFilter",
                "IpInAddrErrors", "IpExtInNoRoutes");
        assertTrue(r.ok(), r::toString);
        return r.stdout().lines().filter(l -> !l.startsWith("#")).mapToLong(l -> Long.parseLong(l.trim().split("\\s+")[1]))
                .sum();
    }

    private long podChecksumErrors() {
        ExecResult r = topo.exec(topo.pod1(), Duration.ofSeconds(10), "nstat", "-az", "TcpInCsumErrors");
        Matcher matcher = CSUM_ERRORS.matcher(r.stdout());
        assertTrue(matcher.find(), r::toString);
        return Long.parseLong(matcher.group(1));
    }
}
