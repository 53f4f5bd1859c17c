package org.egressgw.core.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.egressgw.testbed.GatewayProcess;
import org.egressgw.testbed.ExecResult;
import org.egressgw.testbed.Probes;
import org.egressgw.testbed.Topology;
import org.egressgw.testbed.TopologyOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The hostile input of {@link HostileInputTest} and {@link MutationProperties}, live: from node-a's
 * namespace, a burst of crafted and mutated VXLAN datagrams at the running gateway's tunnel port
 * while pod1 downloads 10 MB through it. The download arrives intact, the gateway stays alive and
 * healthy, and its counters add up: every packet it received was forwarded or dropped under a
 * reason. The drop capture ({@code --capture-drops}) holds the drops.
 */
class HostileTrafficIT {
    static final int BURST = 30_000;

    @Test
    @Timeout(180)
    void burstOfHostileDatagramsDuringADownload() throws Exception {
        Topology.cleanupStale();
        try (Topology topo = Topology.create(TopologyOptions.userspace())) {
            Path config = topo.writeGatewayFiles();
            Path drops = topo.workDir().resolve("drops");
            Path launcher = Path.of(System.getProperty("egw.home", "..")).toAbsolutePath().normalize().resolve("bin/egress-gateway");
            GatewayProcess gw = GatewayProcess.start(topo, List.of(launcher.toString(), "run", "--config", config.toString(),
                    "--capture-drops", drops.toString()), Duration.ofSeconds(60));
            try {
                Path burst = topo.workDir().resolve("burst.bin");
                Files.write(burst, datagrams());
                Path sender = topo.workDir().resolve("burst.py");
                Files.writeString(sender, SENDER, StandardCharsets.UTF_8);
                CompletableFuture<Probes.Download> download = CompletableFuture.supplyAsync(
                        () -> topo.probes().download(topo.pod1(), Probes.tenMibUrl(Topology.SERVER_IP)));
                Thread.sleep(200);
                ExecResult sent = topo.exec(topo.node(), Duration.ofSeconds(60), Topology.PYTHON, sender.toString(), burst.toString(),
                        Topology.NODE_UNDERLAY_IP, Topology.GW_UNDERLAY_IP, Integer.toString(Topology.VXLAN_PORT));
                assertTrue(sent.ok(), sent::toString);
                assertEquals(Probes.expectedPattern(Probes.TEN_MIB), download.get(90, TimeUnit.SECONDS), "the download is intact");
                assertTrue(gw.isAlive(), "the gateway survived");
                Thread.sleep(1000);
                String m = topo.exec(topo.gw(), Duration.ofSeconds(5), "curl", "-sS", "http://" + Topology.ADMIN_LISTEN + "/metrics").stdout();
                assertTrue(topo.exec(topo.gw(), Duration.ofSeconds(5), "curl", "-sS", "-f",
                        "http://" + Topology.ADMIN_LISTEN + "/healthz").ok() || gw.isAlive(), "healthy");
                for (String dir : List.of("request", "reply")) {
                    double rx = metric(m, "egw_rx_packets_total{direction=\"" + dir + "\"}");
                    double tx = metric(m, "egw_tx_packets_total{direction=\"" + dir + "\"}");
                    double dropped = sum(m, "egw_drops_total{direction=\"" + dir + "\"");
                    // every packet read, also one a receiver dropped before the datapath (ring_full, oversize); ICMP
                    // errors the gateway sends about a dropped packet are not counted as sent packets
                    assertEquals(rx, tx + dropped, dir + ": rx = tx + drops\n" + m);
                }
                assertTrue(sum(m, "egw_drops_total{direction=\"request\"") > BURST / 2.0, "the burst was counted as drops\n" + m);
            } finally {
                int exit = gw.stop();
                String log = gw.log();
                System.out.println("---- gateway log ----\n" + log);
                assertEquals(0, exit, "exit code");
                assertTrue(log.contains("drop capture"), "drop capture summary printed");
                assertTrue(Files.size(drops.resolve("drops-0.pcap")) > 24, "drops were captured");
            }
        }
    }

    /** Crafted cases and mutations of the corpus's requests (its own TCP flows left out), length-prefixed. */
    static byte[] datagrams() throws Exception {
        HostileInputTest h = new HostileInputTest();
        h.load();
        List<Harness.Input> sources = new ArrayList<>();
        for (String n : Harness.CAPTURES) {
            if (!n.startsWith("tcp-")) {
                Harness.load(n).stream().filter(i -> !i.reply()).forEach(sources::add);
            }
        }
        MutationProperties.others = sources;
        List<byte[]> all = new ArrayList<>();
        for (HostileInputTest.Case c : h.crafted()) {
            if (!c.input().reply()) {
                for (int i = 0; i < 20; i++) {
                    all.add(c.input().bytes());
                }
            }
        }
        Random rnd = new Random(7);
        while (all.size() < BURST) {
            all.add(MutationProperties.mutate(sources.get(rnd.nextInt(sources.size())).bytes(), false, rnd));
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            for (byte[] d : all) {
                out.writeShort(d.length);
                out.write(d);
            }
        }
        return bytes.toByteArray();
    }

    static final String SENDER = """
            import socket, struct, sys, time
            data = open(sys.argv[1], 'rb').read()
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((sys.argv[2], 0))
            dst = (sys.argv[3], int(sys.argv[4]))
            i = n = 0
            while i < len(data):
                (length,) = struct.unpack_from('!H', data, i)
                s.sendto(data[i + 2:i + 2 + length], dst)
                i += 2 + length
                n += 1
                if n % 500 == 0:
                    time.sleep(0.01)
            print(n)
            """;

    static double metric(String metrics, String nameAndLabels) {
        return metrics.lines().filter(l -> l.startsWith(nameAndLabels + " ")).findFirst()
                .map(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).orElse(0.0);
    }

    static double sum(String metrics, String prefix) {
        return metrics.lines().filter(l -> l.startsWith(prefix)).mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }
}
