package org.egressgw.tunio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The packet path must not allocate: raw sends routed into a TUN device and read back, plus the "no work"
 * and drop paths, measured with the JVM's per-thread allocation counter after warm-up.
 */
class PacketPathAllocationIT {
    private static final int BATCH = 32;
    private static final int SLOT = 2048;
    private static final int LOCAL = Ipv4Udp.ip(10, 79, 0, 1);
    private static final int PEER = Ipv4Udp.ip(10, 79, 0, 2);

    private TestNamespace ns;

    @BeforeEach
    void createNamespace() throws Exception {
        ns = new TestNamespace();
        ns.disableIpv6();
    }

    @AfterEach
    void deleteNamespace() throws Exception {
        if (ns != null) {
            ns.delete();
        }
    }

    @Test
    void sendFlushReadWriteAndDropsAllocateNothing() throws Exception {
        NetNs.call(ns.name, () -> {
            final com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            final long threadId = Thread.currentThread().getId();
            final UnsafeBuffer out = new UnsafeBuffer(BufferUtil.allocateDirectAligned(BATCH * SLOT, 64));
            final UnsafeBuffer in = new UnsafeBuffer(BufferUtil.allocateDirectAligned(SLOT, 64));
            for (int i = 0; i < BATCH; i++) {
                Ipv4Udp.build(out, i * SLOT, LOCAL, 40000 + i, PEER, 9, new byte[64], 0);
            }
            final int length = Ipv4Udp.IP_HEADER + Ipv4Udp.UDP_HEADER + 64;
            final UnsafeBuffer garbage = new UnsafeBuffer(BufferUtil.allocateDirectAligned(64, 64));
            garbage.putByte(0, (byte) 0x55);

            try (TunDevice tun = TunDevice.open("tunalloc0", true); RawIpSender sender = new RawIpSender(BATCH)) {
                ns.ip("addr", "add", "10.79.0.1/24", "dev", tun.name());
                ns.ip("link", "set", tun.name(), "up");
                long received = 0;
                long allocated = 0;
                for (int round = 0; round < 2; round++) { // round 0 warms up
                    final long before = threads.getThreadAllocatedBytes(threadId);
                    for (int iteration = 0; iteration < 2000; iteration++) {
                        for (int i = 0; i < BATCH; i++) {
                            sender.add(out.addressOffset() + (long) i * SLOT, length, PEER);
                        }
                        sender.flush();
                        int got = 0;
                        while (got < BATCH && tun.awaitReadable(1000)) {
                            final int n = tun.read(in.addressOffset(), in.capacity());
                            if (n > 0) {
                                got++;
                                // Back in through the TUN; not ours to deliver, so the kernel drops it quietly.
                                tun.write(in.addressOffset(), n);
                            }
                        }
                        received += got;
                        tun.read(in.addressOffset(), in.capacity()); // empty: the EAGAIN path
                        tun.write(garbage.addressOffset(), 64);       // refused: the drop path
                    }
                    allocated = threads.getThreadAllocatedBytes(threadId) - before;
                }
                assertEquals(2 * 2000L * BATCH, received, "every raw packet came out of the TUN");
                assertEquals(2 * 2000L * BATCH, sender.sentCount());
                assertEquals(2 * 2000L, tun.writeDropCount());
                assertTrue(allocated < 4096, "allocated " + allocated + " bytes for " + 2000 * BATCH + " packets");
            }
            return null;
        });
    }
}
