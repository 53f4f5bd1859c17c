package org.egressgw.core.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.egressgw.testbed.GatewayProcess;
import org.egressgw.testbed.ExecResult;
import org.egressgw.testbed.Probes;
import org.egressgw.testbed.Topology;
import org.egressgw.testbed.TopologyOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The acceptance a–e through the real kernel: namespaces, veths, the node's kernel VXLAN
 * device, the gateway as its own process (bin/egress-gateway), a real HTTP/UDP server.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
abstract class EndToEndBase {
    protected Topology topo;
    protected GatewayProcess gateway;

    abstract TopologyOptions options();

    /**
     * {@code net.ipv4.conf.all.rp_filter} in the gateway's namespace: 2 (loose), as on a Debian host with
     * systemd's sysctl defaults, unless a subclass says otherwise.
     */
    int reversePathFilter() {
        return 2;
    }

    /** Lets a subclass change the gateway's config.yaml before the gateway starts. */
    String editConfig(String yaml) {
        return yaml;
    }

    @BeforeAll
    void up() throws Exception {
        Topology.cleanupStale();
        topo = Topology.create(options());
        ExecResult rp = topo.exec(topo.gw(), Duration.ofSeconds(5), "sysctl", "-qw",
                "net.ipv4.conf.all.rp_filter=" + reversePathFilter());
        assertTrue(rp.ok(), rp::toString);
        Path config = topo.writeGatewayFiles();
        Files.writeString(config, editConfig(Files.readString(config)));
        gateway = GatewayProcess.start(topo, List.of(GatewayCli.launcher().toString(), "run", "--config", config.toString()),
                Duration.ofSeconds(60));
    }

    @AfterAll
    void down() throws Exception {
        try {
            if (gateway != null) {
                int exit = gateway.stop();
                String log = gateway.log();
                System.out.println("---- gateway log ----\n" + log);
                assertEquals(0, exit, "gateway exits 0 on SIGTERM");
                assertTrue(log.contains("plumbing: -"), "gateway removed its plumbing");
            }
        } finally {
            if (topo != null) {
                topo.close();
            }
        }
    }

    /** Runs the CLI (bin/egress-gateway ARGS) inside the gateway's namespace. */
    protected ExecResult cli(String... args) {
        return GatewayCli.cli(topo, args);
    }

    /**
     * {@code Cpus_allowed_list} of the gateway's thread whose name starts with {@code egw-datapath}
     * (looked up in /proc across the launcher and its descendants).
     */
    protected String datapathThreadCpus() throws Exception {
        List<ProcessHandle> processes = new java.util.ArrayList<>();
        processes.add(gateway.handle());
        gateway.handle().descendants().forEach(processes::add);
        for (ProcessHandle p : processes) {
            Path tasks = Path.of("/proc", Long.toString(p.pid()), "task");
            if (!Files.isDirectory(tasks)) {
                continue;
            }
            try (var threads = Files.list(tasks)) {
                for (Path t : threads.toList()) {
                    if (Files.readString(t.resolve("comm")).strip().startsWith("egw-datapath")) {
                        return Files.readAllLines(t.resolve("status")).stream()
                                .filter(l -> l.startsWith("Cpus_allowed_list:")).findFirst().orElseThrow()
                                .substring("Cpus_allowed_list:".length()).strip();
                    }
                }
            }
        }
        throw new AssertionError("no egw-datapath thread in the gateway's processes");
    }

    /** The last CPU this (test) process may run on. */
    protected static int lastAllowedCpu() throws Exception {
        String list = Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(l -> l.startsWith("Cpus_allowed_list:")).findFirst().orElseThrow()
                .substring("Cpus_allowed_list:".length()).strip();
        String last = list.substring(list.lastIndexOf(',') + 1);
        return Integer.parseInt(last.substring(last.indexOf('-') + 1));
    }

    protected String metrics() {
        return GatewayCli.metrics(topo, Duration.ofSeconds(5));
    }

    protected static double metric(String metrics, String nameAndLabels) {
        return GatewayCli.metric(metrics, nameAndLabels);
    }

    @Test
    void a_selectedPodLeavesThroughEgressIp() {
        String body = topo.probes().httpGet(topo.pod1(), "http://" + Topology.SERVER_IP + "/");
        assertTrue(body.contains("you are " + Topology.EGRESS_IP), body);
        assertTrue(topo.serverLog().stream().anyMatch(l -> l.startsWith("http " + Topology.SERVER_IP + " " + Topology.EGRESS_IP)),
                () -> "server log: " + topo.serverLog());
    }

    @Test
    void b_otherPodKeepsNodeAddress() {
        String body = topo.probes().httpGet(topo.pod2(), "http://" + Topology.SERVER_IP + "/");
        assertTrue(body.contains("you are " + Topology.NODE_UNDERLAY_IP), body);
    }

    @Test
    void c_otherDestinationKeepsNodeAddress() {
        String body = topo.probes().httpGet(topo.pod1(), "http://" + Topology.OTHER_SERVER_IP + "/");
        assertTrue(body.contains("you are " + Topology.NODE_UNDERLAY_IP), body);
    }

    @Test
    void d_udpAndIcmpThroughGateway() {
        String echo = topo.probes().udpEcho(topo.pod1(), Topology.SERVER_IP, Topology.UDP_ECHO_PORT, "ping-over-udp");
        assertTrue(echo.contains("ping-over-udp"), echo);
        assertTrue(topo.serverLog().stream().anyMatch(l -> l.startsWith("udp " + Topology.SERVER_IP + " " + Topology.EGRESS_IP)),
                () -> "server log: " + topo.serverLog());
        ExecResult ping = topo.probes().pingResult(topo.pod1(), Topology.SERVER_IP, 3);
        assertTrue(ping.ok(), ping::toString);
        assertTrue(metric(metrics(), "egw_connections_created_total") >= 2);
    }

    @Test
    void e_tenMegabyteDownloadArrivesIntact() throws Exception {
        Probes.Download got = topo.probes().download(topo.pod1(), Probes.tenMibUrl(Topology.SERVER_IP));
        assertEquals(Probes.expectedPattern(Probes.TEN_MIB), got);
        String m = metrics();
        assertTrue(metric(m, "egw_tx_bytes_total{direction=\"reply\"}") > Probes.TEN_MIB, m);
        if (gateway.log().contains("tunnel: transmit offload: ")) {
            // the server's segments cross its veth as super-packets: read, translated and sent whole
            assertTrue(metric(m, "egw_super_packets_total") > 0, m);
        }
        assertEquals(0, metric(m, "egw_drops_total{direction=\"reply\",reason=\"offload_invalid\"}"), m);
    }
}
