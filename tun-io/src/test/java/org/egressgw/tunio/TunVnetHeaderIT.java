package org.egressgw.tunio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.tunio.Ipv4Tcp.Segment;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The kernel's side of {@link TcpCoalescer} and of TUN devices opened with a vnet header, checked for real.
 *
 * <pre>
 *  ns C (client)            ns A (router + TUN)                         ns B (server)
 *  10.61.0.2 vC ──veth── vAC 10.61.0.1                 10.62.0.1 vAB ──veth── vB 10.62.0.2
 *                         from vAC → table 100 → gsotun0 ─► relay (read, coalesce, write) ─► gsotun0 → main → vAB
 * </pre>
 *
 * Every TUN read must come with gso_type NONE and no NEEDS_CSUM (TUNSETOFFLOAD 0: the kernel segments and
 * finishes checksums, even though C's veth left them partial); every coalesced write must be segmented by the
 * kernel into exactly the segments that were offered.
 */
class TunVnetHeaderIT {
    private static final String TUN = "gsotun0";

    private TestNamespace a;
    private TestNamespace b;
    private TestNamespace c;

    @BeforeEach
    void createTopology() throws Exception {
        a = new TestNamespace();
        try {
            b = new TestNamespace();
            c = new TestNamespace();
            for (TestNamespace ns : List.of(a, b, c)) {
                ns.disableIpv6();
            }
            a.ip("link", "add", "vAC", "type", "veth", "peer", "name", "vC", "netns", c.name);
            a.ip("link", "add", "vAB", "address", "02:00:00:00:0a:01", "type", "veth", "peer", "name", "vB",
                "address", "02:00:00:00:0b:01", "netns", b.name);
            a.ip("addr", "add", "10.61.0.1/24", "dev", "vAC");
            a.ip("addr", "add", "10.62.0.1/24", "dev", "vAB");
            c.ip("addr", "add", "10.61.0.2/24", "dev", "vC");
            b.ip("addr", "add", "10.62.0.2/24", "dev", "vB");
            for (String[] link : new String[][] {{"A", "vAC"}, {"A", "vAB"}, {"B", "vB"}, {"C", "vC"}}) {
                final TestNamespace ns = link[0].equals("A") ? a : link[0].equals("B") ? b : c;
                ns.ip("link", "set", link[1], "up");
            }
            c.ip("route", "add", "default", "via", "10.61.0.1");
            b.ip("route", "add", "default", "via", "10.62.0.1");
            a.ip("neigh", "replace", "10.62.0.2", "lladdr", "02:00:00:00:0b:01", "dev", "vAB", "nud", "permanent");
            a.exec("sysctl", "-q", "-w", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.default.rp_filter=0");
        } catch (Exception e) {
            deleteTopology();
            throw e;
        }
    }

    @AfterEach
    void deleteTopology() throws Exception {
        TestNamespace.deleteAll(c, b, a);
    }

    private TunDevice openTun() throws Exception {
        final TunDevice tun = NetNs.call(a.name, () -> TunDevice.open(TUN, true, true));
        try {
            assertEquals(VirtioNetHeader.LENGTH, tun.vnetHeaderLength());
            a.ip("link", "set", TUN, "up");
            a.exec("sysctl", "-q", "-w", "net.ipv4.conf." + TUN + ".rp_filter=0");
            return tun;
        } catch (Exception e) {
            tun.close();
            throw e;
        }
    }

    /** Makes the kernel cut and checksum super-packets itself before vAB, instead of passing them on whole. */
    private void softwareSegmentationOnVab() throws Exception {
        a.exec("ethtool", "-K", "vAB", "tso", "off", "gso", "off", "tx", "off");
    }

    /**
     * One hand-built super-packet of 10 segments written to the TUN device: tcpdump in B must see the 10
     * segments the reference cuts (TTL one lower after forwarding), with valid checksums.
     */
    @Test
    void kernelCutsAGsoWriteIntoTheOfferedSegments() throws Exception {
        softwareSegmentationOnVab();
        final List<Segment> in = new ArrayList<>();
        Segment s = new Segment();
        s.src = Ipv4Udp.ip(10, 61, 0, 2);
        s.dst = Ipv4Udp.ip(10, 62, 0, 2);
        s.dstPort = 9;
        s.payload(1000, 1);
        in.add(s);
        for (int i = 1; i < 10; i++) {
            s = s.next(i == 9 ? 333 : 1000);
            in.add(s);
        }
        in.get(9).flags |= Ipv4Tcp.PSH;
        final Path pcap = Files.createTempFile("gso", ".pcap");
        final Process tcpdump = new ProcessBuilder("ip", "netns", "exec", b.name, "tcpdump", "-i", "vB", "-n", "-U",
            "-c", "10", "-w", pcap.toString(), "tcp dst port 9").redirectErrorStream(true).start();
        try (TunDevice tun = openTun()) {
            awaitListening(tcpdump);
            final AtomicLong writes = new AtomicLong();
            final TcpCoalescer coalescer = new TcpCoalescer((h, hl, p, pl) -> {
                writes.incrementAndGet();
                return tun.write(h, hl, p, pl);
            });
            final UnsafeBuffer buffer = new UnsafeBuffer(BufferUtil.allocateDirectAligned(2048, 64));
            for (Segment segment : in) {
                final byte[] bytes = segment.bytes();
                buffer.putBytes(0, bytes);
                assertTrue(coalescer.offer(buffer.addressOffset(), bytes.length));
            }
            coalescer.flush();
            assertEquals(1, writes.get(), "one write for ten segments");
            assertEquals(1, coalescer.superPackets());
            assertEquals(0, tun.writeDropCount(), "errno " + tun.lastWriteErrno());
            assertTrue(tcpdump.waitFor(5, TimeUnit.SECONDS), "tcpdump saw 10 packets");
            final List<byte[]> captured = readPcapIpv4(pcap);
            assertEquals(10, captured.size());
            for (int i = 0; i < 10; i++) {
                final Segment expected = in.get(i).copy();
                expected.ttl--;
                assertTrue(Ipv4Tcp.checksumsValid(captured.get(i)), "checksums of segment " + i);
                assertArrayEquals(expected.bytes(), captured.get(i), "segment " + i);
            }
        } finally {
            tcpdump.destroy();
            Files.deleteIfExists(pcap);
        }
    }

    /**
     * A real TCP transfer from C to B through the relay: data must arrive intact, reads must be complete
     * packets with finished checksums, and the relay must actually have coalesced. With software segmentation
     * on vAB the kernel computes every checksum from our partial sums and B verifies them; with the default
     * offloads the super-packets cross the veth whole.
     */
    @ParameterizedTest(name = "software segmentation on vAB: {0}")
    @ValueSource(booleans = {true, false})
    void tcpTransferThroughCoalescingRelay(boolean softwareSegmentation) throws Exception {
        if (softwareSegmentation) {
            softwareSegmentationOnVab();
        }
        final int total = 24 << 20;
        final byte[] data = new byte[total];
        new Random(7).nextBytes(data);
        final CRC32 expected = new CRC32();
        expected.update(data);
        // the claim is only tested if C's stack leaves checksums partial (veth TX checksum offload, the default)
        assertTrue(c.exec("ethtool", "-k", "vC").contains("tx-checksumming: on"), "vC has TX checksum offload");

        try (TunDevice tun = openTun();
             ServerSocket server = NetNs.call(b.name, () -> new ServerSocket(5201, 1,
                 java.net.InetAddress.getByName("10.62.0.2")))) {
            a.ip("rule", "add", "iif", "vAC", "lookup", "100");
            a.ip("route", "add", "default", "dev", TUN, "table", "100");
            final Relay relay = new Relay(tun);
            final Thread relayThread = new Thread(relay, "gso-relay");
            relayThread.start();
            try {
                server.setSoTimeout(10_000);
                final CompletableFuture<Long> received = CompletableFuture.supplyAsync(() -> {
                    try (Socket s = server.accept()) {
                        s.setSoTimeout(10_000);
                        final CRC32 crc = new CRC32();
                        final byte[] chunk = new byte[1 << 16];
                        long n = 0;
                        final InputStream stream = s.getInputStream();
                        for (int r; (r = stream.read(chunk)) > 0; ) {
                            crc.update(chunk, 0, r);
                            n += r;
                        }
                        return n == total ? crc.getValue() : -n;
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                try (Socket client = NetNs.call(c.name, () -> new Socket())) {
                    NetNs.call(c.name, () -> {
                        client.connect(new InetSocketAddress("10.62.0.2", 5201), 5000);
                        return null;
                    });
                    client.getOutputStream().write(data);
                    client.shutdownOutput();
                    assertEquals(expected.getValue(), received.get(15, TimeUnit.SECONDS), "CRC of what B received");
                }
            } finally {
                relay.running.set(false);
                relayThread.join(2000);
            }
            assertEquals(0, relay.needsCsumReads.get(), "reads with NEEDS_CSUM");
            assertEquals(0, relay.badChecksumReads.get(), "reads with an unfinished or wrong TCP checksum");
            assertEquals(0, relay.gsoReads.get(), "reads with a gso_type");
            assertTrue(relay.reads.get() > total / 1500, "reads " + relay.reads.get());
            assertTrue(relay.coalescer.superPackets() > 0, "coalesced at least once");
            assertEquals(0, relay.coalescer.droppedPackets(), "errno " + tun.lastWriteErrno());
            System.out.printf("relay (software segmentation %s): %d reads (%d DATA_VALID), %d super-packets"
                    + " carrying %d segments, %d single packets%n", softwareSegmentation, relay.reads.get(),
                relay.dataValidReads.get(), relay.coalescer.superPackets(), relay.coalescer.segmentsCoalesced(),
                relay.coalescer.singlePackets());
        }
    }

    /** Reads bursts from the TUN device, checks their vnet headers, and writes them back coalesced. */
    private static final class Relay implements Runnable {
        final AtomicBoolean running = new AtomicBoolean(true);
        final AtomicLong reads = new AtomicLong();
        final AtomicLong needsCsumReads = new AtomicLong();
        final AtomicLong gsoReads = new AtomicLong();
        final AtomicLong dataValidReads = new AtomicLong();
        final AtomicLong badChecksumReads = new AtomicLong();
        final TunDevice tun;
        final TcpCoalescer coalescer;
        final UnsafeBuffer buffer = new UnsafeBuffer(BufferUtil.allocateDirectAligned(65536 + 64, 64));

        Relay(TunDevice tun) {
            this.tun = tun;
            this.coalescer = new TcpCoalescer(tun::write);
        }

        @Override
        public void run() {
            while (running.get()) {
                if (!tun.awaitReadable(20)) {
                    continue;
                }
                for (int i = 0; i < 64; i++) {
                    final int n = tun.read(buffer.addressOffset(), buffer.capacity());
                    if (n <= VirtioNetHeader.LENGTH) {
                        break;
                    }
                    reads.incrementAndGet();
                    final int flags = VirtioNetHeader.flags(buffer, 0);
                    if ((flags & VirtioNetHeader.FLAG_NEEDS_CSUM) != 0) {
                        needsCsumReads.incrementAndGet();
                    }
                    if ((flags & VirtioNetHeader.FLAG_DATA_VALID) != 0) {
                        dataValidReads.incrementAndGet();
                    }
                    if (VirtioNetHeader.gsoType(buffer, 0) != VirtioNetHeader.GSO_NONE) {
                        gsoReads.incrementAndGet();
                    }
                    final byte[] packet = new byte[n - VirtioNetHeader.LENGTH];
                    buffer.getBytes(VirtioNetHeader.LENGTH, packet);
                    if (packet[9] == 6 && !Ipv4Tcp.checksumsValid(packet)) {
                        badChecksumReads.incrementAndGet();
                    }
                    coalescer.offer(buffer.addressOffset() + VirtioNetHeader.LENGTH, n - VirtioNetHeader.LENGTH);
                }
                coalescer.flush();
            }
        }
    }

    static void awaitListening(Process tcpdump) throws Exception {
        final BufferedReader reader = new BufferedReader(new InputStreamReader(tcpdump.getInputStream(),
            StandardCharsets.UTF_8));
        final CompletableFuture<Boolean> listening = CompletableFuture.supplyAsync(() -> {
            try {
                for (String line; (line = reader.readLine()) != null; ) {
                    if (line.contains("listening on")) {
                        return true;
                    }
                }
                return false;
            } catch (Exception e) {
                return false;
            }
        });
        assertTrue(listening.get(5, TimeUnit.SECONDS), "tcpdump started");
    }

    /** The IPv4 packets of an Ethernet pcap file (classic format, either byte order). */
    static List<byte[]> readPcapIpv4(Path file) throws Exception {
        final ByteBuffer pcap = ByteBuffer.wrap(Files.readAllBytes(file));
        final int magic = pcap.getInt(0);
        pcap.order(magic == 0xa1b2c3d4 || magic == 0xa1b23c4d ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        final List<byte[]> packets = new ArrayList<>();
        int at = 24;
        while (at + 16 <= pcap.limit()) {
            final int captured = pcap.getInt(at + 8);
            final byte[] frame = new byte[captured];
            pcap.position(at + 16);
            pcap.get(frame);
            at += 16 + captured;
            if (frame.length > 14 && frame[12] == 0x08 && frame[13] == 0x00) {
                packets.add(Arrays.copyOfRange(frame, 14, frame.length));
            }
        }
        return packets;
    }
}
