package org.egressgw.core.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.lmax.disruptor.EventPoller;
import io.netty.channel.IoEventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.Datapath;
import org.egressgw.core.datapath.DropReason;
import org.egressgw.core.datapath.PacketEvent;
import org.egressgw.core.datapath.PacketRing;
import org.egressgw.tunio.NetNs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The direct tunnel reader on loopback in a throwaway namespace: datagrams land in ring slots in
 * order with their length and sender, oversize ones and a full ring are counted, nothing is lost
 * between reads that leave claimed slots unfilled.
 */
@Timeout(60)
class DirectTunnelReaderIT {
    private static final int PORT = 48472;
    private static final int SLOT = 2048;
    private static final int MAX_DATAGRAM = SLOT - PacketEvent.REQUEST_OFFSET;

    private String ns;
    private MultiThreadIoEventLoopGroup group;

    @BeforeEach
    void setUp() throws Exception {
        ns = String.format("egwdtr-%08x", ThreadLocalRandom.current().nextInt());
        run("ip", "netns", "add", ns);
        run("ip", "-n", ns, "link", "set", "lo", "up");
        group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        } finally {
            run("ip", "netns", "del", ns);
        }
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS), String.join(" ", cmd));
        assertEquals(0, p.exitValue(), () -> String.join(" ", cmd));
    }

    private DirectTunnelReader open(PacketRing ring, Counters counters, Runnable consumer) throws Exception {
        // the socket is created in the namespace; the event loop may run anywhere
        return NetNs.call(ns, () -> DirectTunnelReader.open((IoEventLoop) group.next(),
                new InetSocketAddress("127.0.0.1", PORT), ring.ring(), MAX_DATAGRAM, counters, consumer));
    }

    private void send(List<byte[]> datagrams) throws Exception {
        NetNs.call(ns, () -> {
            try (DatagramSocket s = new DatagramSocket(new InetSocketAddress("127.0.0.2", 0))) {
                s.setSendBufferSize(4 << 20);
                for (byte[] d : datagrams) {
                    s.send(new DatagramPacket(d, d.length, new InetSocketAddress("127.0.0.1", PORT)));
                }
            }
            return null;
        });
    }

    /** Polls everything published so far on the calling thread. */
    private static void drain(EventPoller<PacketEvent> poller, List<String> seen, AtomicInteger skipped) throws Exception {
        poller.poll((ev, seq, end) -> {
            if (ev.length < 0) {
                skipped.incrementAndGet();
            } else {
                seen.add(ev.length + ":" + Integer.toHexString(ev.peerIp) + ":"
                        + ev.buffer.getStringWithoutLengthAscii(ev.offset, Math.min(ev.length, 8)));
            }
            return true;
        });
    }

    @Test
    void datagramsArriveInOrderWithLengthAndSender() throws Exception {
        PacketRing ring = new PacketRing(1024, SLOT);
        Counters counters = new Counters();
        AtomicInteger consumed = new AtomicInteger();
        DirectTunnelReader reader = open(ring, counters, consumed::incrementAndGet);
        List<byte[]> out = new ArrayList<>();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            int len = i % 50 == 7 ? MAX_DATAGRAM + 1 : i % 10 == 3 ? 0 : 8 + (i * 37) % 1400;
            byte[] d = new byte[len];
            byte[] tag = String.format("%08d", i).getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(tag, 0, d, 0, Math.min(8, len));
            out.add(d);
            if (len <= MAX_DATAGRAM) {
                expected.add(len + ":7f000002:" + new String(tag, 0, Math.min(8, len), StandardCharsets.US_ASCII));
            }
        }
        EventPoller<PacketEvent> poller = ring.poller();
        List<String> seen = new ArrayList<>();
        AtomicInteger skipped = new AtomicInteger();
        // in chunks smaller than the socket buffer, draining as we go (the ring is smaller than the total)
        for (int from = 0; from < out.size(); from += 50) {
            send(out.subList(from, from + 50));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            int want = (int) out.subList(0, from + 50).stream().filter(d -> d.length <= MAX_DATAGRAM).count();
            while (seen.size() < want && System.nanoTime() < deadline) {
                drain(poller, seen, skipped);
                Thread.sleep(1);
            }
        }
        assertEquals(expected, seen);
        assertEquals(6, counters.drops(DropReason.OVERSIZE), "300 / 50 oversize datagrams");
        assertEquals(6, counters.get(Counters.RX_PACKETS), "dropped by the reader: counted as received there too");
        assertEquals(6, skipped.get(), "oversize slots are published as 'skip'");
        assertEquals(0, counters.drops(DropReason.RING_FULL));
        assertTrue(consumed.get() >= 1, "the consumer ran");
        reader.close();
    }

    @Test
    void noSlotIsSeenBeforeItIsWritten() throws Exception {
        // one datagram per read, a small ring lapped several times: slots claimed but not yet
        // filled must never reach the consumer (the Disruptor's tryNext can move the cursor to the
        // last claimed sequence, so the reader must not claim while it holds unfilled slots)
        PacketRing ring = new PacketRing(64, SLOT);
        Counters counters = new Counters();
        open(ring, counters, () -> { });
        EventPoller<PacketEvent> poller = ring.poller();
        List<String> seen = new ArrayList<>();
        AtomicInteger skipped = new AtomicInteger();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            String tag = String.format("%08d", i);
            expected.add("8:7f000002:" + tag);
            send(List.of(tag.getBytes(StandardCharsets.US_ASCII)));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (seen.size() + skipped.get() < i + 1 && System.nanoTime() < deadline) {
                drain(poller, seen, skipped);
            }
        }
        Thread.sleep(50);
        drain(poller, seen, skipped);
        assertEquals(0, skipped.get());
        assertEquals(expected, seen);
    }

    @Test
    void aFullRingCountsAndTheSocketKeepsMoving() throws Exception {
        PacketRing ring = new PacketRing(64, SLOT);
        Counters counters = new Counters();
        open(ring, counters, () -> { });
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            out.add(new byte[100]);
        }
        send(out);
        EventPoller<PacketEvent> poller = ring.poller();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (counters.drops(DropReason.RING_FULL) < 200 - 64 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(200 - 64, counters.drops(DropReason.RING_FULL), "all the ring holds is kept, the rest counted");
        assertEquals(200 - 64, counters.get(Counters.RX_PACKETS), "and counted as received");
        assertEquals((200 - 64) * 100, counters.get(Counters.RX_BYTES));
        // nothing was consumed yet; now the ring drains and new datagrams are read again
        List<String> seen = new ArrayList<>();
        AtomicInteger skipped = new AtomicInteger();
        drain(poller, seen, skipped);
        assertEquals(64, seen.size());
        send(List.of("after".getBytes(StandardCharsets.US_ASCII)));
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (seen.size() < 65 && System.nanoTime() < deadline) {
            drain(poller, seen, skipped);
            Thread.sleep(1);
        }
        assertEquals("5:7f000002:after", seen.get(64));
    }
}
