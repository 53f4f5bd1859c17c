package org.egressgw.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The rig with the kernel as the gateway: if these pass, the topology routes, tunnels and SNATs the way the
 * Java gateway's end-to-end tests expect. Needs root (network namespaces).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(60)
class TopologyKernelIT {

    private static Topology topology;

    @BeforeAll
    static void up() throws Exception {
        topology = Topology.create(TopologyOptions.kernel());
    }

    @AfterAll
    static void down() {
        if (topology != null) {
            topology.close();
        }
    }

    @Test
    @Order(1)
    void policyTrafficLeavesWithTheEgressIp() {
        String body = topology.httpGet(topology.pod1(), "http://" + Topology.SERVER_IP + "/");
        assertEquals("you are " + Topology.EGRESS_IP, body.strip());
        assertTrue(topology.serverLog().contains("http 203.0.113.5 192.0.2.10 GET /"), topology.serverLog()::toString);
    }

    @Test
    @Order(2)
    void unselectedPodIsMasqueradedByItsNode() {
        String body = topology.httpGet(topology.pod2(), "http://" + Topology.SERVER_IP + "/");
        assertEquals("you are " + Topology.NODE_UNDERLAY_IP, body.strip());
        assertTrue(topology.serverLog().contains("http 203.0.113.5 198.51.100.1 GET /"));
    }

    @Test
    @Order(3)
    void selectedPodOutsideTheDestinationCidrIsMasqueradedByItsNode() {
        String body = topology.httpGet(topology.pod1(), "http://" + Topology.OTHER_SERVER_IP + "/");
        assertEquals("you are " + Topology.NODE_UNDERLAY_IP, body.strip());
        assertTrue(topology.serverLog().contains("http 198.18.0.5 198.51.100.1 GET /"));
    }

    @Test
    @Order(4)
    void udpEchoAndPingThroughTheTunnel() {
        assertEquals("hello gateway", topology.udpEcho(topology.pod1(), Topology.SERVER_IP, 7, "hello gateway"));
        assertTrue(topology.serverLog().contains("udp 203.0.113.5 192.0.2.10 13"), topology.serverLog()::toString);
        assertTrue(topology.ping(topology.pod1(), Topology.SERVER_IP, 3),
                () -> topology.probes().pingResult(topology.pod1(), Topology.SERVER_IP, 1).toString());
    }

    @Test
    @Order(5)
    void tenMibDownloadArrivesIntact() {
        Probes.Download got = topology.download(topology.pod1(), Probes.tenMibUrl(Topology.SERVER_IP));
        assertEquals(Probes.expectedPattern(Probes.TEN_MIB), got);
    }

    @Test
    @Order(6)
    void tunnelCarriesPolicyTrafficAndExtNeverSeesPodAddresses() {
        Probes.Capture underlay = topology.tcpdump(topology.gw(), "ul0", "udp port 8472",
                topology.workDir().resolve("ul0.pcap"));
        Probes.Capture egress = topology.tcpdump(topology.ext(), "eth0", "",
                topology.workDir().resolve("ext.pcap"));
        topology.httpGet(topology.pod1(), "http://" + Topology.SERVER_IP + "/");
        topology.httpGet(topology.pod2(), "http://" + Topology.SERVER_IP + "/");
        List<String> tunnelled = underlay.packets("");
        assertFalse(tunnelled.isEmpty(), "no VXLAN packets on the underlay");
        // tcpdump decodes port 8472 as OTV, whose "instance" field is where VXLAN keeps the VNI
        assertTrue(tunnelled.stream().anyMatch(l -> l.contains("instance 2,") && l.contains("IP 10.244.1.10.")),
                tunnelled::toString);
        assertTrue(tunnelled.stream().noneMatch(l -> l.contains("10.244.1.11")), "pod2 must not be tunnelled");
        assertEquals(List.of(), egress.packets("net 10.0.0.0/8"), "pod addresses leaked to ext");
        assertFalse(egress.packets("host 192.0.2.10").isEmpty());
        // and even if one did leak, ext could not answer it
        assertFalse(topology.exec(topology.ext(), Duration.ofSeconds(5), "ip", "route", "get", Topology.POD1_IP)
                .ok());
    }

    @Test
    @Order(7)
    void writesGatewayFiles() {
        assertTrue(java.nio.file.Files.isRegularFile(topology.writeGatewayFiles()));
    }

    @Test
    @Order(100)
    void closeRemovesEveryNamespaceOfTheRun() throws Exception {
        String prefix = topology.prefix();
        List<String> before = Topology.listNamespaces();
        assertEquals(5, before.stream().filter(n -> n.startsWith(prefix + "-")).count(), before::toString);
        java.nio.file.Path work = topology.workDir();
        topology.close();
        List<String> after = Topology.listNamespaces();
        assertTrue(after.stream().noneMatch(n -> n.startsWith(prefix)), after::toString);
        assertFalse(java.nio.file.Files.exists(work), "work dir kept: " + work);
        assertFalse(java.nio.file.Files.exists(RunRegistry.DEFAULT_DIR.resolve(prefix)), "marker kept");
        topology.close(); // idempotent
    }
}
