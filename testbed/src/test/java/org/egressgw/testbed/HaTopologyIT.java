package org.egressgw.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
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
 * The HA rig's plumbing with the kernel standing in for the active member: the node's tunnel follows the virtual
 * IP from gwa to gwb, pod2 never notices, and a member's cut link shows as lost carrier. Needs root.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(60)
class HaTopologyIT {

    private static final Duration SHORT = Duration.ofSeconds(5);
    private static final String URL = "http://" + HaTopology.SERVER_IP + "/";

    private static HaTopology topology;

    @BeforeAll
    static void up() throws Exception {
        topology = HaTopology.create();
    }

    @AfterAll
    static void down() {
        if (topology != null) {
            topology.close();
        }
    }

    @Test
    @Order(1)
    void sevenNamespacesAndNoMemberHoldsTheGroupsAddresses() {
        assertEquals(List.of("pod1", "pod2", "node", "gwa", "gwb", "ext", "sw"),
                topology.namespaces().stream().map(n -> n.substring(topology.prefix().length() + 1)).toList());
        for (int i = 0; i < 2; i++) {
            String addrs = addresses(topology.member(i));
            assertTrue(addrs.contains(HaTopology.MEMBER_UNDERLAY_IPS.get(i) + "/24"), addrs);
            assertTrue(addrs.contains(HaTopology.MEMBER_EXT_IPS.get(i) + "/24"), addrs);
            assertFalse(addrs.contains(HaTopology.VIRTUAL_IP), addrs);
            assertFalse(addrs.contains(HaTopology.EGRESS_IP), addrs);
        }
        List<String> ports = topology.exec(topology.sw(), SHORT, "bridge", "link", "show").stdout().lines().toList();
        for (String port : List.of("ul-node", "ul-gwa", "ul-gwb", "ex-gwa", "ex-gwb", "ex-ext")) {
            String bridge = port.startsWith("ul-") ? "master brul " : "master brext ";
            // iproute2 names a peer in another namespace by the local device with the same ifindex
            // ("ex-ext@brul"), so only the name before '@' or ':' means anything
            assertTrue(ports.stream().anyMatch(l -> l.matches("\\d+: " + port + "[@:].*") && l.contains(bridge)
                    && l.contains("state forwarding")), ports::toString);
        }
        String tunnel = topology.exec(topology.node(), SHORT, "ip", "-d", "link", "show", "vxlan0").stdout();
        assertTrue(tunnel.contains("remote 198.51.100.40 local 198.51.100.1"), tunnel);
    }

    @Test
    @Order(2)
    void withoutAnActiveMemberOnlyPolicyTrafficFails() {
        assertEquals("you are " + HaTopology.NODE_UNDERLAY_IP, topology.probes().httpGet(topology.pod2(), URL).strip());
        assertEquals("you are " + HaTopology.NODE_UNDERLAY_IP,
                topology.probes().httpGet(topology.pod1(), "http://" + HaTopology.OTHER_SERVER_IP + "/").strip());
        ExecResult blackholed = topology.probes().httpGetResult(topology.pod1(), URL, Duration.ofSeconds(1));
        assertNotEquals(0, blackholed.exitCode(), blackholed::toString);
    }

    @Test
    @Order(3)
    void gwaActiveServesPod1WithTheEgressIp() throws Exception {
        topology.kernelTakeover(0);
        assertEquals("you are " + HaTopology.EGRESS_IP, topology.probes().httpGet(topology.pod1(), URL).strip());
        assertTrue(topology.serverLog().contains("http 203.0.113.5 192.0.2.10 GET /"), topology.serverLog()::toString);
        assertEquals("ha", tcpEcho("ha"));
        assertTrue(topology.tcpEchoLog().stream().anyMatch(l -> l.startsWith("connection from 192.0.2.10:")),
                topology.tcpEchoLog()::toString);
        assertEquals("hello group", topology.probes().udpEcho(topology.pod1(), HaTopology.SERVER_IP,
                HaTopology.UDP_ECHO_PORT, "hello group"));
        assertEquals("you are " + HaTopology.NODE_UNDERLAY_IP, topology.probes().httpGet(topology.pod2(), URL).strip());
        assertEquals(mac(topology.gwa(), "ul0"), neighbour(topology.node(), "ul0", HaTopology.VIRTUAL_IP));
    }

