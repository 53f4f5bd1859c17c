package org.egressgw.core.replay;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.egressgw.testbed.GatewayProcess;
import org.egressgw.testbed.ExecResult;
import org.egressgw.testbed.GatewayFiles;
import org.egressgw.testbed.Probes;
import org.egressgw.testbed.Topology;
import org.egressgw.testbed.TopologyOptions;

/**
 * Records the replay corpus from the namespace topology (run by {@code scripts/record-corpus.sh},
 * as root): builds the topology, starts the gateway, and for each scenario captures with tcpdump on
 * the gateway's underlay ({@code ul0}, VXLAN both ways) and egress interface ({@code ext0}, IPv4)
 * while driving the traffic, then writes {@code NAME.tunnel.pcap} and {@code NAME.egress.pcap}.
 *
 * <p>Changes to the topology, for captures that hold what a wire would carry: checksum and
 * segmentation offloads off on the interfaces involved (no partial checksums, no 64 KB
 * super-packets in the files), and ext forwards to 203.0.113.64/26 through a veth link of MTU
 * 1000 that leads nowhere, so that routers outside can answer with ICMP time exceeded and fragmentation needed.
 *
 * <p>Usage: {@code CorpusRecorder CORPUS_DIR LAUNCHER}.
 */
public final class CorpusRecorder {
    /** An address behind ext's small-MTU link: probes to it provoke ICMP errors from ext. */
    static final String BEYOND_EXT = "203.0.113.70";
    /** Download data packets kept in the download capture (the rest is cut off by time). */
    static final int DOWNLOAD_PACKETS = 120;

    private final Topology topo;
    private final Path corpus;
    private final Path scratch;

