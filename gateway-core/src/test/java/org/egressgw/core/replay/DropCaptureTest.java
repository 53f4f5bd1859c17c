package org.egressgw.core.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.core.datapath.DropReason;
import org.egressgw.packet.Ipv4Address;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pcap4j.packet.IpV4Packet;

/** The drop capture: what it writes, and the bounds it keeps (rate, files, sizes). */
class DropCaptureTest {
    static final int GW = Ipv4Address.parse("198.51.100.2");
    static final int NODE = Ipv4Address.parse("198.51.100.1");

    @TempDir
    Path dir;

    @Test
    void replayedDropsAreWrittenWithTheirReasonAndReplayable() throws Exception {
        List<Harness.Input> in = Harness.load("fragments");
        try (Harness h = new Harness(4096);
                DropCapture c = DropCapture.startLossless(dir, GW, 8472, () -> 1_000_000L)) {
            h.pipeline.dropObserver(c);
            for (Harness.Input i : in) {
                h.offer(i);
            }
            c.close();
            assertEquals(h.drops(), c.written(), c.summary());
        }
        List<String> log = Files.readAllLines(dir.resolve("drops-0.log"));
        assertTrue(log.stream().anyMatch(l -> l.contains(" unsupported_icmp request peer 198.51.100.1")), log.toString());
        List<Long> times = new ArrayList<>();
        List<byte[]> records = CorpusReplayTest.read(dir.resolve("drops-0.pcap"), times);
        assertEquals(log.size(), records.size());
        for (byte[] r : records) {
            IpV4Packet p = Independent.ipv4(r);
            assertTrue(p.getHeader().hasValidChecksum(false) || !addrIs(p, "198.51.100.2"), "synthesized outer header valid");
        }
    }

    static boolean addrIs(IpV4Packet p, String dst) {
        return p.getHeader().getDstAddr().getHostAddress().equals(dst);
    }

    @Test
    void aFloodIsRateLimitedAndTheFilesRotateWithinTheirBound() throws Exception {
        AtomicLong nanos = new AtomicLong();
        UnsafeBuffer packet = new UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(1000));
        DropCapture.Limits limits = new DropCapture.Limits(3, 8192, 100, 10, 64, 512);
        try (DropCapture c = DropCapture.start(dir, GW, 8472, limits, nanos::get, () -> nanos.get() / 1000)) {
            for (int i = 0; i < 100_000; i++) {
                nanos.addAndGet(100_000); // 10 000 drops per second for 10 s
                c.onDrop(false, DropReason.NO_POLICY, packet.addressOffset(), 1000, NODE);
                if (i % 100 == 0) {
                    Thread.sleep(1); // let the writer keep up: the queue is not what is tested here
                }
            }
            c.close();
            assertEquals(100_000, c.captured());
            long allowed = 10 + 100 * 10;
            assertTrue(c.written() + c.queueFull() <= allowed && c.written() >= allowed / 2, c.summary());
            assertEquals(100_000 - c.written() - c.queueFull(), c.rateLimited(), c.summary());
        }
        long total = 0;
        for (int n = 0; n < 3; n++) {
            long size = Files.size(dir.resolve("drops-" + n + ".pcap"));
            assertTrue(size <= 8192, "drops-" + n + ".pcap: " + size);
            total += size;
        }
        assertTrue(Files.notExists(dir.resolve("drops-3.pcap")), "at most 3 files");
        assertTrue(total > 8192, "the files rotated");
    }
}