    @Test
    @Order(4)
    void theTunnelAndTheEgressIpMoveToGwb() throws Exception {
        int before = topology.serverLog().size();
        topology.kernelRelease(0);
        String left = addresses(topology.gwa());
        assertFalse(left.contains(HaTopology.VIRTUAL_IP) || left.contains(HaTopology.EGRESS_IP), left);
        topology.kernelTakeover(1);
        // the gratuitous ARPs moved the node's and ext's entries before any traffic needed them
        assertEquals(mac(topology.gwb(), "ul0"), awaitNeighbour(topology.node(), "ul0", HaTopology.VIRTUAL_IP,
                mac(topology.gwb(), "ul0")));
        assertEquals(mac(topology.gwb(), "ext0"), awaitNeighbour(topology.ext(), "eth0", HaTopology.EGRESS_IP,
                mac(topology.gwb(), "ext0")));

        Probes.Capture viaGwb = topology.probes().tcpdump(topology.gwb(), "ul0", "udp port 8472",
                topology.workDir().resolve("gwb-ul0.pcap"));
        assertEquals("you are " + HaTopology.EGRESS_IP, topology.probes().httpGet(topology.pod1(), URL).strip());
        List<String> tunnelled = viaGwb.packets("");
        assertTrue(tunnelled.stream().anyMatch(l -> l.contains("198.51.100.1.") && l.contains("> 198.51.100.40.8472")
                && l.contains("IP 10.244.1.10.")), tunnelled::toString);
        assertTrue(topology.serverLog().subList(before, topology.serverLog().size())
                .contains("http 203.0.113.5 192.0.2.10 GET /"), topology.serverLog()::toString);
        assertEquals("you are " + HaTopology.NODE_UNDERLAY_IP, topology.probes().httpGet(topology.pod2(), URL).strip());
    }

    @Test
    @Order(5)
    void cuttingTheStandbysLinksShowsAsLostCarrierAndLeavesTrafficAlone() throws Exception {
        topology.cutUnderlay(0);
        assertTrue(link(topology.gwa(), "ul0").contains("NO-CARRIER"), link(topology.gwa(), "ul0"));
        assertFalse(link(topology.gwa(), "ext0").contains("NO-CARRIER"));
        assertEquals("you are " + HaTopology.EGRESS_IP, topology.probes().httpGet(topology.pod1(), URL).strip());
        topology.restoreUnderlay(0);
        assertFalse(link(topology.gwa(), "ul0").contains("NO-CARRIER"), link(topology.gwa(), "ul0"));
        assertTrue(topology.probes().ping(topology.gwa(), HaTopology.NODE_UNDERLAY_IP, 1));

        topology.cutExternal(0);
        assertTrue(link(topology.gwa(), "ext0").contains("NO-CARRIER"), link(topology.gwa(), "ext0"));
        assertFalse(topology.probes().ping(topology.gwa(), HaTopology.EXT_IP, 1));
        topology.restoreExternal(0);
        assertFalse(link(topology.gwa(), "ext0").contains("NO-CARRIER"), link(topology.gwa(), "ext0"));
        assertTrue(topology.probes().ping(topology.gwa(), HaTopology.EXT_IP, 1));
    }

    @Test
    @Order(6)
    void cuttingTheActivesUnderlayStopsPolicyTrafficUntilItIsRestored() throws Exception {
        topology.cutUnderlay(1);
        ExecResult cut = topology.probes().httpGetResult(topology.pod1(), URL, Duration.ofSeconds(1));
        assertNotEquals(0, cut.exitCode(), cut::toString);
        assertEquals("you are " + HaTopology.NODE_UNDERLAY_IP, topology.probes().httpGet(topology.pod2(), URL).strip());
        topology.restoreUnderlay(1);
        // the node's entry for the virtual IP may have failed meanwhile; it resolves again on the next packet
        assertEquals("you are " + HaTopology.EGRESS_IP, topology.probes().httpGetResult(topology.pod1(), URL,
                Duration.ofSeconds(10)).stdout().strip());
    }