    private CorpusRecorder(Topology topo, Path corpus) throws IOException {
        this.topo = topo;
        this.corpus = corpus;
        this.scratch = topo.workDir().resolve("corpus");
        Files.createDirectories(scratch);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: CorpusRecorder CORPUS_DIR LAUNCHER");
            System.exit(2);
        }
        Path corpus = Path.of(args[0]).toAbsolutePath();
        Files.createDirectories(corpus);
        Topology.cleanupStale();
        try (Topology topo = Topology.create(TopologyOptions.userspace())) {
            new CorpusRecorder(topo, corpus).record(Path.of(args[1]).toAbsolutePath());
        }
    }

    private void record(Path launcher) throws Exception {
        for (String[] nsIf : new String[][] {{topo.pod1(), "eth0"}, {topo.node(), "ul0"}, {topo.node(), "vxlan0"},
            {topo.gw(), "ul0"}, {topo.gw(), "ext0"}, {topo.ext(), "eth0"}}) {
            sh(nsIf[0], "ethtool -K " + nsIf[1] + " tx off tso off gso off gro off 2>/dev/null || ethtool -K " + nsIf[1] + " tx off");
        }
        sh(topo.ext(), "sysctl -q -w net.ipv4.ip_forward=1 && ip link add bh0 mtu 1000 type veth peer name bh1 mtu 1000"
                + " && ip link set bh1 up && ip link set bh0 up && ip route add 203.0.113.64/26 dev bh0");
        Path config = topo.writeGatewayFiles();
        copyGatewayFiles(config.getParent());
        GatewayProcess gw = GatewayProcess.start(topo, List.of(launcher.toString(), "run", "--config", config.toString()),
                Duration.ofSeconds(60));
        try {
            scenario("arp-icmp-echo", () -> {
                // node-a resolves the gateway's overlay address by ARP through the tunnel first
                sh(topo.node(), "ip neigh flush dev vxlan0");
                check(topo.exec(topo.pod1(), Duration.ofSeconds(10), "ping", "-n", "-c", "3", "-i", "0.2", "-e", "40001",
                        Topology.SERVER_IP));
            });
            scenario("tcp-http", () -> topo.probes().httpGet(topo.pod1(), "http://" + Topology.SERVER_IP + "/"));
            scenario("udp-echo", () -> topo.probes().udpEcho(topo.pod1(), Topology.SERVER_IP, Topology.UDP_ECHO_PORT,
                    "hello over udp"));
            scenario("ttl-expires-at-gateway", () -> udp(40010, 2, "DO", 32, Topology.SERVER_IP, 33434));
            scenario("icmp-time-exceeded-outside", () -> udp(40011, 4, "DO", 32, BEYOND_EXT, 33435));
            scenario("icmp-frag-needed-outside", () -> udp(40012, 64, "DO", 1200, BEYOND_EXT, 9));
            scenario("fragments", () -> {
                udp(40013, 64, "DONT", 3000, Topology.SERVER_IP, Topology.UDP_ECHO_PORT);
                // the echo server's answer, fragmented to fit the tunnel, as it would arrive once requests pass
                py(topo.ext(), "from scapy.all import IP, UDP, Raw, fragment, send\n"
                        + "p = IP(src='" + Topology.SERVER_IP + "', dst='" + Topology.EGRESS_IP + "', id=0x5151, flags=0)"
                        + "/UDP(sport=7, dport=40013)/Raw(bytes(i % 251 for i in range(3000)))\n"
                        + "send(fragment(p, fragsize=1400), verbose=False)\n");
            });
            scenario("tcp-download", () -> topo.probes().download(topo.pod1(), Probes.tenMibUrl(Topology.SERVER_IP)));
        } finally {
            int exit = gw.stop();
            Files.writeString(scratch.resolve("gateway.log"), gw.log(), StandardCharsets.UTF_8);
            System.out.println("gateway exited " + exit);
        }
        cutDownload();
    }

    private interface Step {
        void run() throws Exception;
    }

    private void scenario(String name, Step step) throws Exception {
        Path tunnel = scratch.resolve(name + ".tunnel.pcap");
        Path egress = scratch.resolve(name + ".egress.pcap");
        try (Probes.Capture t = topo.probes().tcpdump(topo.gw(), Topology.UNDERLAY_IFACE, "udp port " + Topology.VXLAN_PORT, tunnel);
                Probes.Capture e = topo.probes().tcpdump(topo.gw(), Topology.GW_EXT_IFACE, "ip", egress)) {
            step.run();
            Thread.sleep(1500); // late answers, and ICMP rate limits of the next scenario
            t.stop();
            e.stop();
        }
        if (!name.equals("tcp-download")) {
            Files.copy(tunnel, corpus.resolve(name + ".tunnel.pcap"), StandardCopyOption.REPLACE_EXISTING);
            Files.copy(egress, corpus.resolve(name + ".egress.pcap"), StandardCopyOption.REPLACE_EXISTING);
        }
        System.out.println("recorded " + name);
    }

    /** The download's first {@value #DOWNLOAD_PACKETS} data packets, and the tunnel side up to the same moment. */
    private void cutDownload() throws IOException {
        long cutoff = Long.MAX_VALUE;
        try (CaptureReader r = CaptureReader.open(scratch.resolve("tcp-download.egress.pcap"))) {
            int big = 0;
            while (r.next()) {
                if (r.frame().length > 1000 && ++big == DOWNLOAD_PACKETS) {
                    cutoff = r.timeMicros();
                    break;
                }
            }
        }
        for (String side : List.of("tunnel", "egress")) {
            String file = "tcp-download." + side + ".pcap";
            try (CaptureReader r = CaptureReader.open(scratch.resolve(file));
                    PcapSink w = PcapSink.create(corpus.resolve(file), r.dlt())) {
                while (r.next() && r.timeMicros() <= cutoff) {
                    w.write(r.frame(), r.timeMicros());
                }
            }
        }
    }

    /** Sends one UDP datagram from pod1 with a fixed source port, TTL and DF setting (DO = DF set, DONT = fragmentable). */
    private void udp(int sport, int ttl, String pmtud, int size, String dst, int dport) throws IOException {
        py(topo.pod1(), "import socket\n"
                + "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                // IP_MTU_DISCOVER (10) = IP_PMTUDISC_DO (2) or _DONT (0); Python does not name them
                + "s.setsockopt(socket.IPPROTO_IP, 10, " + ("DO".equals(pmtud) ? 2 : 0) + ")\n"
                + "s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, " + ttl + ")\n"
                + "s.bind(('" + Topology.POD1_IP + "', " + sport + "))\n"
                + "s.sendto(bytes(i % 251 for i in range(" + size + ")), ('" + dst + "', " + dport + "))\n");
    }

    private void py(String ns, String program) throws IOException {
        Path script = scratch.resolve("step-" + System.nanoTime() + ".py");
        Files.writeString(script, program, StandardCharsets.UTF_8);
        check(topo.exec(ns, Duration.ofSeconds(20), Topology.PYTHON, script.toString()));
    }

    private void sh(String ns, String command) throws IOException {
        check(topo.exec(ns, Duration.ofSeconds(20), "sh", "-c", command));
    }

    private static void check(ExecResult r) throws IOException {
        r.orThrow("corpus step");
    }

    private void copyGatewayFiles(Path dir) throws IOException {
        Path target = corpus.resolve("gateway");
        for (String f : List.of(GatewayFiles.CONFIG_FILE, GatewayFiles.POLICY_FILE, GatewayFiles.INVENTORY_FILE)) {
            Path to = target.resolve(f);
            Files.createDirectories(to.getParent());
            Files.copy(dir.resolve(f), to, StandardCopyOption.REPLACE_EXISTING);
        }
        List<String> names = new ArrayList<>();
        names.add("recorded from the namespace topology by scripts/record-corpus.sh; do not edit by hand");
        Files.write(corpus.resolve("README.txt"), names, StandardCharsets.UTF_8);
    }
}
