package org.egressgw.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The rig as the Java gateway finds it: no gateway runs, so policy traffic goes into the tunnel and dies
 * there, while everything else still reaches ext through gw-1's kernel.
 */
@Timeout(60)
class TopologyUserspaceIT {

    @Test
    void withoutAGatewayOnlyPolicyTrafficFails() throws Exception {
        try (Topology t = Topology.create(TopologyOptions.userspace().withStaticNeighbour())) {
            assertEquals("you are 198.51.100.1", t.httpGet(t.pod2(), "http://203.0.113.5/").strip());
            assertEquals("you are 198.51.100.1", t.httpGet(t.pod1(), "http://198.18.0.5/").strip());
            ExecResult blackholed = t.probes().httpGetResult(t.pod1(), "http://203.0.113.5/",
                    Duration.ofSeconds(1));
            assertNotEquals(0, blackholed.exitCode(), blackholed::toString);
            String gwAddrs = t.exec(t.gw(), Duration.ofSeconds(5), "ip", "-4", "-o", "addr", "show", "dev", "ext0")
                    .stdout();
            assertFalse(gwAddrs.contains(Topology.EGRESS_IP), gwAddrs);
            assertFalse(t.exec(t.gw(), Duration.ofSeconds(5), "ip", "link", "show", "vxlan0").ok(),
                    "the Java gateway brings its own tunnel endpoint");
            String neigh = t.exec(t.node(), Duration.ofSeconds(5), "ip", "neigh", "show", "dev", "vxlan0").stdout();
            assertTrue(neigh.contains("10.99.0.2 lladdr 02:00:0a:63:00:02 PERMANENT"), neigh);
            String fdb = t.exec(t.node(), Duration.ofSeconds(5), "bridge", "fdb", "show", "dev", "vxlan0").stdout();
            assertTrue(fdb.contains("02:00:0a:63:00:02 dst 198.51.100.2"), fdb);
        }
    }

    @Test
    void byDefaultTheNodeResolvesTheGatewayByArp() throws Exception {
        try (Topology t = Topology.create(TopologyOptions.userspace())) {
            // nothing answers ARP without a gateway: the pod's tunnelled request fails, the entry stays unresolved
            assertNotEquals(0, t.probes().httpGetResult(t.pod1(), "http://203.0.113.5/", Duration.ofSeconds(1)).exitCode());
            String neigh = t.exec(t.node(), Duration.ofSeconds(5), "ip", "neigh", "show", "dev", "vxlan0").stdout();
            assertFalse(neigh.contains("PERMANENT"), neigh);
        }
    }

    @Test
    void assignedEgressIpIsOnExt0AndProcessesDieOnClose() throws Exception {
        Process sleeper;
        String gw;
        try (Topology t = Topology.create(TopologyOptions.userspaceWithAssignedEgressIp())) {
            gw = t.gw();
            String gwAddrs = t.exec(gw, Duration.ofSeconds(5), "ip", "-4", "-o", "addr", "show", "dev", "ext0")
                    .stdout();
            assertTrue(gwAddrs.contains("192.0.2.10/24"), gwAddrs);
            Path log = t.workDir().resolve("sleeper.log");
            sleeper = t.start(gw, List.of("sleep", "300"), log);
            assertTrue(sleeper.isAlive());
            Path config = t.writeGatewayFiles();
            assertTrue(Files.isRegularFile(config.resolveSibling("policies/payment.yaml")));
            assertEquals(ExecResult.TIMED_OUT, t.exec(gw, Duration.ofMillis(300), "sleep", "10").exitCode());
        }
        assertFalse(sleeper.isAlive());
        assertFalse(Topology.listNamespaces().contains(gw));
    }

    @Test
    void cleanupStaleRemovesNamespacesOfDeadRunsOnly() throws Exception {
        // fake a dead run: a namespace with our naming scheme and a marker naming a pid that cannot exist
        String dead = "egwdead";
        Files.createDirectories(RunRegistry.DEFAULT_DIR);
        Files.writeString(RunRegistry.DEFAULT_DIR.resolve(dead), "4194305 1\n");
        String ns = dead + "-pod1";
        try (Topology live = Topology.create(TopologyOptions.userspace())) {
            assertTrue(new ProcessBuilder("ip", "netns", "add", ns).start().waitFor() == 0);
            List<String> removed = Topology.cleanupStale();
            assertEquals(List.of(ns), removed);
            List<String> now = Topology.listNamespaces();
            assertFalse(now.contains(ns));
            assertTrue(now.containsAll(live.namespaces()), "a live run must survive cleanupStale");
            assertFalse(Files.exists(RunRegistry.DEFAULT_DIR.resolve(dead)));
        } finally {
            new ProcessBuilder("ip", "netns", "del", ns).start().waitFor();
            Files.deleteIfExists(RunRegistry.DEFAULT_DIR.resolve(dead));
        }
    }
}