    @Test
    @Order(7)
    void writesEachMembersGatewayFiles() throws Exception {
        Path a = topology.writeGatewayFiles(0, 200, "s3cret");
        Path b = topology.writeGatewayFiles(1, 100, "s3cret");
        assertEquals(topology.workDir().resolve("gwa").resolve("config.yaml"), a);
        assertEquals(topology.workDir().resolve("gwb").resolve("config.yaml"), b);
        assertEquals("""
                node: {name: gw-1}
                tunnel: {listen: "198.51.100.40:8472", vni: 2, allowedPeers: ["198.51.100.0/24"], overlayIP: 10.99.0.2, \
                mac: "02:00:0a:63:00:02"}
                egress: {interface: ext0, device: egw0}
                cluster: {paths: [policies, inventory]}
                admin: {listen: "127.0.0.1:9464"}
                ha: {peers: ["198.51.100.32"], virtualIP: 198.51.100.40, priority: 200, secretFile: ha.key}
                """, Files.readString(a));
        assertTrue(Files.readString(b).contains(
                "ha: {peers: [\"198.51.100.31\"], virtualIP: 198.51.100.40, priority: 100, secretFile: ha.key}"));
        Path key = a.resolveSibling("ha.key");
        assertEquals("s3cret", Files.readString(key));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
        assertEquals(GatewayFiles.paymentPolicyYaml(), Files.readString(a.resolveSibling(GatewayFiles.POLICY_FILE)));
        assertEquals(GatewayFiles.clusterInventoryYaml(),
                Files.readString(b.resolveSibling(GatewayFiles.INVENTORY_FILE)));
        assertThrows(IllegalArgumentException.class, () -> topology.writeGatewayFiles(2, 100, "x"));
        assertThrows(IllegalArgumentException.class, () -> topology.writeGatewayFiles(0, 0, "x"));
        assertThrows(IllegalArgumentException.class, () -> topology.writeGatewayFiles(0, 100, " "));
    }

    @Test
    @Order(100)
    void closeRemovesEveryNamespaceOfTheRun() throws Exception {
        String prefix = topology.prefix();
        List<String> before = Topology.listNamespaces();
        assertEquals(7, before.stream().filter(n -> n.startsWith(prefix + "-")).count(), before::toString);
        Path work = topology.workDir();
        topology.close();
        List<String> after = Topology.listNamespaces();
        assertTrue(after.stream().noneMatch(n -> n.startsWith(prefix)), after::toString);
        assertFalse(Files.exists(work), "work dir kept: " + work);
        assertFalse(Files.exists(RunRegistry.DEFAULT_DIR.resolve(prefix)), "marker kept");
        topology.close(); // idempotent
    }

    /** One line to the TCP echo server from pod1; what came back. */
    private static String tcpEcho(String text) {
        ExecResult r = topology.exec(topology.pod1(), Duration.ofSeconds(10), Topology.PYTHON, "-c",
                "import socket,sys\n"
                        + "s=socket.create_connection(('" + HaTopology.SERVER_IP + "'," + HaTopology.TCP_ECHO_PORT
                        + "),timeout=5)\n"
                        + "s.sendall(sys.argv[1].encode());print(s.recv(100).decode())", text);
        assertEquals(0, r.exitCode(), r::toString);
        return r.stdout().strip();
    }

    private static String addresses(String ns) {
        return topology.exec(ns, SHORT, "ip", "-4", "-o", "addr", "show").stdout();
    }

    private static String link(String ns, String iface) {
        return topology.exec(ns, SHORT, "ip", "link", "show", iface).stdout();
    }

    private static String mac(String ns, String iface) {
        return topology.exec(ns, SHORT, "cat", "/sys/class/net/" + iface + "/address").stdout().strip();
    }

    /**
     * The neighbour entry's MAC once it is {@code expected}, or whatever it is after a second: the receiver
     * handles an ARP packet in its own softirq, a moment after the sender returned.
     */
    private static String awaitNeighbour(String ns, String iface, String ip, String expected)
            throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(1).toNanos();
        String got = neighbour(ns, iface, ip);
        while (!got.equals(expected) && System.nanoTime() < deadline) {
            Thread.sleep(20);
            got = neighbour(ns, iface, ip);
        }
        return got;
    }

    /** The MAC {@code ns}'s neighbour entry for {@code ip} on {@code iface} holds, or the whole line. */
    private static String neighbour(String ns, String iface, String ip) {
        String line = topology.exec(ns, SHORT, "ip", "neigh", "show", ip, "dev", iface).stdout().strip();
        String[] words = line.split("\\s+");
        for (int i = 0; i + 1 < words.length; i++) {
            if (words[i].equals("lladdr")) {
                return words[i + 1];
            }
        }
        return line;
    }
}
