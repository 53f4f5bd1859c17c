package org.egressgw.core.replay;

import static org.egressgw.core.replay.Independent.addr;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.egressgw.control.config.GatewayConfig;
import org.egressgw.core.datapath.DropReason;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.pcap4j.packet.ArpPacket;
import org.pcap4j.packet.IcmpV4CommonPacket;
import org.pcap4j.packet.IpV4Packet;
import org.pcap4j.packet.TcpPacket;
import org.pcap4j.packet.UdpPacket;

/**
 * Replays every capture of the corpus (recorded by {@code scripts/record-corpus.sh} from the
 * namespace topology) and pins the gateway's behaviour packet by packet, twice over:
 *
 * <ul>
 *   <li><b>golden files</b> ({@code corpus/expected/NAME.{egress-out,tunnel-out}.pcap} and
 *       {@code NAME.summary.txt}): any change in any byte of any output, or in the summary, fails;</li>
 *   <li><b>expectations</b> checked with an independent parser (pcap4j): the translation (source =
 *       egress IP on the egress side, destination = the pod on the tunnel side, ports and identifiers
 *       kept or restored), every IPv4, TCP, UDP and ICMP checksum, and the encapsulation of every
 *       packet sent to the node (VTEP, port 8472, VNI, MACs).</li>
 * </ul>
 *
 * When behaviour changes on purpose, regenerate the golden files with
 * {@code mvn -B -o -pl gateway-core test -Dtest=CorpusReplayTest -Degw.corpus.regenerate=true}
 * and review the difference ({@code tcpdump -r}).
 */
class CorpusReplayTest {
    static final String EGRESS_IP = "192.0.2.10";
    static final String POD1 = "10.244.1.10";
    static final String GW_UNDERLAY = "198.51.100.2";
    static final String NODE = "198.51.100.1";
    static final String GW_MAC = "02:00:0a:63:00:02";
    static final String NODE_MAC = "02:00:0a:63:00:01";
    static final String GW_OVERLAY = "10.99.0.2";
    static final boolean REGENERATE = Boolean.getBoolean("egw.corpus.regenerate");
    static final String REGENERATE_HOW = "if the change is deliberate, regenerate the golden files with "
            + "`mvn -B -o -pl gateway-core test -Dtest=CorpusReplayTest -Degw.corpus.regenerate=true` and review them";

    @TempDir
    Path tmp;

    /** What one replay produced. */
    record Run(String name, List<byte[]> tunnelIn, List<byte[]> egressIn, List<byte[]> egressOut, List<byte[]> tunnelOut,
            List<Long> egressOutTimes, List<Long> tunnelOutTimes, String summary, ReplaySummary stats) {
    }

