package org.egressgw.core.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.egressgw.testbed.ExecResult;
import org.egressgw.testbed.Probes;
import org.egressgw.testbed.Topology;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 3 acceptance: "traceroute-style TTL-expiring probes and a path-MTU change produce correctly
 * translated ICMP at the pod" (RFC 5508 behaviour).
 *
 * <p>Where the ICMP comes from. The gateway is an IP hop (it decrements the TTL), and so is the
 * gateway node's kernel that forwards what the gateway writes into the TUN device: pod1 → node-a
 * (TTL − 1) → gateway datapath (− 1) → gw-1's kernel (− 1) → ext. A probe sent with TTL 2 therefore
 * expires in the gateway's datapath, which answers the pod itself through the tunnel (nothing to
 * translate: it quotes the packet as the pod sent it). A probe with TTL 3 is translated to the
 * egress IP and expires in gw-1's kernel, which sends ICMP time-exceeded to the packet's
 * (translated) source, the egress IP — routed into the TUN device, so the error reaches the gateway
 * as a reply quoting the translated packet, and only RFC 5508 reverse translation gets it to the
 * pod. Both are tested, with ping and with a UDP socket. Likewise, with the route to
 * 203.0.113.0/24 lowered to MTU 1200, that kernel answers a DF packet of more than 1200 bytes with
 * fragmentation-needed (mtu 1200). The tests first check (capture on the TUN device) that the kernel
 * did send the error into the gateway, then that pod1 received it translated back: outer destination
 * pod1, quoted source pod1 and the pod's own port / echo identifier, and every checksum (outer IP,
 * ICMP, quoted IP header, quoted L4 when quoted whole) valid, verified by {@code icmp_check.py}'s own
 * arithmetic over a capture in pod1.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class IcmpErrorsIT extends ConntrackEndToEndBase {
    /** A second server address, so that the upload after the MTU change starts without a cached path MTU. */
    private static final String UPLOAD_SERVER_IP = "203.0.113.6";
    private static final int SINK_PORT = 5001;
    private static final Pattern ICMPERR = Pattern.compile("icmperr .*");

    @Override
    String config(String yaml) {
        return yaml;
    }

    @Override
    void prepare() {
        must(topo.ext(), "ip", "addr", "add", UPLOAD_SERVER_IP + "/32", "dev", "lo");
    }

    @BeforeAll
    void sink() throws Exception {
        Path ready = topo.workDir().resolve("sink.ready");
        Background sink = startPython(topo.ext(), "sink", "tcp_sink.py", UPLOAD_SERVER_IP, Integer.toString(SINK_PORT),
                ready.toString());
        awaitFile(ready, sink, Duration.ofSeconds(10));
    }

    @Test
    @Order(1)
    @Timeout(30)
    void pingWhoseTtlExpiresInTheGatewayDatapath() {
        pingWithTtl(2, false);
    }

    @Test
    @Order(2)
    @Timeout(30)
    void pingWhoseTtlExpiresInTheGatewayNodesKernel() {
        pingWithTtl(3, true);
    }

    @Test
    @Order(3)
    @Timeout(30)
    void udpProbeWhoseTtlExpiresInTheGatewayDatapath() {
        udpProbeWithTtl(2, false);
    }

    @Test
    @Order(4)
    @Timeout(30)
    void udpProbeWhoseTtlExpiresInTheGatewayNodesKernel() {
        udpProbeWithTtl(3, true);
    }

    /**
     * {@code ping -c 1 -t TTL} from pod1: pod1 must get time exceeded quoting its own echo request.
     *
     * @param viaTun the error is expected from the gateway node's kernel, through the TUN device
     */
    private void pingWithTtl(int ttl, boolean viaTun) {
        Path podPcap = topo.workDir().resolve("pod1-ping-ttl" + ttl + ".pcap");
        Path tunPcap = topo.workDir().resolve("tun-ping-ttl" + ttl + ".pcap");
        ExecResult ping;
        List<String> atTun;
        try (Probes.Capture pod = topo.tcpdump(topo.pod1(), Topology.POD_IFACE, "icmp", podPcap);
                Probes.Capture tun = topo.tcpdump(topo.gw(), "egw0", "icmp", tunPcap)) {
            ping = topo.exec(topo.pod1(), Duration.ofSeconds(10), "ping", "-n", "-c", "1", "-t", Integer.toString(ttl),
                    "-W", "2", Topology.SERVER_IP);
            atTun = tun.packets("");
            pod.stop();
        }
        String diag = "ping: " + ping + "\nTUN device saw:\n" + String.join("\n", atTun) + "\npod1 saw:\n"
                + tcpdumpVerbose(podPcap) + nonZeroDrops(metrics());
        if (viaTun) {
            assertTrue(atTun.stream().anyMatch(l -> l.contains("> " + Topology.EGRESS_IP + ": ICMP time exceeded")),
                    () -> "precondition: the gateway node's kernel sent time-exceeded to the egress IP into the TUN device\n"
                            + diag);
        }
        assertTrue(ping.stdout().contains("Time to live exceeded"), () -> "pod1's ping reports it\n" + diag);
        int id = echoIdentifier(podPcap);
        String err = onlyError(podPcap, diag);
        assertTrue(err.contains("type=11 code=0"), err);
        assertTrue(err.contains("dst=" + Topology.POD1_IP + " "), () -> "outer destination is the pod\n" + err);
        assertTrue(err.contains("inner_src=" + Topology.POD1_IP + " ") && err.contains("inner_dst=" + Topology.SERVER_IP + " ")
                && err.contains("inner_proto=1 "), () -> "quoted packet is the pod's\n" + err);
        assertTrue(err.contains("inner_sport=" + id + " "), () -> "quoted echo identifier is the pod's (" + id + ")\n" + err);
        assertChecksumsValid(err);
    }

    /** A UDP datagram with TTL from pod1: the socket must get the error through IP_RECVERR, quoting its own port. */
    private void udpProbeWithTtl(int ttl, boolean viaTun) {
        Path podPcap = topo.workDir().resolve("pod1-udp-ttl" + ttl + ".pcap");
        Path tunPcap = topo.workDir().resolve("tun-udp-ttl" + ttl + ".pcap");
        ExecResult probe;
        List<String> atTun;
        try (Probes.Capture pod = topo.tcpdump(topo.pod1(), Topology.POD_IFACE, "icmp", podPcap);
                Probes.Capture tun = topo.tcpdump(topo.gw(), "egw0", "icmp", tunPcap)) {
            probe = python(topo.pod1(), Duration.ofSeconds(10), "udp_ttl_probe.py", Topology.SERVER_IP, "33434",
                    Integer.toString(ttl), "3");
            atTun = tun.packets("");
            pod.stop();
        }
        String diag = "probe: " + probe + "\nTUN device saw:\n" + String.join("\n", atTun) + "\npod1 saw:\n"
                + tcpdumpVerbose(podPcap) + nonZeroDrops(metrics());
        if (viaTun) {
            assertTrue(atTun.stream().anyMatch(l -> l.contains("> " + Topology.EGRESS_IP + ": ICMP time exceeded")),
                    () -> "precondition: the gateway node's kernel sent time-exceeded to the egress IP into the TUN device\n"
                            + diag);
        }
        assertTrue(probe.ok() && probe.stdout().contains("error origin=2 type=11 code=0"),
                () -> "the pod's UDP socket got ICMP time exceeded through IP_RECVERR\n" + diag);
        String port = probe.stdout().lines().filter(l -> l.startsWith("localport=")).findFirst().orElseThrow().substring(10);
        String err = onlyError(podPcap, diag);
        assertTrue(err.contains("dst=" + Topology.POD1_IP + " ") && err.contains("inner_src=" + Topology.POD1_IP + " ")
                && err.contains("inner_proto=17 ") && err.contains("inner_sport=" + port + " ")
                && err.contains("inner_dport=33434"), () -> "quoted datagram is the pod's own (port " + port + ")\n" + err);
        assertChecksumsValid(err);
    }

    /** Lowers the gateway node's route towards the destinations to MTU 1200 (idempotent). */
    private void lowerPathMtu() {
        must(topo.gw(), "ip", "route", "change", Topology.DESTINATION_CIDR, "via", Topology.EXT_IP, "dev",
                Topology.GW_EXT_IFACE, "mtu", "1200");
    }

    @Test
    @Order(5)
    @Timeout(30)
    void pathMtuChangeReachesThePingingPod() {
        lowerPathMtu();
        Path podPcap = topo.workDir().resolve("pod1-pmtu.pcap");
        Path tunPcap = topo.workDir().resolve("tun-pmtu.pcap");
        ExecResult ping;
        List<String> atTun;
        try (Probes.Capture pod = topo.tcpdump(topo.pod1(), Topology.POD_IFACE, "icmp", podPcap);
                Probes.Capture tun = topo.tcpdump(topo.gw(), "egw0", "icmp", tunPcap)) {
            ping = topo.exec(topo.pod1(), Duration.ofSeconds(15), "ping", "-n", "-M", "do", "-s", "1300", "-c", "3",
                    "-i", "0.3", "-W", "2", Topology.SERVER_IP);
            atTun = tun.packets("");
            pod.stop();
        }
        String diag = "ping: " + ping + "\nTUN device saw:\n" + String.join("\n", atTun) + "\npod1 saw:\n"
                + tcpdumpVerbose(podPcap) + nonZeroDrops(metrics());
        assertTrue(atTun.stream().anyMatch(l -> l.contains("> " + Topology.EGRESS_IP + ": ICMP " + Topology.SERVER_IP
                + " unreachable - need to frag (mtu 1200)")),
                () -> "precondition: the gateway node's kernel sent fragmentation-needed into the TUN device\n" + diag);
        assertTrue(Pattern.compile("mtu ?= ?1200").matcher(ping.stdout() + ping.stderr()).find(),
                () -> "pod1's ping learned mtu 1200 from the translated fragmentation-needed\n" + diag);
        String err = onlyError(podPcap, diag);
        assertTrue(err.contains("type=3 code=4") && err.contains("mtu=1200") && err.contains("dst=" + Topology.POD1_IP + " ")
                && err.contains("inner_src=" + Topology.POD1_IP + " "), () -> err);
        // the gateway node's own address, not a link-local one the gateway gave a device
        assertFalse(err.contains("src=169.254."), () -> err);
        assertChecksumsValid(err);
    }

    @Test
    @Order(6)
    @Timeout(60)
    void uploadAndDownloadCompleteAfterThePathMtuChange() throws Exception {
        lowerPathMtu();
        // 1 MB upload to a server the pod has no cached path MTU for: its first full-size segments
        // (DF, 1450 bytes) draw fragmentation-needed quoting TCP, which must reach the pod
        Path tunPcap = topo.workDir().resolve("tun-upload.pcap");
        String answer;
        Background upload;
        List<String> atTun;
        try (Probes.Capture tun = topo.tcpdump(topo.gw(), "egw0", "icmp", tunPcap)) {
            upload = startPython(topo.pod1(), "upload", "tcp_source.py", UPLOAD_SERVER_IP, Integer.toString(SINK_PORT),
                    Integer.toString(1 << 20), "0");
            try {
                answer = upload.await("sink ", Duration.ofSeconds(30));
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "\nTUN device saw:\n" + String.join("\n", tun.packets(""))
                        + "\n" + nonZeroDrops(metrics()), e);
            }
            atTun = tun.packets("");
        }
        assertEquals(0, upload.process().waitFor(), upload::output);
        assertTrue(answer.startsWith("sink received " + (1 << 20) + " "), answer);
        assertTrue(atTun.stream().anyMatch(l -> l.contains("need to frag (mtu 1200)")),
                () -> "the upload did meet the lower MTU: " + atTun);
        Probes.Download got = topo.probes().download(topo.pod1(), "http://" + Topology.SERVER_IP + "/bytes/" + (1 << 20));
        assertEquals(Probes.expectedPattern(1 << 20), got);
    }

    /** The single ICMP error in the capture, as icmp_check.py reports it. */
    private String onlyError(Path pcap, String diag) {
        ExecResult r = topo.exec(topo.pod1(), Duration.ofSeconds(30), Topology.PYTHON, script("icmp_check.py").toString(),
                pcap.toString());
        assertTrue(r.ok(), r::toString);
        List<String> errors = r.stdout().lines().filter(l -> ICMPERR.matcher(l).matches()).toList();
        assertTrue(!errors.isEmpty(), () -> "no ICMP error reached pod1\n" + diag);
        System.out.println(pcap.getFileName() + ": " + errors);
        return errors.get(0);
    }

    private static void assertChecksumsValid(String err) {
        for (String field : new String[] {"ipck=ok", "icmpck=ok", "inner_ipck=ok"}) {
            assertTrue(err.contains(" " + field), () -> field + " expected in " + err);
        }
        assertTrue(err.contains("inner_l4ck=ok") || err.contains("inner_l4ck=truncated"), () -> "quoted L4 checksum: " + err);
    }

    /** The identifier of the first echo request pod1 sent, from the capture. */
    private int echoIdentifier(Path pcap) {
        ExecResult r = topo.exec(topo.pod1(), Duration.ofSeconds(20), "tcpdump", "-n", "-r", pcap.toString(),
                "icmp[icmptype] == icmp-echo");
        Matcher m = Pattern.compile("ICMP echo request, id (\\d+)").matcher(r.stdout());
        assertTrue(m.find(), () -> "no echo request in " + r);
        return Integer.parseInt(m.group(1));
    }

    private String tcpdumpVerbose(Path pcap) {
        ExecResult r = topo.exec(topo.pod1(), Duration.ofSeconds(20), "tcpdump", "-n", "-vv", "-r", pcap.toString());
        return r.stdout() + r.stderr();
    }
}