    static Path corpus() {
        try {
            return Path.of(CorpusReplayTest.class.getResource("/corpus/gateway/config.yaml").toURI()).getParent().getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    Run replay(String name) throws Exception {
        Path c = corpus();
        GatewayConfig cfg = GatewayConfig.load(c.resolve("gateway/config.yaml"));
        Path tOut = tmp.resolve(name + ".tunnel-out.pcap");
        Path eOut = tmp.resolve(name + ".egress-out.pcap");
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        ReplaySummary s;
        try (PrintStream ps = new PrintStream(text, true, StandardCharsets.UTF_8);
                Replay r = Replay.open(cfg, ps, tOut, eOut, 4096)) {
            s = r.run(c.resolve(name + ".tunnel.pcap"), c.resolve(name + ".egress.pcap"));
            s.print(ps);
        }
        List<Long> et = new ArrayList<>();
        List<Long> tt = new ArrayList<>();
        Run run = new Run(name, innerOfTunnelIn(c.resolve(name + ".tunnel.pcap")), ipv4s(c.resolve(name + ".egress.pcap"), true),
                read(eOut, et), read(tOut, tt), et, tt, text.toString(StandardCharsets.UTF_8), s);
        compareWithGolden(run, eOut, tOut);
        return run;
    }

    static List<byte[]> read(Path pcap, List<Long> times) throws IOException {
        List<byte[]> out = new ArrayList<>();
        try (CaptureReader r = CaptureReader.open(pcap)) {
            while (r.next()) {
                out.add(r.frame());
                times.add(r.timeMicros());
            }
        }
        return out;
    }

    /** IPv4 packets of an Ethernet capture; only those to the egress IP when {@code toEgressIp}. */
    static List<byte[]> ipv4s(Path pcap, boolean toEgressIp) throws IOException {
        List<byte[]> out = new ArrayList<>();
        try (CaptureReader r = CaptureReader.open(pcap)) {
            while (r.next()) {
                int off = LinkLayer.ipv4Offset(r.dlt(), r.frame(), r.frame().length);
                if (off >= 0) {
                    IpV4Packet p = Independent.ipv4(Arrays.copyOfRange(r.frame(), off, r.frame().length));
                    if (!toEgressIp || addr(p.getHeader().getDstAddr()).equals(EGRESS_IP)) {
                        out.add(p.getRawData());
                    }
                }
            }
        }
        return out;
    }

    /** The inner IPv4 packets the node sent to the gateway (ARP frames left out). */
    static List<byte[]> innerOfTunnelIn(Path pcap) throws IOException {
        List<byte[]> out = new ArrayList<>();
        for (byte[] outer : ipv4s(pcap, false)) {
            IpV4Packet p = Independent.ipv4(outer);
            if (!addr(p.getHeader().getDstAddr()).equals(GW_UNDERLAY)) {
                continue;
            }
            Independent.Encapsulated e = Independent.encapsulated(outer);
            if (!e.isArp()) {
                out.add(e.innerIpv4().getRawData());
            }
        }
        return out;
    }

    void compareWithGolden(Run run, Path eOut, Path tOut) throws IOException {
        Path expected = corpus().resolve("expected");
        if (REGENERATE) {
            Path src = Path.of("src/test/resources/corpus/expected");
            Files.createDirectories(src);
            Files.copy(eOut, src.resolve(eOut.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            Files.copy(tOut, src.resolve(tOut.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            Files.writeString(src.resolve(run.name() + ".summary.txt"), run.summary(), StandardCharsets.UTF_8);
            return;
        }
        assertTrue(Files.exists(expected.resolve(run.name() + ".summary.txt")), "no golden files for " + run.name() + "; " + REGENERATE_HOW);
        assertEquals(Files.readString(expected.resolve(run.name() + ".summary.txt"), StandardCharsets.UTF_8), run.summary(),
                "replay summary of " + run.name() + " changed; " + REGENERATE_HOW);
        samePackets(run.name() + " egress-out", expected.resolve(eOut.getFileName()), run.egressOut(), run.egressOutTimes());
        samePackets(run.name() + " tunnel-out", expected.resolve(tOut.getFileName()), run.tunnelOut(), run.tunnelOutTimes());
    }

    static void samePackets(String what, Path golden, List<byte[]> got, List<Long> times) throws IOException {
        List<Long> gt = new ArrayList<>();
        List<byte[]> want = read(golden, gt);
        for (int i = 0; i < Math.min(want.size(), got.size()); i++) {
            int k = i;
            assertArrayEquals(want.get(i), got.get(i), () -> what + ": packet #" + (k + 1) + " differs from the golden file; " + REGENERATE_HOW);
            assertEquals(gt.get(i), times.get(i), what + ": packet #" + (k + 1) + " timestamp; " + REGENERATE_HOW);
        }
        assertEquals(want.size(), got.size(), what + ": packet count differs from the golden file; " + REGENERATE_HOW);
    }

    // ------------------------------------------------------------------ every capture

    /** What holds for every packet of every capture. */
    @ParameterizedTest
    @ValueSource(strings = {"arp-icmp-echo", "tcp-http", "udp-echo", "ttl-expires-at-gateway", "icmp-time-exceeded-outside",
        "icmp-frag-needed-outside", "fragments", "tcp-download"})
    void everyOutputIsTranslatedAndValid(String name) throws Exception {
        Run run = replay(name);
        List<IpV4Packet> egressFragments = new ArrayList<>();
        for (byte[] raw : run.egressOut()) {
            IpV4Packet p = Independent.ipv4(raw);
            String what = name + " egress-out " + p.getHeader();
            assertEquals(EGRESS_IP, addr(p.getHeader().getSrcAddr()), what + ": source is the egress IP");
            assertFalse(addr(p.getHeader().getDstAddr()).startsWith("10."), what + ": nothing to the cluster leaves on the egress side");
            Independent.assertChecksums(p, what);
            if (Independent.isFragment(p)) {
                egressFragments.add(p);
            } else if (Independent.srcPort(p) >= 0) {
                assertTrue(hasRequest(run, p), what + ": a translated packet of a flow pod1 opened");
            }
        }
        List<IpV4Packet> tunnelFragments = new ArrayList<>();
        for (byte[] raw : run.tunnelOut()) {
            Independent.Encapsulated e = Independent.encapsulated(raw);
            String what = name + " tunnel-out " + e.outer().getHeader();
            assertEquals(GW_UNDERLAY, addr(e.outer().getHeader().getSrcAddr()), what);
            assertEquals(NODE, addr(e.outer().getHeader().getDstAddr()), what + ": back to the VTEP the flow came from");
            assertEquals(8472, e.udp().getHeader().getDstPort().valueAsInt(), what);
            assertEquals(0x08, e.vxlanFlags(), what + ": VXLAN I flag");
            assertEquals(2, e.vni(), what + ": VNI");
            assertEquals(GW_MAC, Independent.mac(e.inner(), false), what + ": inner source MAC");
            assertEquals(NODE_MAC, Independent.mac(e.inner(), true), what + ": inner destination MAC = the node's VXLAN device");
            if (e.isArp()) {
                continue;
            }
            IpV4Packet in = e.innerIpv4();
            assertEquals(POD1, addr(in.getHeader().getDstAddr()), what + ": inner destination is the pod");
            assertTrue(in.getHeader().getTotalLengthAsInt() <= 1450, what + ": fits the pod's MTU");
            Independent.assertChecksums(in, what + " inner " + in.getHeader());
            if (Independent.isFragment(in)) {
                tunnelFragments.add(in);
            } else if (Independent.srcPort(in) >= 0) {
                assertTrue(hasReply(run, in), what + ": a reply from the egress side, translated back");
            }
        }
        if (!egressFragments.isEmpty()) {
            IpV4Packet whole = Independent.defragment(egressFragments);
            Independent.assertL4Checksum(whole, name + " egress-out reassembled");
        }
        // per datagram (by IP ID): several replies may come back in fragments
        for (List<IpV4Packet> datagram : tunnelFragments.stream()
                .collect(java.util.stream.Collectors.groupingBy(p -> p.getHeader().getIdentificationAsInt())).values()) {
            IpV4Packet whole = Independent.defragment(datagram);
            Independent.assertL4Checksum(whole, name + " tunnel-out reassembled");
        }
    }

    /** pod1 sent a packet with the same protocol, destination, ports (kept: the corpus's ports are in the NAT range). */
    static boolean hasRequest(Run run, IpV4Packet out) {
        for (byte[] raw : run.tunnelIn()) {
            IpV4Packet p = Independent.ipv4(raw);
            if (addr(p.getHeader().getSrcAddr()).equals(POD1) && Independent.protocol(p) == Independent.protocol(out)
                    && p.getHeader().getDstAddr().equals(out.getHeader().getDstAddr())
                    && Independent.srcPort(p) == Independent.srcPort(out) && Independent.dstPort(p) == Independent.dstPort(out)) {
                return true;
            }
        }
        return false;
    }

    /** The egress side received the packet this tunnel-out packet was translated from. */
    static boolean hasReply(Run run, IpV4Packet in) {
        for (byte[] raw : run.egressIn()) {
            IpV4Packet p = Independent.ipv4(raw);
            if (p.getHeader().getSrcAddr().equals(in.getHeader().getSrcAddr()) && Independent.protocol(p) == Independent.protocol(in)
                    && Independent.srcPort(p) == Independent.srcPort(in) && Independent.dstPort(p) == Independent.dstPort(in)) {
                return true;
            }
        }
        return false;
    }

    // ------------------------------------------------------------------ per capture

    @Test
    void arpAndEcho() throws Exception {
        Run run = replay("arp-icmp-echo");
        Independent.Encapsulated arp = Independent.encapsulated(run.tunnelOut().get(0));
        assertTrue(arp.isArp(), "the node's ARP request for the gateway is answered first");
        ArpPacket.ArpHeader h = ((ArpPacket) arp.inner().getPayload()).getHeader();
        assertEquals(2, h.getOperation().value().intValue(), "ARP reply");
        assertEquals(GW_OVERLAY, h.getSrcProtocolAddr().getHostAddress());
        assertEquals(GW_MAC, h.getSrcHardwareAddr().toString());
        assertEquals(3, run.egressOut().size(), "three echo requests out");
        for (byte[] raw : run.egressOut()) {
            IcmpV4CommonPacket icmp = (IcmpV4CommonPacket) Independent.ipv4(raw).getPayload();
            assertEquals(8, icmp.getHeader().getType().value().intValue());
            assertEquals(40001, Independent.u16(raw, 24), "identifier kept (in the NAT range)");
        }
        assertEquals(4, run.tunnelOut().size(), "ARP reply + three echo replies");
        for (byte[] raw : run.tunnelOut().subList(1, 4)) {
            IpV4Packet in = Independent.encapsulated(raw).innerIpv4();
            assertEquals(0, Independent.icmpType(in));
            assertEquals(40001, Independent.u16(in.getRawData(), 24), "identifier restored");
        }
    }

    @Test
    void tcpHandshakeDataAndClose() throws Exception {
        Run run = replay("tcp-http");
        assertEquals(run.tunnelIn().size(), run.egressOut().size(), "every segment from the pod forwarded");
        assertEquals(run.egressIn().size(), run.tunnelOut().size(), "every segment from the server forwarded");
        TcpPacket syn = (TcpPacket) Independent.ipv4(run.egressOut().get(0)).getPayload();
        assertTrue(syn.getHeader().getSyn() && !syn.getHeader().getAck());
        TcpPacket synAck = (TcpPacket) Independent.encapsulated(run.tunnelOut().get(0)).innerIpv4().getPayload();
        assertTrue(synAck.getHeader().getSyn() && synAck.getHeader().getAck());
        assertTrue(run.egressOut().stream().anyMatch(r -> ((TcpPacket) Independent.ipv4(r).getPayload()).getHeader().getFin()), "FIN from the pod");
        assertTrue(run.tunnelOut().stream().anyMatch(r -> ((TcpPacket) Independent.encapsulated(r).innerIpv4().getPayload()).getHeader().getFin()),
                "FIN from the server");
        assertTrue(run.tunnelOut().stream().map(r -> Independent.encapsulated(r).innerIpv4().getPayload().getPayload())
                .anyMatch(data -> data != null && new String(data.getRawData(), StandardCharsets.US_ASCII).contains("you are " + EGRESS_IP)),
                "the server saw the egress IP");
    }

    @Test
    void udpEcho() throws Exception {
        Run run = replay("udp-echo");
        assertEquals(1, run.egressOut().size());
        assertEquals(1, run.tunnelOut().size());
        UdpPacket back = (UdpPacket) Independent.encapsulated(run.tunnelOut().get(0)).innerIpv4().getPayload();
        assertEquals("hello over udp", new String(back.getPayload().getRawData(), StandardCharsets.US_ASCII));
    }

    @Test
    void expiringTtlIsAnsweredByTheGateway() throws Exception {
        Run run = replay("ttl-expires-at-gateway");
        assertEquals(0, run.egressOut().size(), "not forwarded");
        assertEquals(1, run.stats().requestDrops(DropReason.TTL_EXCEEDED));
        assertEquals(1, run.tunnelOut().size());
        IpV4Packet err = Independent.encapsulated(run.tunnelOut().get(0)).innerIpv4();
        assertEquals(GW_OVERLAY, addr(err.getHeader().getSrcAddr()), "from the gateway's overlay address, a traceroute hop");
        assertEquals(11, Independent.icmpType(err));
        IpV4Packet quoted = quoted(err);
        assertEquals(POD1, addr(quoted.getHeader().getSrcAddr()), "quotes the pod's own packet");
        assertEquals(40010, Independent.u16(quoted.getRawData(), 20));
    }

    @Test
    void timeExceededFromOutsideReachesThePod() throws Exception {
        icmpErrorFromOutside("icmp-time-exceeded-outside", 11, 0, 40011);
    }

    @Test
    void fragmentationNeededFromOutsideReachesThePod() throws Exception {
        IpV4Packet err = icmpErrorFromOutside("icmp-frag-needed-outside", 3, 4, 40012);
        assertEquals(1000, Independent.u16(err.getPayload().getRawData(), 6), "next-hop MTU kept (RFC 5508)");
    }

    /** RFC 5508: the error goes to the pod, its quote translated back to what the pod sent. */
    IpV4Packet icmpErrorFromOutside(String name, int type, int code, int podPort) throws Exception {
        Run run = replay(name);
        assertEquals(1, run.egressOut().size(), "the probe left");
        assertEquals(1, run.tunnelOut().size(), "the router's ICMP error was forwarded to the pod");
        IpV4Packet err = Independent.encapsulated(run.tunnelOut().get(0)).innerIpv4();
        assertEquals("192.0.2.1", addr(err.getHeader().getSrcAddr()), "the router's address kept");
        assertEquals(type, Independent.icmpType(err));
        assertEquals(code, Independent.icmpCode(err));
        IpV4Packet quoted = quoted(err);
        assertEquals(POD1, addr(quoted.getHeader().getSrcAddr()), "quoted source translated back to the pod");
        assertEquals(CorpusRecorder.BEYOND_EXT, addr(quoted.getHeader().getDstAddr()));
        assertEquals(podPort, Independent.u16(quoted.getRawData(), 20), "quoted source port restored");
        return err;
    }

    /** The packet quoted by an ICMP error; its header checksum is verified on the bytes as quoted. */
    static IpV4Packet quoted(IpV4Packet icmpError) {
        byte[] body = Independent.icmpBody(icmpError);
        // the quote's own total length exceeds what is quoted: parse its header bytes only
        byte[] header = Arrays.copyOf(body, Math.max(body.length, 28));
        header[2] = (byte) (header.length >> 8);
        header[3] = (byte) header.length;
        IpV4Packet p = Independent.ipv4(header);
        // restore the checksum check on the original bytes
        return new QuotedCheck(body).packet(p);
    }

    /** Keeps the quote's header checksum verifiable: checks it on the original bytes. */
    private record QuotedCheck(byte[] body) {
        IpV4Packet packet(IpV4Packet parsedWithFixedLength) {
            int hl = (body[0] & 0x0f) * 4;
            long sum = 0;
            for (int i = 0; i < hl; i += 2) {
                sum += Independent.u16(body, i);
            }
            while (sum >> 16 != 0) {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            assertEquals(0xffff, sum, "quoted IPv4 header checksum");
            return parsedWithFixedLength;
        }
    }

    @Test
    void fragmentsAreTranslatedBothWays() throws Exception {
        Run run = replay("fragments");
        List<IpV4Packet> out = run.egressOut().stream().map(Independent::ipv4).filter(Independent::isFragment).toList();
        assertEquals(3, out.size(), "all three fragments of the pod's datagram forwarded");
        IpV4Packet whole = Independent.defragment(out);
        UdpPacket udp = (UdpPacket) whole.getPayload();
        assertEquals(40013, udp.getHeader().getSrcPort().valueAsInt());
        assertEquals(3000, udp.getPayload().getRawData().length);
        List<IpV4Packet> back = run.tunnelOut().stream().map(r -> Independent.encapsulated(r).innerIpv4())
                .filter(Independent::isFragment).toList();
        // two replies: one the gateway's kernel cut for the TUN device's MTU (three fragments), one whose first
        // fragment left the server 1500 bytes long — too big for the tunnel, so the gateway cut it in two
        java.util.Map<Integer, List<IpV4Packet>> replies = back.stream()
                .collect(java.util.stream.Collectors.groupingBy(p -> p.getHeader().getIdentificationAsInt()));
        assertEquals(2, replies.size(), "both replies' fragments forwarded to the pod: " + back);
        assertEquals(8, back.size(), "3 fragments, and 2 + 2 + 1 of the other reply (its two 1500-byte fragments cut)");
        for (List<IpV4Packet> fragments : replies.values()) {
            UdpPacket reply = (UdpPacket) Independent.defragment(fragments).getPayload();
            assertEquals(40013, reply.getHeader().getDstPort().valueAsInt());
            assertEquals(3000, reply.getPayload().getRawData().length);
        }
        assertTrue(back.stream().allMatch(p -> p.getHeader().getTotalLengthAsInt() <= 1450), "every fragment fits the tunnel");
    }

    @Test
    void fullSizeDownload() throws Exception {
        Run run = replay("tcp-download");
        assertEquals(run.egressIn().size(), run.tunnelOut().size(), "every segment of the download forwarded");
        assertEquals(run.tunnelIn().size(), run.egressOut().size(), "every ACK forwarded");
        long full = run.tunnelOut().stream().filter(r -> Independent.encapsulated(r).innerIpv4().getHeader().getTotalLengthAsInt() == 1450).count();
        assertTrue(full >= CorpusRecorder.DOWNLOAD_PACKETS - 5, "full-size segments (1450 bytes inner, 1500 outer): " + full);
    }
}
